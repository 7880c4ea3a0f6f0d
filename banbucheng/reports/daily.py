"""The end-of-day roll-up (每日汇总): the day's figures as of the end of the day (or
now, for today), the cases behind them, the running totals and the 30-day trend.

Counted in SQL over the cases' state as of the cutoff (timeline.py: figures for a past
day never change because of what happened afterwards); the running totals are the
period figures since the first case (period.py). The layout for people is
layouts.daily_document.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, not_, or_, select
from sqlmodel import Session, func

from banbucheng.core.labels import ACTION_LABELS, OUTCOMES
from banbucheng.core.policy import CATEGORIES, SUBTYPES, Policy
from banbucheng.deadlines import WorkCalendar
from banbucheng.reports.period import total_counts, with_rates
from banbucheng.reports.timeline import (
    BY_TIME,
    CASES,
    EVENTS,
    UNITS,
    Cutoff,
    Figures,
    Timeline,
    check_not_future,
    count_where,
    cutoff,
    day_start,
    iso_time,
    state_table,
    unit_contacts,
)

TREND_DAYS = 30


def category_label(category: str | None, subtype: str | None) -> str | None:
    if category is None:
        return None
    label = CATEGORIES.get(category, category)
    return label + (f"/{SUBTYPES.get(subtype, subtype)}" if subtype else "")


def _case_row(
    r: Any, citizen: str, matter: str, contact: str, day: date, calendar: WorkCalendar, cut: Cutoff
) -> dict[str, Any]:
    due_at = r.due_at
    due_date = date.fromisoformat(due_at[:10]) if due_at else None
    is_open = not r.closed
    overdue = bool(is_open and due_at and due_at < cut.as_of_iso)
    days_left = days_overdue = None
    if is_open and due_date is not None:
        if overdue:
            days_overdue = calendar.workdays_between(due_date, day)
        else:
            days_left = calendar.workdays_between(day, due_date)
    provisional = r.provisional in (1, True, "true")
    return {
        "number": r.number,
        "category": r.category,
        "subtype": r.subtype,
        "category_label": category_label(r.category, r.subtype),
        "unit": r.unit,
        "unit_contact": contact,
        "received_at": iso_time(r.received_at),
        "due_date": due_date.isoformat() if due_date else None,
        "due_at": due_at,
        "provisional": provisional,
        "closed": bool(r.closed),
        "overdue": overdue,
        "days_left": days_left,
        "days_overdue": days_overdue,
        "citizen": citizen,  # the stored mask (schema/personal.py)
        "masked": True,
        "matter": matter,
    }


# ---------------------------------------------------------------- the roll-up


def daily_rollup(
    session: Session,
    policy: Policy,
    calendar: WorkCalendar,
    day: date,
    now: datetime,
    *,
    limit: int | None = None,
) -> dict[str, Any]:
    """The day's roll-up as of the end of that day (or now, for today); the first
    twelve keys are the original `daily-report --json` contract.

    `limit` (the terminal's view, never an export): each list of cases holds only its
    first `limit` cases, read so from the database, and the extra key `hidden` says
    how many each leaves out; the figures are the same either way."""
    check_not_future(day, now)
    # Each statement of the roll-up is made and run once: filing its compiled form in
    # SQLAlchemy's cache (a cache key walked out of every statement) only costs, about
    # a tenth of the roll-up's time. For the rest of this transaction (connection).
    session.connection().execution_options(compiled_cache=None)
    start, end = day_start(day), day_start(day + timedelta(days=1))
    cut = cutoff(end, now)
    tl = Timeline(session)
    # Every figure below counts open cases or what happened on the day, except the
    # total: the state may be just those cases (see case_state), the total is counted
    # apart.
    state = state_table(session, tl, cut, since=start)
    f = Figures(tl, state, cut)
    today = f.received_in(start)
    next_day = calendar.next_workday(day)
    due_next = and_(
        f.open,
        not_(f.overdue),
        func.substr(state.c.due_at, 1, 10) == next_day.isoformat(),
    )
    heads = session.execute(
        select(
            count_where(today),
            count_where(f.open),
            count_where(f.overdue),
            count_where(f.provisional),
            count_where(due_next),
        ).select_from(state)
    ).one()
    registered, open_n, overdue_n, provisional_n, due_next_n = heads
    running = with_rates(total_counts(session, tl, cut, overdue_n), policy)
    total = running["received"]  # every case received, not only those in the state

    by_category = {"unhandled": 0, "impossible": 0, "unclassified": 0}
    by_subtype = {"hard": 0, "misconduct": 0}
    for category, subtype, n in session.execute(
        select(state.c.category, state.c.subtype, count_where())
        .select_from(state)
        .where(today)
        .group_by(state.c.category, state.c.subtype)
    ).all():
        by_category[category or "unclassified"] = by_category.get(category or "unclassified", 0) + n
        if subtype:
            by_subtype[subtype] = by_subtype.get(subtype, 0) + n

    # Closures dated today, and the escalations and referrals made today.
    e = EVENTS.alias()
    closed_at = tl.text(tl.after(e, "closed_at"))
    # A closure is recorded no earlier than the time it names (close --at looks back,
    # never ahead), so those dated today were recorded today: the index on `at`
    # narrows the events to read before their JSON is.
    closed_today = and_(
        e.c.action == "close",
        e.c.at >= start,
        closed_at >= iso_time(start),
        closed_at < cut.before_iso,
    )
    close_rows = session.execute(
        select(
            state.c.number,
            state.c.unit,
            tl.after(e, "closed_at"),
            tl.after(e, "on_time"),
            tl.after(e, "outcome"),
            tl.after(e, "working_days_used"),
            CASES.c.citizen_mask,
            CASES.c.matter,
        )
        .select_from(e)
        .join(state, state.c.id == e.c.case_id)
        .join(CASES, CASES.c.id == e.c.case_id)
        .where(closed_today)
        .with_hint(e, BY_TIME, dialect_name="sqlite")
        .order_by(closed_at, state.c.number)
        .limit(limit)
    ).all()
    closed_cases = [
        {
            "number": number,
            "unit": unit,
            "closed_at": at,
            "on_time": on_time in (1, True, "true"),
            "outcome": outcome,
            "outcome_label": OUTCOMES.get(outcome or ""),
            "working_days_used": int(used) if used is not None else None,
            "citizen": citizen,
            "masked": True,
            "matter": matter,
        }
        for number, unit, at, on_time, outcome, used, citizen, matter in close_rows
    ]
    e2 = EVENTS.alias()
    acts = session.execute(
        select(e2.c.action, e2.c.at, state.c.number, state.c.unit, CASES.c.matter)
        .select_from(e2)
        .join(state, state.c.id == e2.c.case_id)
        .join(CASES, CASES.c.id == e2.c.case_id)
        .where(e2.c.action.in_(("escalate", "refer")), e2.c.at >= start, e2.c.at < cut.before)
        .order_by(e2.c.at, e2.c.id)
        .limit(limit)
    ).all()
    actions = [
        {
            "action": action,
            "action_label": ACTION_LABELS[action],
            "at": iso_time(at),
            "number": number,
            "unit": unit,
            "matter": matter,
        }
        for action, at, number, unit, matter in acts
    ]

    # The open cases (and today's new ones), listed with the state as of the cutoff.
    # `+ 0`: the few listed rows of the state drive the join, each case found by its
    # key; the temporary table has no statistics, so SQLite would rather scan every case.
    def listed(where: Any, *order: Any) -> list[dict[str, Any]]:
        found = session.execute(
            select(state, CASES.c.citizen_mask, CASES.c.matter, UNITS.c.contact)
            .join(CASES, CASES.c.id == state.c.id + 0)
            .join(UNITS, UNITS.c.name == state.c.unit, isouter=True)
            .where(where)
            .order_by(*order)
            .limit(limit)
        ).all()
        return [
            _case_row(r, r.citizen_mask, r.matter, r.contact or "", day, calendar, cut)
            for r in found
        ]

    by_due = (state.c.due_at.is_(None), state.c.due_at, state.c.number)
    if limit is None:
        rows = listed(or_(f.open, today), *by_due)
        open_cases = [r for r in rows if not r["closed"]]
        new_cases = sorted(
            (r for r in rows if r["received_at"] >= iso_time(start)), key=lambda r: r["number"]
        )
        overdue_cases = [r for r in open_cases if r["overdue"]]
        due_next_cases = [
            r for r in open_cases if not r["overdue"] and r["due_date"] == next_day.isoformat()
        ]
    else:
        # Each list's first `limit` cases, in the order the whole list has.
        open_cases = listed(f.open, *by_due)
        new_cases = listed(today, state.c.number)
        overdue_cases = listed(f.overdue, *by_due)
        due_next_cases = listed(due_next, *by_due)
    # Per unit: open and overdue at the cutoff, closed today.
    per_unit: dict[str | None, dict[str, int]] = {}
    for unit, o, d in session.execute(
        select(state.c.unit, count_where(f.open), count_where(f.overdue)).group_by(state.c.unit)
    ).all():
        per_unit[unit] = {"open": o, "overdue": d, "closed": 0}
    closed_n = on_time_n = replied_n = 0
    for unit, n, on_time, replied in session.execute(
        select(
            state.c.unit,
            count_where(),
            count_where(tl.true(tl.after(e, "on_time"))),
            count_where(tl.after(e, "outcome") == "replied"),
        )
        .select_from(e)
        .join(state, state.c.id == e.c.case_id)
        .where(closed_today)
        .with_hint(e, BY_TIME, dialect_name="sqlite")
        .group_by(state.c.unit)
    ).all():
        per_unit.setdefault(unit, {"open": 0, "overdue": 0, "closed": 0})["closed"] = n
        closed_n, on_time_n, replied_n = closed_n + n, on_time_n + on_time, replied_n + replied
    action_counts = dict.fromkeys(("escalate", "refer"), 0)
    for action, n in session.execute(
        select(e2.c.action, count_where())
        .where(e2.c.action.in_(("escalate", "refer")), e2.c.at >= start, e2.c.at < cut.before)
        .group_by(e2.c.action)
    ).all():
        action_counts[action] = n
    contacts = unit_contacts(session, [u for u in per_unit if u])
    by_unit = [
        {"unit": u, "contact": contacts.get(u, "") if u else "", **v}
        for u, v in per_unit.items()
        if any(v.values())
    ]
    by_unit.sort(key=lambda r: (r["unit"] is None, -r["overdue"], -r["open"], r["unit"] or ""))

    data: dict[str, Any] = {
        "date": day.isoformat(),
        "as_of": cut.as_of_iso,
        "registered": registered,
        "by_category": by_category,
        "closed": closed_n,
        "closed_on_time": on_time_n,
        "open": open_n,
        "overdue": overdue_n,
        "provisional": provisional_n,
        "escalated": action_counts["escalate"],
        "referred": action_counts["refer"],
        "total": total,
        "center": policy.center_name,
        "by_subtype": by_subtype,
        "closed_late": closed_n - on_time_n,
        "replied": replied_n,
        "next_workday": next_day.isoformat(),
        "due_next_workday": due_next_n,
        "by_unit": by_unit,
        "new_cases": new_cases,
        "closed_cases": closed_cases,
        "open_cases": open_cases,
        "overdue_cases": overdue_cases,
        "due_next_workday_cases": due_next_cases,
        "actions": actions,
        "running": running,
        "trend": trend(session, tl, calendar, day, cut, closed_on_day=closed_n),
    }
    if limit is not None:
        # How many each list leaves out: its figure, counted in SQL, less those listed.
        figures = {
            "new_cases": registered,
            "closed_cases": closed_n,
            "open_cases": open_n,
            "overdue_cases": overdue_n,
            "due_next_workday_cases": due_next_n,
            "actions": sum(action_counts.values()),
        }
        data["hidden"] = {
            key: max(0, n - len(data[key])) if len(data[key]) == limit else 0
            for key, n in figures.items()
        }
    return data


# ---------------------------------------------------------------- the trend


def trend(
    session: Session,
    tl: Timeline,
    calendar: WorkCalendar,
    day: date,
    cut: Cutoff,
    *,
    closed_on_day: int,
) -> list[dict[str, Any]]:
    """New and closed cases per day over the TREND_DAYS days ending with `day`.

    The closures of the days before `day` are the running totals kept per day
    (schema/totals.py: each close event counted on the day of its 办结时间, as here),
    a few rows instead of the JSON of a month's closures; those dated `day` itself
    before the cutoff are `closed_on_day`, the roll-up's own count of them."""
    from banbucheng.schema.totals import running_totals as totals

    first = day - timedelta(days=TREND_DAYS - 1)
    start = day_start(first)
    c = CASES.c
    received_day = tl.day_of(c.received_at)
    new = dict(
        session.execute(
            select(received_day, func.count())
            .where(c.received_at >= start, c.received_at < cut.before)
            .group_by(received_day)
        ).all()
    )
    closed = {
        str(d)[:10]: n
        for d, n in session.execute(
            select(totals.c.day, totals.c.n).where(
                totals.c.metric == "closed", totals.c.day >= first, totals.c.day < day
            )
        ).all()
    }
    closed[day.isoformat()] = closed_on_day
    new = {str(k)[:10]: v for k, v in new.items()}
    out = []
    for i in range(TREND_DAYS):
        d = first + timedelta(days=i)
        key = d.isoformat()
        out.append(
            {
                "date": key,
                "workday": calendar.is_workday(d),
                "registered": new.get(key, 0),
                "closed": closed.get(key, 0),
            }
        )
    return out
