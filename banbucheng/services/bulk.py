"""Registering and closing many cases at once (`bbc import`), with the same learning.

`start(ctx)` gives a Ctx holding a batch (domain/batch.py): the lifecycle functions
then keep the new cases and events in memory, and this module's Learning keeps, for
the batch, what services/cases.py keeps for one case: the similar-case index (terms
and document counts), the citizens' keys and the repeats they reveal, mechanisms.
The rules are the inherited ones (services.cases.Learning); only where the data is
read and written differs: the store is read once per key or term, not per case, the
batch's own earlier cases count as they would have one by one, and every change is
recorded with its inverse so that a refused row leaves no trace.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from sqlmodel import col, select

from banbucheng.core import bigrams
from banbucheng.domain.batch import Batch
from banbucheng.schema import citizens, index
from banbucheng.schema.models import Case, CaseTerms, CitizenKey, SearchTerm
from banbucheng.services.cases import Learning
from banbucheng.store import Ctx

_CHUNK = 500  # values in one IN (...)


@dataclass(frozen=True)
class Earlier:
    """The earlier case a new one repeats: what the register event and the case need."""

    id: int
    number: str


def start(ctx: Ctx) -> Ctx:
    """A Ctx whose registrations and closings go into a new batch; call
    `ctx.batch.flush()` between rows and at the end, in the same transaction."""
    batch = Batch(ctx.session, ctx.store.seal_key)
    batch.learning = BulkLearning(ctx, batch)
    return replace(ctx, batch=batch)


class BulkLearning(Learning):
    def __init__(self, ctx: Ctx, batch: Batch) -> None:
        self.batch = batch
        self.session = ctx.session
        self.store = ctx.store  # its keyring: made by the first registration if new
        self.window = citizens.window_days(ctx.session)
        self.threshold = citizens.min_similarity(ctx.session)
        # Cases that share a key: key → [(case id, received)], from the store (read
        # once per key) and from the batch; their main terms and numbers.
        self.by_key: dict[str, list[tuple[int, Any]]] = {}
        self.main: dict[int, list[str]] = {}
        self.numbers: dict[int, str] = {}
        # The index of the batch's cases: (main, extra) terms and the matter they were
        # split from; the document counts as stored (read when needed) plus what the
        # batch added since its last flush.
        self.terms: dict[int, tuple[list[str], list[str], str]] = {}
        self.stored_df: dict[str, int] | None = None
        self.delta: Counter[str] = Counter()
        # The clear values of the row being registered (`expect`): its keys are hashed
        # from them rather than from its tokens decrypted again; hashes kept per value.
        self._clear: tuple[str | None, str | None, str | None] | None = None
        self._citizen: dict[tuple[str | None, str | None], list[str]] = {}  # (phone, ID)
        self._named: dict[str | None, list[str]] = {}  # name → its key
        batch.before_flush.append(self._flush)

    # ---------------------------------------------------------------- what is read

    def prepare(self, citizens_of_rows: Iterable[tuple[str | None, str | None]]) -> None:
        """Read the store's cases for these (phone, ID number) pairs at once."""
        if self.store.keyring is None:
            return  # register refuses every row (no key to encrypt with)
        secret = self.store.keyring.lookup_key
        keys: set[str] = set()
        for citizen in citizens_of_rows:
            found = self._citizen.get(citizen)
            if found is None:
                found = self._citizen[citizen] = citizens.citizen_keys(secret, *citizen)
            keys.update(found)
        if self.session.exec(select(CitizenKey.case_id).limit(1)).first() is None:
            # A store without citizens yet (a first import): no key has stored cases.
            for key in keys:
                self.by_key.setdefault(key, [])
            return
        self._load_keys(keys)

    def _load_keys(self, keys: Iterable[str]) -> None:
        wanted = sorted(k for k in keys if k not in self.by_key)
        for i in range(0, len(wanted), _CHUNK):
            part = wanted[i : i + _CHUNK]
            for key in part:
                self.by_key[key] = []
            stmt = (
                select(CitizenKey.key, Case.id, Case.received_at, Case.number)
                .join(Case, col(Case.id) == CitizenKey.case_id)
                .where(col(CitizenKey.key).in_(part))
            )
            for key, cid, received, number in self.session.exec(stmt).all():
                self.by_key[key].append((cid, received))
                self.numbers[cid] = number

    def _load_main(self, ids: list[int]) -> None:
        table = CaseTerms.__table__  # type: ignore[attr-defined]
        for i in range(0, len(ids), _CHUNK):
            stmt = select(table.c.case_id, table.c.main).where(
                table.c.case_id.in_(ids[i : i + _CHUNK])
            )
            for cid, main in self.session.execute(stmt).all():
                self.main[cid] = bigrams.split(main)

    def _weights(self) -> _Weights:
        """IDF weights as schema.index.Weights would read them at this point, each
        term's made when it is first asked for (pick_repeat mostly stops at the
        first, latest candidate: the others' terms need none)."""
        if self.stored_df is None:  # every term's count, read once (tens of thousands)
            table = SearchTerm.__table__  # type: ignore[attr-defined]
            rows = self.session.execute(select(table.c.term, table.c.df)).all()
            self.stored_df = dict(rows)  # type: ignore[arg-type]
        return _Weights(self.stored_df, self.delta)

    # ---------------------------------------------------------------- the learning steps

    def index(self, ctx: Ctx, case: Any) -> None:
        """index.index_case for a batch case: its terms kept, the counts moved."""
        old_terms = self.terms.get(case.id)
        # Closing leaves the matter as it was: its terms are taken again, not split again.
        known = old_terms[0] if old_terms is not None and old_terms[2] == case.matter else None
        main, extra = index.case_text_terms(
            case.matter, case.department, case.result, case.mechanism, main=known
        )
        if old_terms is None:  # main and extra are distinct and disjoint: all new
            added, removed = [index.DOCS_KEY, *main, *extra], []
        elif old_terms[0] == main:  # closing: the matter's terms stay, compare the rest
            old, new = set(old_terms[1]), set(extra)
            added, removed = [t for t in extra if t not in old], [t for t in old if t not in new]
        else:
            old = set(old_terms[0]) | set(old_terms[1])
            new = set(main) | set(extra)
            added, removed = [t for t in new if t not in old], [t for t in old if t not in new]
        delta = self.delta
        delta.update(added)  # counted in C
        if removed:
            delta.subtract(removed)
        self.terms[case.id] = (main, extra, case.matter)
        self.main[case.id] = main

        def undo() -> None:
            self.delta.subtract(added)
            if removed:
                self.delta.update(removed)
            if old_terms is None:
                del self.terms[case.id]
            else:
                self.terms[case.id] = old_terms

        self.batch.on_undo(undo)

    def expect(self, clear: tuple[str | None, str | None, str | None] | None) -> None:
        """The clear (name, phone, ID number) the next registration encrypts (the
        importer's row), None after it: `keys` hashes them as citizens.keys_of would
        hash its tokens decrypted."""
        self._clear = clear

    def keys(self, ctx: Ctx, case: Any) -> list[str]:
        clear, self._clear = self._clear, None
        if clear is None:
            keys, recorded = citizens.keys_of(self.store.keyring, case)
        else:
            keys, recorded = self._keys_of_clear(clear)
        for key in recorded:
            self.batch.add("citizen_keys", {"key": key, "case_id": case.id})
        return keys

    def _keys_of_clear(self, clear: tuple[str | None, str | None, str | None]) -> tuple:
        """citizens.keys_of from the values personal_columns encrypted: reveal gives
        each back, or None for an empty one (which hashes to no key either way)."""
        assert self.store.keyring is not None  # the registration encrypted with it
        secret = self.store.keyring.lookup_key
        name, phone, id_number = clear
        keys = self._citizen.get((phone, id_number))
        if keys is None:
            keys = self._citizen[(phone, id_number)] = citizens.citizen_keys(
                secret, phone, id_number
            )
        named = self._named.get(name)
        if named is None:
            named = self._named[name] = citizens.name_key(secret, name)
        return list(keys), list(dict.fromkeys([*keys, *named]))

    def find_repeat(self, ctx: Ctx, case: Any, keys: list[str]) -> Any:
        """citizens.find_repeat over the store's and the batch's cases; then this case
        joins the candidates of the cases after it."""
        self._load_keys(keys)
        found = {pair for key in keys for pair in self.by_key[key]}
        earlier = citizens.earlier_cases(case, found, self.window) if found else []
        result = None
        if earlier:
            self._load_main([cid for _, cid in earlier if cid not in self.main])
            mine = self.main[case.id]
            cid = citizens.pick_repeat(mine, earlier, self.main, self._weights(), self.threshold)
            if cid is not None:
                result = Earlier(id=cid, number=self.numbers[cid])
        for key in keys:
            self.batch.append(self.by_key[key], (case.id, case.received_at))
        self.numbers[case.id] = case.number
        return result

    def link_of(self, ctx: Ctx, case: Any) -> Any:
        link = self.batch.link_of(case)
        return None if link is None else _Link(**link)

    # ---------------------------------------------------------------- what is written

    def _flush(self, last: bool) -> None:
        """Before the batch writes its cases: their index rows; at the last flush the
        term counts, added up over the whole import (one upsert per term, not one
        per term and flush; `_weights` adds them to the stored ones until then)."""
        rows = self.batch.rows["case_terms"]
        for case in self.batch.cases:
            main, extra, _ = self.terms.pop(case.id)
            # bigrams.join of terms index.case_text_terms made distinct already
            rows.append({"case_id": case.id, "main": " ".join(main), "extra": " ".join(extra)})
        if not last:
            return
        index.add_counts(self.session, self.delta)
        if self.stored_df is not None:
            for t, n in self.delta.items():
                self.stored_df[t] = self.stored_df.get(t, 0) + n
        self.delta = Counter()


class _Weights(dict):
    """Term -> bigrams.weight with its document count (stored plus the batch's
    delta) and the number of indexed cases as they are now; made on first use."""

    def __init__(self, stored: dict[str, int], delta: Counter[str]) -> None:
        super().__init__()
        self.stored, self.delta = stored, delta
        self.n_docs = stored.get(index.DOCS_KEY, 0) + delta.get(index.DOCS_KEY, 0)

    def __missing__(self, term: str) -> float:
        df = self.stored.get(term, 0) + self.delta.get(term, 0)
        value = self[term] = bigrams.weight(term, df, self.n_docs)
        return value


@dataclass
class _Link:
    """A batch case's mechanism link, as Learning.closing_mechanism reads it."""

    case_id: int
    mechanism_id: int
    role: str
    linked_at: Any
    linked_by: str
