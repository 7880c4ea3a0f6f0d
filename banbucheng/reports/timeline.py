"""The state of the cases as of a moment, rebuilt in SQL from their timeline: what
every report (period.py, daily.py) counts over.

History, not the current row
----------------------------
A report for a past moment must give the same figures every time, although cases
move on: `reopen` clears `closed_at`, `extend` moves the deadline, `classify` and
`dispatch` can be repeated. So the state of a case "as of" a cutoff is rebuilt from
its append-only timeline (the `events` table, whose `after` records every changed
field), never read from the case's current row:

- category, subtype, deadline and its provisional flag: the value in the latest
  event before the cutoff that changed it (events recorded together with the
  registration count from the time the matter was received, so a matter entered
  later with `--at` is classified from its receipt on);
- lead unit: the unit of the latest dispatch before the cutoff;
- closed or open: closed when the case has more closures (close events, dated by
  their recorded 办结时间, so `close --at` counts on the day it names) than reopens
  before the cutoff;
- each closure keeps its own on-time flag and outcome, each 回访 its own level,
  even after a reopen wipes them from the case.

Figures for a past day or period therefore change only when records about that time
are added later (补录 with --at), never because of what happened afterwards.

Here: the cutoff a report describes (`Cutoff`, `cutoff`, `day_start`, `iso_time`,
`check_not_future`); `Timeline`, the JSON look-ups into events.detail written once for
SQLite and PostgreSQL; `case_state`, the subquery of every case with its state as of
the cutoff; `Figures`, the conditions the reports share over it (open, overdue,
provisional, received in the period); `count_where`; and `unit_contacts`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    Integer,
    MetaData,
    String,
    Table,
    and_,
    case,
    cast,
    collate,
    literal,
    not_,
    or_,
    select,
    union,
    union_all,
)
from sqlalchemy.dialects.sqlite.base import SQLiteCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, func

from banbucheng.core.errors import InvalidInput
from banbucheng.core.labels import OPEN_STATUSES
from banbucheng.core.timeutil import BEIJING
from banbucheng.schema.models import BeijingDateTime, Case, Event, Unit

# The tables the reports read, as plain tables rather than their mapped classes: a
# statement built from a class's attributes is compiled through the ORM (its compile
# state for every statement, the mappers configured before the first), about half as
# much work again, for reports that only ever read columns.
CASES: Table = Case.__table__  # type: ignore[attr-defined]
EVENTS: Table = Event.__table__  # type: ignore[attr-defined]
UNITS: Table = Unit.__table__  # type: ignore[attr-defined]

# ---------------------------------------------------------------- cutoffs


@dataclass(frozen=True)
class Cutoff:
    """`as_of`: the moment figures describe (a deadline before it is overdue).
    `before`: records dated before this count (as_of itself, or for "now" the next
    whole second, so that something recorded this very second is included)."""

    as_of: datetime
    before: datetime

    @property
    def as_of_iso(self) -> str:
        return iso_time(self.as_of)

    @property
    def before_iso(self) -> str:
        return iso_time(self.before)


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), BEIJING)


def cutoff(end: datetime, now: datetime) -> Cutoff:
    """As of `end` (exclusive), or as of now when `end` has not come yet."""
    now = now.astimezone(BEIJING).replace(microsecond=0)
    if now < end:
        return Cutoff(as_of=now, before=now + timedelta(seconds=1))
    return Cutoff(as_of=end, before=end)


def iso_time(moment: datetime) -> str:
    return moment.astimezone(BEIJING).isoformat(timespec="seconds")


def check_not_future(day: date, now: datetime, field: str = "日期") -> None:
    if day > now.astimezone(BEIJING).date():
        raise InvalidInput(f"{field}不能晚于今天（{now.astimezone(BEIJING).date().isoformat()}）")


# ---------------------------------------------------------------- SQL over the timeline

# For events from a recent moment on: SQLite's planner would rather read all of one
# kind of event (the index on action) than the few recorded since (the index on at).
BY_TIME = "INDEXED BY ix_events_at"
# For the events of a few cases: by case, whatever the planner guesses (case_id leads
# this index; the one of case_id alone went in m009).
BY_CASE = "INDEXED BY ix_events_case_seq"


def _sqlite_from_hint(compiler: Any, table: Any, text: str) -> str:
    return text


# SQLAlchemy's SQLite compiler drops `with_hint(..., dialect_name="sqlite")`; SQLite's
# own syntax for one is the text after the table's name ("FROM events AS e INDEXED BY
# ix_events_at"), which is what the generic hook is given. Without this the hints
# above were silently ignored.
SQLiteCompiler.get_from_hint_text = _sqlite_from_hint  # type: ignore[method-assign]


class Timeline:
    """JSON look-ups into events.detail, written once for SQLite and PostgreSQL."""

    def __init__(self, session: Session) -> None:
        self.pg = session.get_bind().dialect.name == "postgresql"
        self.session = session
        self._latest: list[datetime | None] = []

    def is_current(self, cut: Cutoff) -> bool:
        """Whether nothing has been recorded at or after the cutoff (a report as of now,
        the usual case). The state as of such a cutoff is the cases' own rows, which
        every action keeps in step with the events it records (`verify` checks it),
        so it is read from them instead of replayed from the whole timeline."""
        if not self._latest:
            self._latest.append(self.session.execute(select(func.max(EVENTS.c.at))).scalar())
        latest = self._latest[0]
        return latest is None or latest < cut.before

    def after(self, event: Any, key: str) -> ColumnElement[Any]:
        """The value of `key` in the `after` of an event (EVENTS or an alias of it); SQL
        NULL when absent or null."""
        if self.pg:
            from sqlalchemy.dialects.postgresql import JSONB

            return func.jsonb_extract_path_text(cast(event.c.detail, JSONB), "after", key)
        return func.json_extract(event.c.detail, f"$.after.{key}")

    def changed(self, event: Any, key: str) -> ColumnElement[bool]:
        """Whether the event changed `key` (its `after` has the key, even if null)."""
        if self.pg:
            from sqlalchemy.dialects.postgresql import JSONB

            return cast(event.c.detail, JSONB)["after"].has_key(key)  # type: ignore[no-any-return]
        return func.json_type(event.c.detail, f"$.after.{key}").is_not(None)

    def true(self, value: ColumnElement[Any]) -> ColumnElement[bool]:
        """A JSON boolean read by `after` is true (SQLite gives 1, PostgreSQL 'true')."""
        return value == ("true" if self.pg else 1)

    def text(self, value: ColumnElement[Any]) -> ColumnElement[Any]:
        """ISO timestamps compare as text; byte order on PostgreSQL whatever its locale."""
        return collate(value, "C") if self.pg else value

    def day_of(self, column: Any) -> ColumnElement[Any]:
        """The Beijing date of a stored time (stored as Beijing wall time)."""
        return cast(column, Date) if self.pg else func.date(column)


def case_state(tl: Timeline, cut: Cutoff, *, among: Any | None = None) -> Any:
    """One row per case received before the cutoff, with its state as of the cutoff
    rebuilt from the timeline (see the module docstring), or read from the cases
    themselves when nothing has happened since the cutoff (`current_state`). With
    `among` (a query of case ids: `candidates`), a caller that counts only the cases
    open at the cutoff and what happened since a moment (the daily roll-up, a month's
    statistics) gets just those cases, and only their events are replayed, each case's
    through the index on case_id.

    One pass over the events, never a subquery per case: each event that set a
    tracked value, or closed or reopened the case, becomes a (case, key, value) row;
    a window ranks each case's rows per key, newest first, and counts them; a GROUP BY
    turns the newest of each key into a column. That costs a scan and a sort of the
    events whatever the planner knows, so it stays linear on a store that was never
    analysed (a correlated subquery per case was planned through ix_events_action
    there, and the daily roll-up grew with the square of the cases)."""
    if tl.is_current(cut):
        return current_state(tl, cut, among=among)
    c = CASES.c
    received: ColumnElement[bool] = c.received_at < cut.before
    untyped = literal(None, String)
    if among is not None:
        received = and_(received, c.id.in_(among))

    def rows(key: str, pick: Any, value: Any, e: Any) -> Any:
        stmt = (
            select(
                e.c.case_id.label("case_id"),
                literal(key, String).label("k"),
                (cast(value, String) if tl.pg else value).label("v"),
                e.c.at.label("at"),
                e.c.id.label("eid"),
            )
            .select_from(e)
            .join(CASES, c.id == e.c.case_id)
            .where(received, pick)
        )
        if among is not None:
            # The few candidates' events, by case: not every close of the store
            # through the index on action, as SQLite would pick without statistics.
            stmt = stmt.with_hint(e, BY_CASE, dialect_name="sqlite")
        return stmt

    def latest(key: str, action: str | None = None) -> Any:
        e = EVENTS.alias()
        which = e.c.action == action if action else tl.changed(e, key)
        # Events recorded with the registration count from the receipt on, so a matter
        # entered later with --at is classified from its receipt.
        visible = or_(e.c.at < cut.before, e.c.at == c.registered_at)
        return rows(key, and_(which, visible), tl.after(e, key), e)

    closes, reopens = EVENTS.alias(), EVENTS.alias()
    changes = union_all(
        # Every case gets a row, so the pivot below has one row per case.
        select(
            c.id.label("case_id"),
            literal("case", String).label("k"),
            untyped.label("v"),
            c.registered_at.label("at"),
            literal(0).label("eid"),
        ).where(received),
        latest("unit", "dispatch"),
        latest("category"),
        latest("subtype"),
        latest("due_at"),
        latest("provisional"),
        rows(
            "closes",
            and_(
                closes.c.action == "close",
                tl.text(tl.after(closes, "closed_at")) < cut.before_iso,
            ),
            untyped,
            closes,
        ),
        rows(
            "reopens",
            and_(reopens.c.action == "reopen", reopens.c.at < cut.before),
            untyped,
            reopens,
        ),
    ).subquery("changes")
    ranked = select(
        changes.c.case_id,
        changes.c.k,
        changes.c.v,
        func.row_number()
        .over(
            partition_by=(changes.c.case_id, changes.c.k),
            order_by=(changes.c.at.desc(), changes.c.eid.desc()),
        )
        .label("rn"),
        func.count().over(partition_by=(changes.c.case_id, changes.c.k)).label("n"),
    ).subquery("ranked")

    def newest(key: str) -> Any:
        return func.max(case((ranked.c.k == key, ranked.c.v))).label(key)

    def how_many(key: str) -> Any:
        return func.coalesce(func.max(case((ranked.c.k == key, ranked.c.n))), 0)

    pivot = (
        select(
            ranked.c.case_id,
            newest("unit"),
            newest("category"),
            newest("subtype"),
            newest("due_at"),
            newest("provisional"),
            (how_many("closes") > how_many("reopens")).label("closed"),
        )
        .where(ranked.c.rn == 1)
        .group_by(ranked.c.case_id)
        .subquery("pivot")
    )
    return (
        select(
            c.id.label("id"),
            c.number.label("number"),
            c.received_at.label("received_at"),
            pivot.c.unit,
            pivot.c.category,
            pivot.c.subtype,
            pivot.c.due_at,
            tl.true(pivot.c.provisional).label("provisional"),
            pivot.c.closed,
        )
        .select_from(pivot)
        .join(CASES, c.id == pivot.c.case_id)
        .subquery("state")
    )


def candidates(cut: Cutoff, since: datetime) -> Any:
    """The ids of the cases a report over [since, cutoff) needs: the cases open now,
    those received since, and those with anything recorded since. Each part is found
    through an index (status, received_at, events.at): a month's cases and the open
    ones, not the whole store.

    Every case open at the cutoff is among them: open now, or closed after the
    cutoff by a closure recorded after it (close --at looks back, never ahead), or
    reopened after it. So is every case with a closure, 回访 or other event dated in
    the period, each recorded no earlier than the moment it names."""
    c, e = CASES.c, EVENTS.c
    return union(
        select(c.id).where(c.status.in_(OPEN_STATUSES)),
        select(c.id).where(c.received_at >= since, c.received_at < cut.before),
        select(e.case_id).where(e.at >= since, e.case_id.is_not(None)),
    )


def state_columns() -> list[Column[Any]]:
    """The columns of a state table after its id (state_table, period.period_state)."""
    return [
        Column("number", String),
        Column("received_at", BeijingDateTime),
        Column("unit", String),
        Column("category", String),
        Column("subtype", String),
        Column("due_at", String),
        Column("provisional", Boolean),
        Column("closed", Boolean),
    ]


def state_table(
    session: Session, tl: Timeline, cut: Cutoff, *, since: datetime | None = None
) -> Any:
    """case_state, computed once per report and cutoff into a temporary table that
    the report's dozen queries read (each would otherwise rebuild it from the events).

    Temporary tables live with the connection and write nothing to the store: on
    SQLite they need no write lock, on PostgreSQL they are dropped at commit. A
    pooled SQLite connection may still hold one from an earlier report, so the name
    is dropped first."""
    made: dict[tuple[str, Any], Table] = session.info.setdefault("bbc_state_tables", {})
    key = (cut.before_iso, since)
    if key in made:
        return made[key]
    table = Table(
        f"bbc_state_{len(made)}",
        MetaData(),
        Column("id", Integer, primary_key=True, autoincrement=False),
        *state_columns(),
        prefixes=["TEMPORARY"],
        # Named only on PostgreSQL: naming a dialect's option imports that dialect.
        **({"postgresql_on_commit": "DROP"} if tl.pg else {}),
    )
    conn = session.connection()
    among = None
    if since is not None:
        # The candidates, found once (each part of the state's query reads them).
        ids = Table(
            f"bbc_among_{len(made)}",
            MetaData(),
            Column("id", Integer, primary_key=True, autoincrement=False),
            prefixes=["TEMPORARY"],
            **({"postgresql_on_commit": "DROP"} if tl.pg else {}),
        )
        _create_temporary(conn, tl, ids)
        conn.execute(ids.insert().from_select(["id"], candidates(cut, since)))
        _analyse_temporary(conn, tl, ids)
        among = select(ids.c.id)
    _create_temporary(conn, tl, table)
    state = case_state(tl, cut, among=among)
    conn.execute(table.insert().from_select(list(state.c.keys()), select(state)))
    _analyse_temporary(conn, tl, table)
    made[key] = table
    return table


def _create_temporary(conn: Any, tl: Timeline, table: Table) -> None:
    if not tl.pg:
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS temp.{table.name}")
    table.create(conn)


def _analyse_temporary(conn: Any, tl: Timeline, table: Table) -> None:
    """PostgreSQL plans the joins with a temporary table by its size, which it knows
    only once analysed (autovacuum never sees temporary tables)."""
    if tl.pg:
        conn.exec_driver_sql(f"ANALYZE {table.name}")


def current_state(tl: Timeline, cut: Cutoff, *, among: Any | None = None) -> Any:
    """case_state for a cutoff after everything recorded: the same columns, in the same
    form (the deadline as the ISO text the events hold, the provisional flag as a
    boolean), from the cases and their lead units. A few milliseconds where the
    replay takes seconds on a large store."""
    c = CASES.c
    if tl.pg:
        due = func.to_char(c.due_at, 'YYYY-MM-DD"T"HH24:MI:SS', type_=String) + "+08:00"
    else:
        due = func.strftime("%Y-%m-%dT%H:%M:%S", c.due_at, type_=String) + "+08:00"
    where = [c.received_at < cut.before]
    if among is not None:
        where.append(c.id.in_(among))
    return (
        select(
            c.id.label("id"),
            c.number.label("number"),
            c.received_at.label("received_at"),
            UNITS.c.name.label("unit"),
            c.category.label("category"),
            c.subtype.label("subtype"),
            due.label("due_at"),
            c.provisional.label("provisional"),
            (c.status == "closed").label("closed"),
        )
        .select_from(CASES)
        .join(UNITS, UNITS.c.id == c.unit_id, isouter=True)
        .where(*where)
        .subquery("state")
    )


class Figures:
    """The conditions every report shares, over the state subquery."""

    def __init__(self, tl: Timeline, state: Any, cut: Cutoff) -> None:
        self.tl, self.s, self.cut = tl, state, cut
        self.open = not_(state.c.closed)
        self.overdue = and_(
            self.open,
            state.c.due_at.is_not(None),
            tl.text(state.c.due_at) < cut.as_of_iso,
        )
        self.provisional = and_(self.open, state.c.provisional.is_(True))

    def received_in(self, start: datetime | None) -> ColumnElement[bool]:
        if start is None:
            return self.s.c.received_at < self.cut.before
        return self.s.c.received_at >= start


def count_where(condition: ColumnElement[bool] | None = None) -> Any:
    return func.count() if condition is None else func.count().filter(condition)


# ---------------------------------------------------------------- look-ups every report shares


def unit_contacts(session: Session, names: list[str]) -> dict[str, str]:
    if not names:
        return {}
    u = UNITS.c
    rows = session.execute(select(u.name, u.contact).where(u.name.in_(names))).all()
    return {name: contact for name, contact in rows}
