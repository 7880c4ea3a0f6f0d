"""The period statistics (期间统计): per lead unit and in total, the counts, the three
rates and the combined score, and the units ranked by it.

Every figure is computed in SQL (COUNT ... FILTER, GROUP BY) over the cases' state as
of the cutoff (timeline.py; for a past period, `period_state`); Python only divides the
counts into rates and ranks a few dozen units. The daily roll-up's running totals
(daily.py) are these figures since the first case.

Formulas (per unit and in total; a unit is the case's lead unit as of the cutoff)
-------------------------------------------------------------------------------
- received (受理): cases whose receipt time lies in the period.
- closed (办结): closures dated in the period; a reopened case closed again counts
  again. closed_on_time / closed_late split them by their on-time flag;
  resolved (已解决) / replied (已答复不能办理) by outcome.
- overdue_open (超期未办结): cases open at the cutoff whose deadline has passed,
  however long ago (the backlog the unit still owes).
- on_time_rate (按期办结率) = closed_on_time / (closed + overdue_open): a case left
  open past its deadline counts against the unit just as a late closure does, so
  not closing a late case never improves the rate.
- resolution_rate (解决率) = resolved / closed.
- satisfaction_rate (满意率) = (very_satisfied + satisfied + b × basically_satisfied)
  / visits, over the 回访 dated in the period (including those that led to a
  reopen); b is the setting `satisfaction.basic` (default 0.5); 不满意 and 非常不满意
  count 0.
- escalations, referrals, extensions, reopened: events of that kind in the period.
- score (综合得分) = 100 × Σ wᵢ·rateᵢ / Σ wᵢ over the three rates above that are
  defined (a rate with a zero denominator is left out rather than counted as 0);
  weights are the settings `score.on_time`, `score.resolution`,
  `score.satisfaction`. No defined rate: no score, ranked last.
Rates are null when their denominator is 0.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Column, Integer, MetaData, Table, select, union_all
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, func

from banbucheng.core.labels import SATISFACTION
from banbucheng.core.policy import Policy
from banbucheng.core.timeutil import BEIJING
from banbucheng.reports.timeline import (
    BY_TIME,
    CASES,
    EVENTS,
    Cutoff,
    Figures,
    Timeline,
    candidates,
    case_state,
    count_where,
    current_state,
    cutoff,
    day_start,
    iso_time,
    state_columns,
    state_table,
    unit_contacts,
)

LEVELS = tuple(SATISFACTION)  # very_satisfied .. very_dissatisfied
METRIC_KEYS = (
    "received",
    "closed",
    "closed_on_time",
    "closed_late",
    "resolved",
    "replied",
    "overdue_open",
    "visits",
    *LEVELS,
    "escalations",
    "referrals",
    "extensions",
    "reopened",
)
_EVENT_METRICS = {
    "escalate": "escalations",
    "refer": "referrals",
    "extend": "extensions",
    "reopen": "reopened",
}


# ---------------------------------------------------------------- the state for a period


def period_state(session: Session, tl: Timeline, cut: Cutoff, start: datetime | None) -> Any:
    """The state of the cases a period's figures need, as of its cutoff: the same rows
    as timeline.state_table(since=start), in a temporary table of the same columns.

    For a past period (a month's report), timeline replays the events of every
    candidate (a month's cases, the open ones, those with events since the month
    began: 56,000 cases and 5.4 s at 10^6 cases). Yet a case with nothing recorded at
    or after the cutoff is, as of the cutoff, what its row says now: every action
    keeps the row in step with the event it records (`verify` checks it; the same
    reason timeline.current_state serves a report as of now). So only the candidates
    with an event since the cutoff are replayed (3,500 at 10^6), and the rest are read
    from their rows by primary key. Events count from the time they were recorded
    (`at`), which is never before the time they name (close --at, a registration
    with --at looks back), so a case none of whose events is recorded since the
    cutoff has nothing that the replay would leave out."""
    if start is None or tl.is_current(cut):
        return state_table(session, tl, cut, since=start)
    made: dict[tuple[str, datetime], Table] = session.info.setdefault("bbc_period_states", {})
    key = (cut.before_iso, start)
    if key in made:
        return made[key]
    n = len(made)
    conn = session.connection()
    among = _temporary(conn, tl, f"bbc_period_among_{n}", [_id()])
    conn.execute(among.insert().from_select(["id"], candidates(cut, start)))
    # The cases received before the cutoff with anything recorded since: those with
    # events since, through the index on `at`, less those received since (most of
    # them), through the index on received_at. (Joining the events to the cases had
    # PostgreSQL read every case to hash them.)
    busy = _temporary(conn, tl, f"bbc_period_busy_{n}", [_id()])
    e = EVENTS.c
    since_cut = (
        select(e.case_id)
        .where(e.at >= cut.before, e.case_id.is_not(None))
        .distinct()
        .with_hint(EVENTS, BY_TIME, dialect_name="sqlite")
    )
    conn.execute(busy.insert().from_select(["id"], since_cut))
    received_since = select(CASES.c.id).where(CASES.c.received_at >= cut.before)
    conn.execute(busy.delete().where(busy.c.id.in_(received_since)))
    _analyse(conn, tl, among, busy)
    quiet = select(among.c.id).where(among.c.id.not_in(select(busy.c.id)))
    # Every one is a candidate (it has events since the period began).
    replayed = select(busy.c.id)
    table = _temporary(
        conn,
        tl,
        f"bbc_period_state_{n}",
        [
            _id(),
            *state_columns(),
        ],
    )
    now_rows = current_state(tl, cut, among=quiet)
    past_rows = case_state(tl, cut, among=replayed)
    names = list(now_rows.c.keys())
    assert names == list(past_rows.c.keys()) == list(table.c.keys())
    both = union_all(select(now_rows), select(past_rows))
    conn.execute(table.insert().from_select(names, both))
    _analyse(conn, tl, table)
    made[key] = table
    return table


def _id() -> Column[int]:
    return Column("id", Integer, primary_key=True, autoincrement=False)


def _temporary(conn: Any, tl: Timeline, name: str, columns: list[Column[Any]]) -> Table:
    """A temporary table: it writes nothing to the store (no write lock on SQLite,
    dropped at commit on PostgreSQL). A pooled SQLite connection may still hold one of
    that name from an earlier report, so it is dropped first."""
    table = Table(
        name,
        MetaData(),
        *columns,
        prefixes=["TEMPORARY"],
        # Named only on PostgreSQL: naming a dialect's option imports that dialect.
        **({"postgresql_on_commit": "DROP"} if tl.pg else {}),
    )
    if not tl.pg:
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS temp.{name}")
    table.create(conn)
    return table


def _analyse(conn: Any, tl: Timeline, *tables: Table) -> None:
    """PostgreSQL plans joins with a temporary table by its size, known only once
    analysed (autovacuum never sees temporary tables)."""
    if tl.pg:
        for table in tables:
            conn.exec_driver_sql(f"ANALYZE {table.name}")


# ---------------------------------------------------------------- counts per unit


def unit_counts(
    session: Session, tl: Timeline, cut: Cutoff, start: datetime | None
) -> dict[str | None, dict[str, int]]:
    """The counts of METRIC_KEYS per lead unit (None: not dispatched) for the period
    [start, cutoff); start None means since the first case. Four grouped queries.

    With a start, the state holds only the cases these figures need (the period's
    cases, those open at the cutoff, those with events since the start: see
    timeline.candidates), and the events are found through the index on their time."""
    state = period_state(session, tl, cut, start)
    f = Figures(tl, state, cut)
    out: dict[str | None, dict[str, int]] = {}

    def add(unit: str | None, key: str, n: int) -> None:
        out.setdefault(unit, dict.fromkeys(METRIC_KEYS, 0))[key] += n

    # Cases: received in the period, overdue and still open at the cutoff.
    cases = select(state.c.unit, count_where(f.received_in(start)), count_where(f.overdue))
    rows = session.execute(cases.group_by(state.c.unit)).all()
    for unit, received, overdue in rows:
        add(unit, "received", received)
        add(unit, "overdue_open", overdue)

    start_iso = iso_time(start) if start else None

    def by_time(stmt: Any, e: Any) -> Any:
        # SQLite without statistics would read every event of the kind (the index on
        # action) rather than the period's (the index on at).
        return stmt.with_hint(e, BY_TIME, dialect_name="sqlite") if start else stmt

    def dated(e: Any, key: str) -> list[ColumnElement[bool]]:
        moment = tl.text(tl.after(e, key))
        conds = [moment < cut.before_iso]
        if start_iso:
            # Recorded no earlier than dated (--at looks back, never ahead): the index
            # on `at` narrows the events before their JSON is read.
            conds += [moment >= start_iso, e.c.at >= start]
        return conds

    # Closures, dated by their recorded 办结时间.
    e = EVENTS.alias()
    outcome = tl.after(e, "outcome")
    rows = session.execute(
        by_time(
            select(
                state.c.unit,
                count_where(),
                count_where(tl.true(tl.after(e, "on_time"))),
                count_where(outcome == "resolved"),
                count_where(outcome == "replied"),
            )
            .select_from(e)
            .join(state, state.c.id == e.c.case_id)
            .where(e.c.action == "close", *dated(e, "closed_at"))
            .group_by(state.c.unit),
            e,
        )
    ).all()
    for unit, closed, on_time, resolved, replied in rows:
        add(unit, "closed", closed)
        add(unit, "closed_on_time", on_time)
        add(unit, "closed_late", closed - on_time)
        add(unit, "resolved", resolved)
        add(unit, "replied", replied)

    # 回访, dated by their recorded 回访时间, by level.
    e = EVENTS.alias()
    level = tl.after(e, "satisfaction")
    rows = session.execute(
        by_time(
            select(state.c.unit, level, count_where())
            .select_from(e)
            .join(state, state.c.id == e.c.case_id)
            .where(e.c.action == "visit", *dated(e, "visited_at"))
            .group_by(state.c.unit, level),
            e,
        )
    ).all()
    for unit, value, n in rows:
        add(unit, "visits", n)
        if value in LEVELS:
            add(unit, value, n)

    # Escalations, referrals, extensions and reopens: events in the period.
    e = EVENTS.alias()
    conds = [e.c.action.in_(_EVENT_METRICS), e.c.at < cut.before]
    if start is not None:
        conds.append(e.c.at >= start)
    rows = session.execute(
        by_time(
            select(state.c.unit, e.c.action, count_where())
            .select_from(e)
            .join(state, state.c.id == e.c.case_id)
            .where(*conds)
            .group_by(state.c.unit, e.c.action),
            e,
        )
    ).all()
    for unit, action, n in rows:
        add(unit, _EVENT_METRICS[action], n)
    return out


def total_counts(session: Session, tl: Timeline, cut: Cutoff, overdue_open: int) -> dict[str, int]:
    """What sum_metrics(unit_counts(..., start=None)) gives, without dividing by unit:
    every closure, 回访 and event before the cutoff, and the cases received;
    `overdue_open` is counted by the caller.

    Closures and 回访 dated before the cutoff's day are the running totals kept per day
    (schema/totals.py); those dated on that day before the cutoff are counted from the
    events, found through the index on `at` (an event is recorded no earlier than the
    time it names, see daily.py)."""
    from banbucheng.schema import totals

    out = dict.fromkeys(METRIC_KEYS, 0)
    # Every case less those received from the cutoff on (none, for a report as of
    # now, found through the index on received_at): SQLite counts a whole table from
    # its b-tree pages without reading a row, a tenth of the time of counting the
    # range before the cutoff through the index.
    every = select(func.count()).select_from(CASES).scalar_subquery()
    later = select(func.count()).where(CASES.c.received_at >= cut.before).scalar_subquery()
    out["received"] = session.execute(select(every - later)).scalar_one()
    out["overdue_open"] = overdue_open
    day = cut.before.astimezone(BEIJING).date()
    for metric, n in totals.before(session, day).items():
        if metric in out:
            out[metric] += n
    start = day_start(day)
    e = EVENTS.alias()
    closed_at = tl.text(tl.after(e, "closed_at"))
    outcome = tl.after(e, "outcome")
    closed, on_time, resolved, replied = session.execute(
        select(
            count_where(),
            count_where(tl.true(tl.after(e, "on_time"))),
            count_where(outcome == "resolved"),
            count_where(outcome == "replied"),
        )
        .where(
            e.c.action == "close",
            e.c.at >= start,
            closed_at >= iso_time(start),
            closed_at < cut.before_iso,
        )
        .with_hint(e, BY_TIME, dialect_name="sqlite")
    ).one()
    out["closed"] += closed
    out["closed_on_time"] += on_time
    out["resolved"] += resolved
    out["replied"] += replied
    out["closed_late"] = out["closed"] - out["closed_on_time"]
    level = tl.after(e, "satisfaction")
    visited_at = tl.text(tl.after(e, "visited_at"))
    for value, n in session.execute(
        select(level, count_where())
        .where(
            e.c.action == "visit",
            e.c.at >= start,
            visited_at >= iso_time(start),
            visited_at < cut.before_iso,
        )
        .with_hint(e, BY_TIME, dialect_name="sqlite")
        .group_by(level)
    ).all():
        out["visits"] += n
        if value in LEVELS:
            out[value] += n
    for action, n in session.execute(
        select(e.c.action, count_where())
        .where(e.c.action.in_(_EVENT_METRICS), e.c.at < cut.before)
        .group_by(e.c.action)
    ).all():
        out[_EVENT_METRICS[action]] += n
    return out


# ---------------------------------------------------------------- rates and ranking


def _ratio(numerator: float, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def with_rates(counts: dict[str, int], policy: Policy) -> dict[str, Any]:
    """Counts plus the three rates and the combined score (formulas: module docstring)."""
    m: dict[str, Any] = dict(counts)
    m["on_time_rate"] = _ratio(m["closed_on_time"], m["closed"] + m["overdue_open"])
    m["resolution_rate"] = _ratio(m["resolved"], m["closed"])
    satisfied = (
        m["very_satisfied"] + m["satisfied"] + policy.basic_satisfaction * m["basically_satisfied"]
    )
    m["satisfaction_rate"] = _ratio(satisfied, m["visits"])
    pairs = [
        (w, r)
        for w, r in zip(
            policy.score_weights,
            (m["on_time_rate"], m["resolution_rate"], m["satisfaction_rate"]),
            strict=True,
        )
        if r is not None
    ]
    weight = sum(w for w, _ in pairs)
    m["score"] = round(100 * sum(w * r for w, r in pairs) / weight, 2) if weight > 0 else None
    return m


def sum_metrics(rows: list[dict[str, int]]) -> dict[str, int]:
    return {k: sum(r[k] for r in rows) for k in METRIC_KEYS}


def period_stats(
    session: Session,
    policy: Policy,
    start: datetime | None,
    end: datetime,
    now: datetime,
) -> dict[str, Any]:
    """Per unit and in total for [start, end) as of min(end, now); units ranked by
    score (ties share a rank; units without a score, and undispatched cases, last)."""
    cut = cutoff(end, now)
    tl = Timeline(session)
    counts = unit_counts(session, tl, cut, start)
    contacts = unit_contacts(session, [u for u in counts if u is not None])
    units = []
    for unit, c in counts.items():
        if not any(c.values()):
            continue
        row = {"unit": unit, "contact": contacts.get(unit, "") if unit else ""}
        units.append(row | with_rates(c, policy))

    def order(r: dict[str, Any]) -> tuple[Any, ...]:
        return (
            r["unit"] is None,
            r["score"] is None,
            -(r["score"] or 0),
            -(r["on_time_rate"] or 0),
            -r["received"],
            r["unit"] or "",
        )

    units.sort(key=order)
    rank, previous = 0, None
    for i, r in enumerate(units, start=1):
        if r["unit"] is None or r["score"] is None:
            r["rank"] = None
            continue
        if r["score"] != previous:
            rank, previous = i, r["score"]
        r["rank"] = rank
    total = with_rates(sum_metrics([counts[u] for u in counts]), policy)
    weights = dict(
        zip(("on_time", "resolution", "satisfaction"), policy.score_weights, strict=True)
    )
    return {
        "from": start.date().isoformat() if start else None,
        "to": (end - timedelta(days=1)).date().isoformat(),
        "as_of": cut.as_of_iso,
        "weights": weights,
        "basic_satisfaction": policy.basic_satisfaction,
        "total": total,
        "units": [_unit_row_order(r) for r in units],
    }


def _unit_row_order(r: dict[str, Any]) -> dict[str, Any]:
    head = {"rank": r["rank"], "unit": r["unit"], "contact": r["contact"]}
    return head | {k: v for k, v in r.items() if k not in head}
