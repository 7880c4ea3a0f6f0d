"""New cases and their events kept in memory and written in bulk (`bbc import`).

The lifecycle's own functions (register, classify, dispatch, close, visit, the import
event) run on every row, so the rules are the same as for a typed command. With a
batch in the Ctx they hand over what they would write instead of flushing it:
lifecycle.py and units.py ask the batch for the case number, the case, the unit and
the helpers, and give it each event; services/bulk.py keeps the similar-case index,
the citizens' keys, repeats and mechanisms for the batch. Every few hundred rows
`flush()` writes what is complete with one executemany per table, sealing the events
into the hash chain as single writes do (schema/chain.py: chain.seal's link, MAC and
anchor, hashed from bytes by chain.digest_bytes, `seal_events`). A batch case is
written once, in its final state: its last event records the case's state digest
(schema/sealed.py), taken here from the case in memory with the canonical form the
store uses on a flushed case, and its earlier events none (their states were never a
stored row; verify, get_case and sealed.differences read the last event's). A new
unit's store-level event (domain/units.py) takes its place in the chain among the
batch's. Each shortcut is tested against the general function
(tests/trust/test_import_fast_paths.py), and the store an import leaves against the
one single commands leave (tests/trust/test_import_bulk.py).

A row the lifecycle refuses is undone alone (savepoint/rollback): every change the
batch or the learning makes is recorded with its inverse, nothing has reached the
database yet. Everything happens in the caller's one transaction, so a kill or an
error anywhere keeps nothing.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections import Counter as CounterOf
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from itertools import compress
from json.encoder import encode_basestring  # type: ignore[attr-defined]
from operator import is_not, itemgetter
from typing import Any

from pydantic_core import PydanticUndefined
from sqlalchemy import text
from sqlmodel import Session, SQLModel, select

from banbucheng.schema import chain, sealed, totals
from banbucheng.schema.models import Case, CaseChain, Counter, Event, Unit, define_all
from banbucheng.store import case_number, counter_key

_CASE_COLUMNS = tuple(c.name for c in Case.__table__.columns)  # type: ignore[attr-defined]
_CASE_DEFAULTS = {
    name: (None if info.default is PydanticUndefined else info.default)
    for name, info in Case.model_fields.items()
}
# Tables the batch writes besides cases and events, in an order their foreign keys allow.
ORDER = ("units", "mechanisms", "cases", "case_helpers", "case_terms", "citizen_keys",
         "mechanism_cases")  # fmt: skip
# Tables whose rows a trigger copies into a full-text index on SQLite (schema/models.py);
# their values are ints and texts, which JSON carries exactly.
_TRIGGERED = frozenset({"case_terms"})


def _memo(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """A bind processor remembering its answers (a row's times repeat: received,
    registered and clock start; closed, visited and their events)."""
    return functools.lru_cache(maxsize=4096)(convert)


class CaseRow:
    """A case being built in a batch: the attributes of a Case (same names, same
    defaults) without the ORM's bookkeeping, which would cost more than the rules."""

    def __init__(self, **fields: Any) -> None:
        self.__dict__.update(_CASE_DEFAULTS)
        self.__dict__.update(fields)


# An event's detail as lifecycle._json writes a single command's (json.dumps with
# ensure_ascii=False and sort_keys), its encoder made once (five events a row).
_json = sealed.json_text(separators=(", ", ": "), sort_keys=True)
_EMPTY_DETAIL = '{"after": {}, "before": {}, "state": '


def detail_text(detail: dict[str, Any]) -> str:
    """_json(detail); a detail that changes nothing (the import event, one a row) is
    written directly: its four keys in sorted order, its two texts escaped alike."""
    if len(detail) == 4 and detail.get("before") == {} and detail.get("after") == {}:
        state, text_ = detail.get("state"), detail.get("text")
        if type(state) is str and type(text_) is str:
            text_ = encode_basestring(text_)
            return f'{_EMPTY_DETAIL}{encode_basestring(state)}, "text": {text_}}}'
    return _json(detail)


# A case's sealed columns (sealed.case_values, read from a CaseRow's attributes).
_SEALED = itemgetter(*(name for name, _ in sealed.COLUMNS))
# sealed.digest's json.dumps(..., ensure_ascii=False, separators=(",", ":")) with its
# encoder made once: the same text (tests/trust/test_import_fast_paths.py compares them).
_compact = sealed.json_text(separators=(",", ":"), sort_keys=False)
_FORMAT_JSON = '["' + sealed.FORMAT + '",'


def _plain(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """sealed.canonical's rule for counts and texts: None, str and int pass as they are."""
    return lambda v: v if v is None or type(v) is str or type(v) is int else convert(v)


# sealed.canonical's conversion of one value of each kind (its shortcuts for values
# already canonical give what these give).
_CANONICAL = {"time": sealed._time, "date": sealed._date, "flag": sealed._flag,
              "int": _plain(sealed._int), "text": _plain(sealed._text)}  # fmt: skip


def _element(value: Any) -> str:
    """The JSON text of one canonical value as _compact writes it inside the list."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if type(value) is str:
        return encode_basestring(value)
    if type(value) is int:
        return int.__repr__(value)
    return _compact(value)


# A row's times repeat from event to event (received, registered, clock start; closed,
# visited): their text is remembered. Only for datetimes and dates, whose equal values
# have equal canonical forms (1 == True, but they do not).
# One text per moment serves three writers: sealed._time's canonical form is the text
# SQLite stores (checked in Batch._insert before it is used there) and, with a "T",
# chain._at_text's.
_stamp = functools.lru_cache(maxsize=8192)(sealed._time)


_PROBE = datetime(2024, 3, 5, 9, 13, 7, 123456, tzinfo=timezone(timedelta(hours=8)))


def _stores_stamp(type_: Any, convert: Callable[[Any], Any]) -> bool:
    """Whether a column's bind processor stores a datetime as _stamp's text."""
    try:
        inner = getattr(type_, "impl_instance", type_)  # a TypeDecorator's own says object
        return inner.python_type is datetime and convert(_PROBE) == _stamp(_PROBE)
    except Exception:  # a type that cannot say, or a processor that refuses the probe
        return False


def _time_json(value: datetime) -> str:
    return '"' + _stamp(value) + '"'  # digits, dashes, colons: nothing to escape


_date_json = functools.lru_cache(maxsize=1024)(lambda v: encode_basestring(sealed._date(v)))


def _of_kind(kind: str) -> Callable[[Any], str]:
    """The JSON text of a value (not None) of a sealed column of this kind: the value
    of the kind's own type directly, any other through sealed.canonical's conversion."""
    general = _CANONICAL[kind]
    if kind == "time":
        return lambda v: _time_json(v) if type(v) is datetime else _element(general(v))
    if kind == "date":
        return lambda v: _date_json(v) if type(v) is date else _element(general(v))
    if kind == "text":
        return lambda v: encode_basestring(v) if type(v) is str else _element(general(v))
    if kind == "int":
        return lambda v: int.__repr__(v) if type(v) is int else _element(general(v))
    return lambda v: ("true" if v else "false") if type(v) is bool else _element(general(v))


_FRAGMENT = tuple(_of_kind(kind) for _, kind in sealed.COLUMNS)
_INDEXES = range(len(_FRAGMENT))


def fragments(values: tuple, old: tuple | None = None, done: list[str] | None = None) -> list[str]:
    """The JSON texts of the sealed columns' values (COLUMNS order) in the canonical
    state; with the values of the case's previous state (`old`) and their texts
    (`done`), only those of the values that are not the very same objects are made."""
    if old is None or done is None:
        return ["null" if v is None else f(v) for f, v in zip(_FRAGMENT, values, strict=True)]
    out = list(done)
    for i in compress(_INDEXES, map(is_not, values, old)):  # the few that changed
        v = values[i]
        out[i] = "null" if v is None else _FRAGMENT[i](v)
    return out


# A new case's attributes start as these very objects (CaseRow): their texts are made
# once, and only the values set on top of them are converted when its state is taken.
_DEFAULT_VALUES = _SEALED(_CASE_DEFAULTS)
_DEFAULT_PARTS = fragments(_DEFAULT_VALUES)


def state_text(parts: list[str], unit: Any, helpers: Any, repeat_of: Any) -> str:
    """sealed.digest's JSON text of sealed.canonical(values, unit, helpers, repeat_of),
    from the values' fragments: the same text, made without converting every value
    and serialising the whole list again at every event of the case."""
    joined = sorted(sealed._text(h) or "" for h in helpers) if helpers else ()
    return "".join(
        (_FORMAT_JSON, ",".join(parts), ",", _element(sealed._text(unit)),
         ",[", ",".join(map(_element, joined)), "],", _element(sealed._text(repeat_of)), "]")
    )  # fmt: skip


def text_digest(text: str) -> str:
    """sealed.digest's hash of its JSON text."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[: sealed.DIGEST_CHARS]


# chain.digest_bytes puts the case number and the action in as they are, and escapes
# only quotes and backslashes in the detail (JSON text has no raw control character):
# other text takes chain.event_hash's general serialisation.
_PLAIN_JSON = re.compile(r'[^\x00-\x1f"\\]*').fullmatch
_CONTROL = re.compile(r"[\x00-\x1f]").search


@functools.lru_cache(maxsize=4096)  # a row's events share their times
def _at_bytes(at: Any) -> bytes:
    """chain._at_text(at) as bytes, from the moment's shared text."""
    if type(at) is not datetime:
        return chain._at_text(at).encode("ascii")
    text = _stamp(at)
    return (text[:10] + "T" + text[11:]).encode("ascii")


def seal_events(
    head: Any, events: list[dict[str, Any]], numbers: dict[int, str], key: bytes | None
) -> list[dict[str, Any]]:
    """chain.seal's steps (same hashes, MACs and anchors) over the batch's
    events, hashed by chain.digest_bytes from bytes: the event's time as canonical
    text once per moment, the detail (JSON text this module wrote) as it is. `head`:
    the chain's end (chain._head), moved here."""
    seq, hash_ = head.seq, head.hash or chain.GENESIS
    anchors: dict[int, dict[str, Any]] = {}
    digest_bytes = chain.digest_bytes
    mac = chain.EventMac(key) if key else None
    plain: dict[str, bytes | None] = {}  # number, action -> UTF-8, None if JSON escapes it
    actors: dict[str, bytes] = {}
    hash_b = hash_.encode("ascii")  # the previous hash as bytes, made once per event
    for ev in events:
        case_id = ev["case_id"]
        number = numbers[case_id] if case_id is not None else ""
        action, actor = ev["action"], ev["actor"]
        prev = hash_
        seq += 1
        detail = ev["detail"]
        n = plain.get(number, b"")
        if n == b"":
            n = number.encode("utf-8", "surrogatepass") if _PLAIN_JSON(number) else None
            plain[number] = n
        a = plain.get(action, b"")
        if a == b"":
            a = action.encode("utf-8", "surrogatepass") if _PLAIN_JSON(action) else None
            plain[action] = a
        # A case event's detail is JSON text `event` wrote; a store-level one is looked at.
        if n is not None and a is not None and (case_id is not None or not _CONTROL(detail)):
            actor_b = actors.get(actor)
            if actor_b is None:
                actor_b = actors[actor] = actor.encode("utf-8", "surrogatepass")
            hash_ = digest_bytes(
                seq, n, _at_bytes(ev["at"]), actor_b, a,
                detail.encode("utf-8", "surrogatepass"), hash_b,
            )  # fmt: skip
        else:  # text JSON escapes: the general serialisation
            hash_ = chain.event_hash(
                seq=seq, number=number, at=ev["at"], actor=actor, action=action,
                detail=detail, prev_hash=prev,
            )  # fmt: skip
        hash_b = hash_.encode("ascii")
        ev["seq"], ev["prev_hash"], ev["hash"] = seq, prev, hash_
        ev["mac"] = mac(hash_b) if mac else None
        if case_id is None:
            continue
        chain.count_anchor(anchors, case_id, number, seq, hash_)
    head.seq, head.hash = seq, hash_
    return list(anchors.values())


class Batch:
    def __init__(self, session: Session, seal_key: bytes | None = None) -> None:
        # The batch writes rows of every table in ORDER, looked up by name at each
        # flush: defined now, as some are only on first use (models_extra.py).
        define_all()
        self.session = session
        self.seal_key = seal_key  # the store's, for the events' MACs (chain.event_mac)
        self.postgres = session.get_bind().dialect.name == "postgresql"
        if not self.postgres:
            # Foreign keys checked once at COMMIT, not at each row's statement (SQLite
            # resets this at the end of the transaction; a violation still fails the
            # commit, so nothing is kept): a tenth of the inserts' time.
            session.connection().exec_driver_sql("PRAGMA defer_foreign_keys = ON")
        self.cases: list[CaseRow] = []
        self.events: list[dict[str, Any]] = []
        self.rows: dict[str, list[dict[str, Any]]] = {name: [] for name in ORDER if name != "cases"}
        self.before_flush: list[Callable[[bool], None]] = []
        self.learning: Any = None  # services/bulk.py's Learning for this batch
        self._undo: list[Callable[[], Any]] = []
        self._counters: dict[str, int] = {}
        self._counters_read = False
        self._touched: set[str] = set()
        self._ids: dict[str, list[int]] = {}
        self._last: dict[str, int] = {}
        self._cache: dict[str, dict[Any, Any]] = {}
        self._links: dict[int, dict[str, Any]] = {}
        self._helpers: dict[int, list[str]] = {}
        self._unit_names: dict[int, str] = {}  # id → name of the units the batch met
        self._memos: dict[Any, Callable[[Any], Any]] = {}  # column type → bind processor
        self._totals: CounterOf[tuple[date, str]] = CounterOf()  # running totals to add

    # ---------------------------------------------------------------- savepoints

    def savepoint(self) -> int:
        return len(self._undo)

    def rollback(self, mark: int) -> None:
        """Undo everything done since `savepoint()` returned `mark`, newest first."""
        while len(self._undo) > mark:
            self._undo.pop()()

    def on_undo(self, undo: Callable[[], Any]) -> None:
        self._undo.append(undo)

    def append(self, items: list[Any], item: Any) -> None:
        items.append(item)
        self._undo.append(items.pop)

    def add(self, table: str, row: dict[str, Any]) -> None:
        """A row of one of the other tables (ORDER), written at the next flush."""
        self.append(self.rows[table], row)

    # ---------------------------------------------------------------- for the lifecycle

    def next_id(self, table: str) -> int:
        """An id for a new row, reserved as the database would give it (the write lock
        is ours: SQLite's max + 1, PostgreSQL's sequence)."""
        pool = self._ids.get(table)
        if not pool:
            pool = self._ids[table] = self._reserve(table, 500)
        taken = pool.pop()
        self.on_undo(lambda: pool.append(taken))  # a refused row's id is given again
        return taken

    def _reserve(self, table: str, n: int) -> list[int]:
        if self.postgres:
            stmt = text(
                "SELECT nextval(pg_get_serial_sequence(:t, 'id')) FROM generate_series(1, :n)"
            )
            ids = sorted(self.session.execute(stmt, {"t": table, "n": n}).scalars())
        else:
            last = self.session.execute(text(f"SELECT max(id) FROM {table}")).scalar() or 0
            last = max(last, self._last.get(table, 0))
            ids = list(range(last + 1, last + n + 1))
            self._last[table] = ids[-1]
        return ids[::-1]  # popped from the end: smallest first

    def case_number(self, prefix: str, day: date) -> str:
        """store.next_case_number for the batch: the day's counter read once, moved here."""
        if not self._counters_read:  # all days' counters at once (one row a day)
            self._counters_read = True
            stmt = select(Counter.key, Counter.value).where(Counter.key.startswith("case:"))  # type: ignore[attr-defined]
            self._counters.update(self.session.exec(stmt).all())
        key = counter_key(day)
        value = self._counters.get(key, 0)
        self._counters[key] = value + 1
        self._touched.add(key)
        self.on_undo(lambda: self._counters.__setitem__(key, value))
        return case_number(prefix, day, value + 1)

    def new_case(self, **fields: Any) -> CaseRow:
        case = CaseRow(id=self.next_id("cases"), **fields)
        self.append(self.cases, case)
        return case

    def event(self, case: Any, *, at: Any, actor: str, action: str, detail: dict) -> None:
        """A case event; its detail is written at the flush, the last event of each case
        with the case's state digest (`_seal_states`)."""
        row = {"case_id": case.id, "at": at, "actor": actor, "action": action, "detail": detail}
        if action in totals.COUNTED:  # what the running totals read of it (JSON-safe values)
            row["after"] = detail["after"]
        self.append(self.events, row)

    def store_event(self, *, at: Any, actor: str, action: str, detail: str) -> None:
        """A store-level event (domain/changes.py: a new unit), in its place in the chain."""
        row = {"case_id": None, "at": at, "actor": actor, "action": action, "detail": detail}
        self.append(self.events, row)

    def state(self, case: Any) -> str:
        """sealed.state_digest of a batch case as it stands: the joined values from the
        batch, the columns' texts made only for the values set on top of the defaults."""
        unit = None if case.unit_id is None else self._unit_name(case.unit_id)
        repeat = None  # a repeat is found through the learning, which knows its number
        if case.repeat_of_id is not None:
            repeat = self.learning.numbers[case.repeat_of_id]
        helpers = self._helpers.get(case.id, ())
        parts = fragments(_SEALED(case.__dict__), _DEFAULT_VALUES, _DEFAULT_PARTS)
        return text_digest(state_text(parts, unit, helpers, repeat))

    def _seal_states(self) -> None:
        """Each case event's detail as JSON text; a case's last event of the batch with
        the case's state digest, as chain.seal gives a single write's from the flushed
        case. A batch case is written once, in its final state: the states between its
        events of the batch were never a stored row, so its earlier events carry none
        (verify, get_case and sealed.differences read the last event's only)."""
        last: dict[int, dict[str, Any]] = {}
        for ev in self.events:
            if ev["case_id"] is not None:
                last[ev["case_id"]] = ev
        for case in self.cases:
            ev = last.get(case.id)
            if ev is not None:
                ev["detail"]["state"] = self.state(case)
        for ev in self.events:
            if ev["case_id"] is not None:
                ev["detail"] = detail_text(ev["detail"])

    def _unit_name(self, unit_id: int) -> str | None:
        name = self._unit_names.get(unit_id)
        if name is None:
            name = self.session.execute(select(Unit.name).where(Unit.id == unit_id)).scalar()
        return name

    def cached(self, table: str, key: Any, load: Callable[[], Any]) -> Any:
        """A stored row looked up once per batch (a unit or mechanism by name)."""
        found = self._cache.setdefault(table, {})
        if key not in found:
            found[key] = load()
        return found[key]

    def add_new(self, table: str, obj: Any, *, key: Any) -> None:
        """A new unit or mechanism (an ORM object, never added to the session): its id
        reserved, its row written at the next flush, found by `key` from now on."""
        obj.id = self.next_id(table)
        found = self._cache.setdefault(table, {})
        old = found.get(key)
        found[key] = obj
        self.on_undo(lambda: found.__setitem__(key, old))
        columns = SQLModel.metadata.tables[table].columns
        self.add(table, {c.name: getattr(obj, c.name) for c in columns})

    def unit(self, name: str) -> Unit | None:
        unit = self.cached("units", name, lambda: self.session.exec(
            select(Unit).where(Unit.name == name)).first())  # fmt: skip
        if unit is not None:
            self._unit_names[unit.id] = unit.name
        return unit

    def unit_names(self) -> list[str]:
        return self.cached("units", None, lambda: list(self.session.exec(select(Unit.name))))

    def add_unit(self, unit: Unit) -> None:
        self.append(self.unit_names(), unit.name)
        self.add_new("units", unit, key=unit.name)
        self._unit_names[unit.id] = unit.name  # an id given again after an undo: renamed

    def link_of(self, case: Any) -> Any:
        """The mechanism link a batch case was given (schema MechanismCase's fields)."""
        return self._links.get(case.id)

    def link(self, case: Any, row: dict[str, Any]) -> None:
        assert case.id not in self._links, "a batch case is closed once"
        self._links[case.id] = row
        self.on_undo(lambda: self._links.pop(case.id))
        self.add("mechanism_cases", row)

    def helper_names(self, case: Any) -> list[str]:
        return list(self._helpers.get(case.id, []))

    def set_helpers(self, case: Any, units: list[Unit]) -> None:
        old = self._helpers.get(case.id)
        assert old is None, "a batch case is dispatched once"
        self._helpers[case.id] = sorted(u.name for u in units)
        self.on_undo(lambda: self._helpers.pop(case.id))
        for unit in units:
            self.add("case_helpers", {"case_id": case.id, "unit_id": unit.id})

    # ---------------------------------------------------------------- writing

    def flush(self, *, last: bool = True) -> None:
        """Write everything buffered (call between rows: what was done is complete).
        `last=False`: more rows follow, so what only adds up (the learning's term
        counts, the running totals) may wait for the last flush, in the same transaction."""
        for hook in self.before_flush:
            hook(last)
        tables = SQLModel.metadata.tables
        for name in ORDER:
            if name == "cases":
                self._insert(tables[name], self.cases, _CASE_COLUMNS)
            else:
                self._insert(tables[name], self.rows[name])
        if self.events:
            self._seal_states()
            numbers = {c.id: c.number for c in self.cases}
            head = chain._head(self.session)
            anchors = seal_events(head, self.events, numbers, self.seal_key)
            self.session.add(head)
            self._insert(Event.__table__, self.events)  # type: ignore[attr-defined]
            self._insert(CaseChain.__table__, anchors)  # type: ignore[attr-defined]
            # As store.py counts sealed events (totals.count), but from the "after"
            # each event's JSON was made of; added up and written at the last flush.
            for ev in self.events:
                after = ev.get("after")
                if after is not None:
                    found = totals._metrics(ev["action"], after)
                    if found:
                        day, names = found
                        self._totals.update((day, name) for name in names)
        if last and self._totals:
            totals._add(self.session, self._totals)
            self._totals = CounterOf()
        if self._touched:
            self._write_counters()
        self.cases.clear()
        self.events.clear()
        for rows in self.rows.values():
            rows.clear()
        self._undo.clear()

    def _insert(self, table: Any, rows: list[Any], names: tuple[str, ...] | None = None) -> None:
        """INSERT the rows with one executemany, each value converted by its column's
        own bind processor as SQLAlchemy would, without its per-row bookkeeping. Rows
        are dicts, or (`names`) objects whose __dict__ holds those columns."""
        if not rows:
            return
        connection = self.session.connection()
        dialect = connection.dialect
        wanted = rows[0] if names is None else names
        columns = [c for c in table.columns if c.name in wanted]
        marker = "%s" if dialect.paramstyle in ("format", "pyformat") else "?"
        sql = (
            f"INSERT INTO {table.name} ({', '.join(c.name for c in columns)}) "
            f"VALUES ({', '.join([marker] * len(columns))})"
        )
        get = itemgetter(*[c.name for c in columns])
        if len(columns) == 1:
            get = (lambda one: lambda row: (one(row),))(get)
        if names is not None:
            get = (lambda by_name: lambda obj: by_name(obj.__dict__))(get)
        # A column's processor is called for its values that are not None: every
        # processor here maps None to None (checked, else it takes every value).
        convert = []
        for i, c in enumerate(columns):
            f = c.type._cached_bind_processor(dialect)
            if f is not None and _stores_stamp(c.type, f):
                convert.append((i, lambda v, f=f: _stamp(v) if type(v) is datetime else f(v), True))
            elif f is not None:
                key = (type(c.type), repr(c.type))  # the same type converts alike
                memo = self._memos.get(key)
                if memo is None:
                    memo = self._memos[key] = _memo(f)
                convert.append((i, memo, f(None) is None))
        if convert:
            values = []
            for row in rows:
                value = list(get(row))
                for i, f, keeps_none in convert:
                    v = value[i]
                    if v is not None or not keeps_none:
                        value[i] = f(v)
                values.append(tuple(value))
        else:
            values = [get(row) for row in rows]
        if table.name in _TRIGGERED and not self.postgres:
            # One statement for all the rows, read from a JSON array: executemany runs
            # one statement per row, and SQLite's full-text index (kept by a trigger)
            # then syncs at every statement, three times the cost of the rows together.
            picks = ", ".join(f"json_extract(value, '$[{i}]')" for i in range(len(columns)))
            sql = f"{sql.split(' VALUES ')[0]} SELECT {picks} FROM json_each(?)"
            connection.exec_driver_sql(sql, (_compact(values),))
            return
        connection.exec_driver_sql(sql, values)

    def _write_counters(self) -> None:
        if self.postgres:
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        rows = [  # a day whose every row was refused keeps no counter, as one by one
            {"key": k, "value": self._counters[k]}
            for k in sorted(self._touched)
            if self._counters[k]
        ]
        stmt = insert(Counter)
        stmt = stmt.on_conflict_do_update(
            index_elements=["key"], set_={"value": stmt.excluded.value}
        )
        if rows:
            self.session.execute(stmt, rows)
        self._touched.clear()
