"""The period statistics (期间统计): per lead unit and in total, the counts, the three
rates and the combined score, and the units ranked by it.

Every figure is computed in SQL (COUNT ... FILTER, GROUP BY) over the cases' state as
of the cutoff (timeline.py); Python only divides the counts into rates. The daily
roll-up's running totals (daily.py) are these figures since the first case.

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

from sqlalchemy import select
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, func

from banbucheng.core.labels import SATISFACTION
from banbucheng.core.policy import Policy
from banbucheng.reports.timeline import (
    BY_TIME,
    Cutoff,
    Figures,
    Timeline,
    count_where,
    cutoff,
    iso_time,
    state_table,
    unit_contacts,
)
from banbucheng.schema.models import Case, Event

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


# ---------------------------------------------------------------- counts per unit


def unit_counts(
    session: Session, tl: Timeline, cut: Cutoff, start: datetime | None
) -> dict[str | None, dict[str, int]]:
    """The counts of METRIC_KEYS per lead unit (None: not dispatched) for the period
    [start, cutoff); start None means since the first case. Four grouped queries.

    With a start, the state holds only the cases these figures need (the period's
    cases, those open at the cutoff, those with events since the start: see
    timeline.candidates), and the events are found through the index on their time."""
    state = state_table(session, tl, cut, since=start)
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
            conds += [moment >= start_iso, e.at >= start]
        return conds

    # Closures, dated by their recorded 办结时间.
    e = aliased(Event)
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
            .join(state, state.c.id == e.case_id)
            .where(e.action == "close", *dated(e, "closed_at"))
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
    e = aliased(Event)
    level = tl.after(e, "satisfaction")
    rows = session.execute(
        by_time(
            select(state.c.unit, level, count_where())
            .select_from(e)
            .join(state, state.c.id == e.case_id)
            .where(e.action == "visit", *dated(e, "visited_at"))
            .group_by(state.c.unit, level),
            e,
        )
    ).all()
    for unit, value, n in rows:
        add(unit, "visits", n)
        if value in LEVELS:
            add(unit, value, n)

    # Escalations, referrals, extensions and reopens: events in the period.
    e = aliased(Event)
    conds = [col(e.action).in_(_EVENT_METRICS), e.at < cut.before]
    if start is not None:
        conds.append(e.at >= start)
    rows = session.execute(
        by_time(
            select(state.c.unit, e.action, count_where())
            .select_from(e)
            .join(state, state.c.id == e.case_id)
            .where(*conds)
            .group_by(state.c.unit, e.action),
            e,
        )
    ).all()
    for unit, action, n in rows:
        add(unit, _EVENT_METRICS[action], n)
    return out


def total_counts(session: Session, tl: Timeline, cut: Cutoff, overdue_open: int) -> dict[str, int]:
    """What sum_metrics(unit_counts(..., start=None)) gives, without dividing by unit:
    every closure, 回访 and event before the cutoff, counted straight from the events
    (whose case, received before it was recorded, is always in the state), and the
    cases received; `overdue_open` is counted by the caller."""
    out = dict.fromkeys(METRIC_KEYS, 0)
    out["received"] = session.execute(
        select(func.count()).select_from(Case).where(Case.received_at < cut.before)
    ).scalar_one()
    out["overdue_open"] = overdue_open
    e = aliased(Event)
    closed_at = tl.text(tl.after(e, "closed_at"))
    outcome = tl.after(e, "outcome")
    closed, on_time, resolved, replied = session.execute(
        select(
            count_where(),
            count_where(tl.true(tl.after(e, "on_time"))),
            count_where(outcome == "resolved"),
            count_where(outcome == "replied"),
        ).where(e.action == "close", closed_at < cut.before_iso)
    ).one()
    out.update(
        closed=closed,
        closed_on_time=on_time,
        closed_late=closed - on_time,
        resolved=resolved,
        replied=replied,
    )
    level = tl.after(e, "satisfaction")
    for value, n in session.execute(
        select(level, count_where())
        .where(e.action == "visit", tl.text(tl.after(e, "visited_at")) < cut.before_iso)
        .group_by(level)
    ).all():
        out["visits"] += n
        if value in LEVELS:
            out[value] += n
    for action, n in session.execute(
        select(e.action, count_where())
        .where(col(e.action).in_(_EVENT_METRICS), e.at < cut.before)
        .group_by(e.action)
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
