"""Running totals of closures and 回访 per day, so the daily roll-up's totals since the
first case (累计办结、按期、满意率) add up a few rows per day instead of reading the
JSON of every closure and visit ever recorded.

A close event counts on the Beijing day of the 办结时间 it records (`after.closed_at`),
a visit on the day of its 回访时间 (`after.visited_at`): the days the reports count
them on (reports/period.py). Each event adds to its day as it is written, in the
same transaction (store.py, where events are sealed), so the table always equals a
recount of the events (`recount`; `bbc doctor` compares the two). A migration, or
anything that writes events in bulk behind the tool's back (the benchmarks' stores),
fills it with `rebuild`.

Rows: (day, metric, n) with metric one of closed, closed_on_time, resolved, replied,
visits, or a satisfaction level.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import Column, Date, Integer, String, Table, delete, select
from sqlmodel import SQLModel

from banbucheng.schema.models import Event

COUNTED = ("close", "visit")

running_totals = Table(
    "running_totals",
    SQLModel.metadata,
    Column("day", Date, primary_key=True),
    Column("metric", String(40), primary_key=True),
    Column("n", Integer, nullable=False),
)


def metrics(action: str, detail: str) -> tuple[date, list[str]] | None:
    """The day an event counts on and what it counts for; None if it counts nothing."""
    if action not in COUNTED:
        return None
    try:
        after = json.loads(detail).get("after", {})
    except (ValueError, AttributeError):
        return None
    return _metrics(action, after)


def _metrics(action: str, after: Any) -> tuple[date, list[str]] | None:
    if not isinstance(after, dict):
        return None
    if action == "close":
        when, out = after.get("closed_at"), ["closed"]
        on_time = after.get("on_time")
        # What the reports' SQL counts as true: JSON true (or 1, as SQLite reads it).
        if on_time is True or (type(on_time) in (int, float) and on_time == 1):
            out.append("closed_on_time")
        if after.get("outcome") in ("resolved", "replied"):
            out.append(after["outcome"])
    else:
        when, out = after.get("visited_at"), ["visits"]
        if isinstance(after.get("satisfaction"), str):
            out.append(after["satisfaction"])
    try:
        return date.fromisoformat(str(when)[:10]), out
    except ValueError:
        return None


def _tally(events: Iterable[tuple[str, str]], measure: Any = metrics) -> Counter[tuple[date, str]]:
    counts: Counter[tuple[date, str]] = Counter()
    for action, detail in events:
        found = measure(action, detail)
        if found:
            day, names = found
            counts.update((day, name) for name in names)
    return counts


def _add(session: Any, counts: Counter[tuple[date, str]]) -> None:
    if not counts:
        return
    dialect = session.dialect if hasattr(session, "dialect") else session.get_bind().dialect
    if dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    stmt = insert(running_totals)
    stmt = stmt.on_conflict_do_update(
        index_elements=["day", "metric"], set_={"n": running_totals.c.n + stmt.excluded.n}
    )
    session.execute(stmt, [{"day": d, "metric": m, "n": n} for (d, m), n in counts.items()])


def count(session: Any, events: Iterable[Event]) -> None:
    """Add events about to be written (store.py) to their days."""
    _add(session, _tally((e.action, e.detail) for e in events if e.action in COUNTED))


def recount(session: Any) -> Counter[tuple[date, str]]:
    """The totals from the events themselves, read in one pass, streamed: psycopg would
    otherwise fetch every close and 回访 at once (doctor at 10^6 cases: 662 MB)."""
    events = Event.__table__  # type: ignore[attr-defined]
    rows = session.execute(
        select(events.c.action, events.c.detail)
        .where(events.c.action.in_(COUNTED))
        .execution_options(yield_per=2000)
    )
    return _tally((action, detail) for action, detail in rows)


def stored(session: Any) -> Counter[tuple[date, str]]:
    rows = session.execute(select(running_totals))
    return Counter({(_day(d), m): n for d, m, n in rows if n})


def rebuild(session: Any) -> None:
    """Fill the table afresh from the events."""
    session.execute(delete(running_totals))
    _add(session, recount(session))


def before(session: Any, day: date) -> dict[str, int]:
    """Each metric summed over the days before `day`."""
    from sqlalchemy import func

    rows = session.execute(
        select(running_totals.c.metric, func.sum(running_totals.c.n))
        .where(running_totals.c.day < day)
        .group_by(running_totals.c.metric)
    )
    return {metric: int(n or 0) for metric, n in rows}


def _day(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
