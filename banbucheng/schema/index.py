"""The similar-case index: each case's search terms (character bigrams of what was
reported, where it failed and how it was solved) and how many cases hold each term.

Kept up to date as cases are registered and closed (services/cases.py) and built
afresh by a migration or `bbc reindex`; knowledge/similar.py queries it. The
full-text index over the terms is made with the table (schema/models.py).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, update
from sqlmodel import Session, select

from banbucheng.core import bigrams
from banbucheng.schema.models import Case, CaseTerms, SearchTerm

DOCS_KEY = "#docs"  # the SearchTerm row counting indexed cases (no term contains '#')


def case_text_terms(
    matter: str,
    department: str | None,
    result: str | None,
    mechanism: str | None,
    *,
    main: list[str] | None = None,
) -> tuple[list[str], list[str]]:
    """(main, extra) terms of a case: main from what the citizen reported, extra from
    where it failed and how it was solved (they count for less in scores). `main`:
    the matter's terms as this function gave them before, when it has not changed."""
    if main is None:
        main = list(_terms(matter))
    seen = set(main)
    other = " ".join(x for x in (department, result, mechanism) if x)
    extra = [t for t in _terms(other) if t not in seen]
    return main, extra


@functools.lru_cache(maxsize=4096)
def _terms(text: str) -> tuple[str, ...]:
    """The text's distinct terms in first-seen order. A case's texts are split again
    when it is closed, and departments and results repeat across cases (an import
    splits tens of thousands): the last few thousand are kept."""
    return tuple(dict.fromkeys(bigrams.terms(text)))


def is_postgres(session: Session | Any) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _adjust_df(
    session: Session | Any, added: Iterable[str], removed: Iterable[str], docs: int
) -> None:
    table = SearchTerm.__table__  # type: ignore[attr-defined]
    counts = dict.fromkeys(added, 1)
    if docs:
        counts[DOCS_KEY] = docs
    add_counts(session, counts)
    removed = list(removed)
    if removed:
        session.execute(update(table).where(table.c.term.in_(removed)).values(df=table.c.df - 1))


def add_counts(session: Session | Any, counts: dict[str, int]) -> None:
    """Add to the terms' document counts (DOCS_KEY: to the number of indexed cases)."""
    table = SearchTerm.__table__  # type: ignore[attr-defined]
    rows = [{"term": t, "df": n} for t, n in counts.items() if n]
    if rows:
        if is_postgres(session):
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        stmt = insert(table)
        stmt = stmt.on_conflict_do_update(
            index_elements=["term"], set_={"df": table.c.df + stmt.excluded.df}
        )
        session.execute(stmt, rows)


def index_case(session: Session, case: Case) -> None:
    """Put the case's current text into the index (insert or update)."""
    assert case.id is not None
    main, extra = case_text_terms(case.matter, case.department, case.result, case.mechanism)
    row = session.get(CaseTerms, case.id)
    new = set(main) | set(extra)
    if row is None:
        old: set[str] = set()
        row = CaseTerms(case_id=case.id)
        docs = 1
    else:
        old = set(bigrams.split(row.main)) | set(bigrams.split(row.extra))
        docs = 0
    row.main, row.extra = bigrams.join(main), bigrams.join(extra)
    session.add(row)
    session.flush()
    _adjust_df(session, new - old, old - new, docs)


def rebuild(conn: Session | Any, *, batch: int = 2000) -> int:
    """Index every case afresh (migration, `bbc reindex`). Reads the cases in batches,
    explicit columns only, so it also runs inside a schema migration."""
    terms_table = CaseTerms.__table__  # type: ignore[attr-defined]
    stats_table = SearchTerm.__table__  # type: ignore[attr-defined]
    conn.execute(delete(terms_table))
    conn.execute(delete(stats_table))
    cases = Case.__table__  # type: ignore[attr-defined]
    df: dict[str, int] = {}
    last, total = 0, 0
    while True:
        rows = conn.execute(
            select(
                cases.c.id, cases.c.matter, cases.c.department, cases.c.result, cases.c.mechanism
            )
            .where(cases.c.id > last)
            .order_by(cases.c.id)
            .limit(batch)
        ).all()
        if not rows:
            break
        out = []
        for case_id, matter, department, result, mechanism in rows:
            main, extra = case_text_terms(matter, department, result, mechanism)
            for t in set(main) | set(extra):
                df[t] = df.get(t, 0) + 1
            out.append(
                {"case_id": case_id, "main": bigrams.join(main), "extra": bigrams.join(extra)}
            )
        conn.execute(terms_table.insert(), out)
        last, total = rows[-1][0], total + len(rows)
    df[DOCS_KEY] = total
    items = [{"term": t, "df": n} for t, n in df.items()]
    for i in range(0, len(items), 5000):
        conn.execute(stats_table.insert(), items[i : i + 5000])
    return total


def _document_frequencies(session: Session, terms: Iterable[str]) -> tuple[int, dict[str, int]]:
    wanted = sorted(set(terms) | {DOCS_KEY})
    found: dict[str, int] = {}
    table = SearchTerm.__table__  # type: ignore[attr-defined]
    for i in range(0, len(wanted), 900):
        part = wanted[i : i + 900]
        rows = session.execute(select(table.c.term, table.c.df).where(table.c.term.in_(part))).all()
        found.update({t: n for t, n in rows})
    n_docs = found.pop(DOCS_KEY, 0)
    return n_docs, found


class Weights(dict[str, float]):
    """IDF weights, looked up lazily from the store's term counts."""

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session
        self.n_docs = 0
        self.df: dict[str, int] = {}

    def load(self, terms: Iterable[str]) -> None:
        missing = [t for t in set(terms) if t not in self]
        if not missing:
            return
        n_docs, df = _document_frequencies(self.session, missing)
        self.n_docs = n_docs
        self.df.update(df)
        for t in missing:
            self[t] = bigrams.weight(t, df.get(t, 0), n_docs)
