"""The end-of-day roll-up (每日汇总), the 督办 lists and the period statistics.

Every figure is computed in SQL (COUNT ... FILTER, GROUP BY) over the store; Python
only divides the counts into rates and formats what a list shows.

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

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    Date,
    String,
    and_,
    case,
    cast,
    collate,
    literal,
    not_,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, func

from banbucheng.core.errors import InvalidInput, NotFound
from banbucheng.core.policy import CATEGORIES, SUBTYPES, Policy
from banbucheng.core.timeutil import BEIJING, human
from banbucheng.core.validate import mask_name
from banbucheng.deadlines import WorkCalendar
from banbucheng.domain.lifecycle import ACTION_LABELS, OPEN_STATUSES, OUTCOMES, SATISFACTION
from banbucheng.reports.exports import Chart, Column, Document, Section
from banbucheng.schema.models import Case, Event, Unit

TREND_DAYS = 30
UNDISPATCHED = "（未派单）"
LEVELS = tuple(SATISFACTION)  # very_satisfied .. very_dissatisfied


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


class _Timeline:
    """JSON look-ups into events.detail, written once for SQLite and PostgreSQL."""

    def __init__(self, session: Session) -> None:
        self.pg = session.get_bind().dialect.name == "postgresql"

    def after(self, event: Any, key: str) -> ColumnElement[Any]:
        """The value of `key` in the event's `after`; SQL NULL when absent or null."""
        if self.pg:
            from sqlalchemy.dialects.postgresql import JSONB

            return func.jsonb_extract_path_text(cast(event.detail, JSONB), "after", key)
        return func.json_extract(event.detail, f"$.after.{key}")

    def changed(self, event: Any, key: str) -> ColumnElement[bool]:
        """Whether the event changed `key` (its `after` has the key, even if null)."""
        if self.pg:
            from sqlalchemy.dialects.postgresql import JSONB

            return cast(event.detail, JSONB)["after"].has_key(key)  # type: ignore[no-any-return]
        return func.json_type(event.detail, f"$.after.{key}").is_not(None)

    def true(self, value: ColumnElement[Any]) -> ColumnElement[bool]:
        """A JSON boolean read by `after` is true (SQLite gives 1, PostgreSQL 'true')."""
        return value == ("true" if self.pg else 1)

    def text(self, value: ColumnElement[Any]) -> ColumnElement[Any]:
        """ISO timestamps compare as text; byte order on PostgreSQL whatever its locale."""
        return collate(value, "C") if self.pg else value

    def day_of(self, column: Any) -> ColumnElement[Any]:
        """The Beijing date of a stored time (stored as Beijing wall time)."""
        return cast(column, Date) if self.pg else func.date(column)


def _case_state(tl: _Timeline, cut: Cutoff) -> Any:
    """One row per case received before the cutoff, with its state as of the cutoff
    rebuilt from the timeline (see the module docstring).

    One pass over the events, never a subquery per case: each event that set a
    tracked value, or closed or reopened the case, becomes a (case, key, value) row;
    a window ranks each case's rows per key, newest first, and counts them; a GROUP BY
    turns the newest of each key into a column. That costs a scan and a sort of the
    events whatever the planner knows, so it stays linear on a store that was never
    analysed (a correlated subquery per case was planned through ix_events_action
    there, and the daily roll-up grew with the square of the cases)."""
    received = Case.received_at < cut.before
    untyped = literal(None, String)

    def rows(key: str, pick: Any, value: Any, e: Any) -> Any:
        return (
            select(
                e.case_id.label("case_id"),
                literal(key, String).label("k"),
                (cast(value, String) if tl.pg else value).label("v"),
                e.at.label("at"),
                e.id.label("eid"),
            )
            .select_from(e)
            .join(Case, Case.id == e.case_id)
            .where(received, pick)
        )

    def latest(key: str, action: str | None = None) -> Any:
        e = aliased(Event)
        which = e.action == action if action else tl.changed(e, key)
        # Events recorded with the registration count from the receipt on, so a matter
        # entered later with --at is classified from its receipt.
        visible = or_(e.at < cut.before, e.at == Case.registered_at)
        return rows(key, and_(which, visible), tl.after(e, key), e)

    closes, reopens = aliased(Event), aliased(Event)
    changes = union_all(
        # Every case gets a row, so the pivot below has one row per case.
        select(
            Case.id.label("case_id"),  # type: ignore[union-attr]
            literal("case", String).label("k"),
            untyped.label("v"),
            Case.registered_at.label("at"),  # type: ignore[attr-defined]
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
                closes.action == "close",
                tl.text(tl.after(closes, "closed_at")) < cut.before_iso,
            ),
            untyped,
            closes,
        ),
        rows(
            "reopens", and_(reopens.action == "reopen", reopens.at < cut.before), untyped, reopens
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
            Case.id.label("id"),  # type: ignore[union-attr]
            Case.number.label("number"),  # type: ignore[attr-defined]
            Case.received_at.label("received_at"),  # type: ignore[attr-defined]
            pivot.c.unit,
            pivot.c.category,
            pivot.c.subtype,
            pivot.c.due_at,
            pivot.c.provisional,
            pivot.c.closed,
        )
        .select_from(pivot)
        .join(Case, Case.id == pivot.c.case_id)
        .subquery("state")
    )


class _Figures:
    """The conditions every report shares, over the state subquery."""

    def __init__(self, tl: _Timeline, state: Any, cut: Cutoff) -> None:
        self.tl, self.s, self.cut = tl, state, cut
        self.open = not_(state.c.closed)
        self.overdue = and_(
            self.open,
            state.c.due_at.is_not(None),
            tl.text(state.c.due_at) < cut.as_of_iso,
        )
        self.provisional = and_(self.open, tl.true(state.c.provisional))

    def received_in(self, start: datetime | None) -> ColumnElement[bool]:
        if start is None:
            return self.s.c.received_at < self.cut.before
        return self.s.c.received_at >= start


def _count(condition: ColumnElement[bool] | None = None) -> Any:
    return func.count() if condition is None else func.count().filter(condition)


# ---------------------------------------------------------------- period metrics


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


def _unit_counts(
    session: Session, tl: _Timeline, cut: Cutoff, start: datetime | None
) -> dict[str | None, dict[str, int]]:
    """The counts of METRIC_KEYS per lead unit (None: not dispatched) for the period
    [start, cutoff); start None means since the first case. Four grouped queries."""
    state = _case_state(tl, cut)
    f = _Figures(tl, state, cut)
    out: dict[str | None, dict[str, int]] = {}

    def add(unit: str | None, key: str, n: int) -> None:
        out.setdefault(unit, dict.fromkeys(METRIC_KEYS, 0))[key] += n

    # Cases: received in the period, overdue and still open at the cutoff.
    rows = session.execute(
        select(state.c.unit, _count(f.received_in(start)), _count(f.overdue)).group_by(state.c.unit)
    ).all()
    for unit, received, overdue in rows:
        add(unit, "received", received)
        add(unit, "overdue_open", overdue)

    start_iso = iso_time(start) if start else None

    def dated(e: Any, key: str) -> list[ColumnElement[bool]]:
        moment = tl.text(tl.after(e, key))
        conds = [moment < cut.before_iso]
        if start_iso:
            conds.append(moment >= start_iso)
        return conds

    # Closures, dated by their recorded 办结时间.
    e = aliased(Event)
    outcome = tl.after(e, "outcome")
    rows = session.execute(
        select(
            state.c.unit,
            _count(),
            _count(tl.true(tl.after(e, "on_time"))),
            _count(outcome == "resolved"),
            _count(outcome == "replied"),
        )
        .select_from(e)
        .join(state, state.c.id == e.case_id)
        .where(e.action == "close", *dated(e, "closed_at"))
        .group_by(state.c.unit)
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
        select(state.c.unit, level, _count())
        .select_from(e)
        .join(state, state.c.id == e.case_id)
        .where(e.action == "visit", *dated(e, "visited_at"))
        .group_by(state.c.unit, level)
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
        select(state.c.unit, e.action, _count())
        .select_from(e)
        .join(state, state.c.id == e.case_id)
        .where(*conds)
        .group_by(state.c.unit, e.action)
    ).all()
    for unit, action, n in rows:
        add(unit, _EVENT_METRICS[action], n)
    return out


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


def _sum(rows: list[dict[str, int]]) -> dict[str, int]:
    return {k: sum(r[k] for r in rows) for k in METRIC_KEYS}


def _contacts(session: Session, names: list[str]) -> dict[str, str]:
    if not names:
        return {}
    rows = session.execute(select(Unit.name, Unit.contact).where(col(Unit.name).in_(names))).all()
    return {name: contact for name, contact in rows}


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
    tl = _Timeline(session)
    counts = _unit_counts(session, tl, cut, start)
    contacts = _contacts(session, [u for u in counts if u is not None])
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
    total = with_rates(_sum([counts[u] for u in counts]), policy)
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


# ---------------------------------------------------------------- the daily roll-up


def _category_label(category: str | None, subtype: str | None) -> str | None:
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
        "category_label": _category_label(r.category, r.subtype),
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
        "citizen": mask_name(citizen),
        "masked": True,
        "matter": matter,
    }


def daily_rollup(
    session: Session, policy: Policy, calendar: WorkCalendar, day: date, now: datetime
) -> dict[str, Any]:
    """The day's roll-up as of the end of that day (or now, for today); the first
    twelve keys are the original `daily-report --json` contract."""
    check_not_future(day, now)
    start, end = day_start(day), day_start(day + timedelta(days=1))
    cut = cutoff(end, now)
    tl = _Timeline(session)
    state = _case_state(tl, cut)
    f = _Figures(tl, state, cut)
    today = f.received_in(start)
    next_day = calendar.next_workday(day)
    due_next = and_(
        f.open,
        not_(f.overdue),
        func.substr(state.c.due_at, 1, 10) == next_day.isoformat(),
    )
    heads = session.execute(
        select(
            _count(today),
            _count(f.open),
            _count(f.overdue),
            _count(f.provisional),
            _count(due_next),
            _count(),
        ).select_from(state)
    ).one()
    registered, open_n, overdue_n, provisional_n, due_next_n, total = heads

    by_category = {"unhandled": 0, "impossible": 0, "unclassified": 0}
    by_subtype = {"hard": 0, "misconduct": 0}
    for category, subtype, n in session.execute(
        select(state.c.category, state.c.subtype, _count())
        .select_from(state)
        .where(today)
        .group_by(state.c.category, state.c.subtype)
    ).all():
        by_category[category or "unclassified"] = by_category.get(category or "unclassified", 0) + n
        if subtype:
            by_subtype[subtype] = by_subtype.get(subtype, 0) + n

    # Closures dated today, and the escalations and referrals made today.
    e = aliased(Event)
    closed_at = tl.text(tl.after(e, "closed_at"))
    closed_today = and_(
        e.action == "close", closed_at >= iso_time(start), closed_at < cut.before_iso
    )
    close_rows = session.execute(
        select(
            state.c.number,
            state.c.unit,
            tl.after(e, "closed_at"),
            tl.after(e, "on_time"),
            tl.after(e, "outcome"),
            tl.after(e, "working_days_used"),
            Case.citizen_name,
            Case.matter,
        )
        .select_from(e)
        .join(state, state.c.id == e.case_id)
        .join(Case, Case.id == e.case_id)
        .where(closed_today)
        .order_by(closed_at, state.c.number)
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
            "citizen": mask_name(citizen),
            "masked": True,
            "matter": matter,
        }
        for number, unit, at, on_time, outcome, used, citizen, matter in close_rows
    ]
    e2 = aliased(Event)
    acts = session.execute(
        select(e2.action, e2.at, state.c.number, state.c.unit, Case.matter)
        .select_from(e2)
        .join(state, state.c.id == e2.case_id)
        .join(Case, Case.id == e2.case_id)
        .where(col(e2.action).in_(("escalate", "refer")), e2.at >= start, e2.at < cut.before)
        .order_by(e2.at, e2.id)
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
    listed = session.execute(
        select(state, Case.citizen_name, Case.matter, Unit.contact)
        .join(Case, Case.id == state.c.id)
        .join(Unit, Unit.name == state.c.unit, isouter=True)
        .where(or_(f.open, today))
        .order_by(state.c.due_at.is_(None), state.c.due_at, state.c.number)
    ).all()
    rows = [
        _case_row(r, r.citizen_name, r.matter, r.contact or "", day, calendar, cut) for r in listed
    ]
    open_cases = [r for r in rows if not r["closed"]]
    new_cases = sorted(
        (r for r in rows if r["received_at"] >= iso_time(start)), key=lambda r: r["number"]
    )

    # Per unit: open and overdue at the cutoff, closed today.
    per_unit: dict[str | None, dict[str, int]] = {}
    for unit, o, d in session.execute(
        select(state.c.unit, _count(f.open), _count(f.overdue)).group_by(state.c.unit)
    ).all():
        per_unit[unit] = {"open": o, "overdue": d, "closed": 0}
    closed_n = on_time_n = replied_n = 0
    for unit, n, on_time, replied in session.execute(
        select(
            state.c.unit,
            _count(),
            _count(tl.true(tl.after(e, "on_time"))),
            _count(tl.after(e, "outcome") == "replied"),
        )
        .select_from(e)
        .join(state, state.c.id == e.case_id)
        .where(closed_today)
        .group_by(state.c.unit)
    ).all():
        per_unit.setdefault(unit, {"open": 0, "overdue": 0, "closed": 0})["closed"] = n
        closed_n, on_time_n, replied_n = closed_n + n, on_time_n + on_time, replied_n + replied
    action_counts = dict.fromkeys(("escalate", "refer"), 0)
    for action, n in session.execute(
        select(e2.action, _count())
        .where(col(e2.action).in_(("escalate", "refer")), e2.at >= start, e2.at < cut.before)
        .group_by(e2.action)
    ).all():
        action_counts[action] = n
    contacts = _contacts(session, [u for u in per_unit if u])
    by_unit = [
        {"unit": u, "contact": contacts.get(u, "") if u else "", **v}
        for u, v in per_unit.items()
        if any(v.values())
    ]
    by_unit.sort(key=lambda r: (r["unit"] is None, -r["overdue"], -r["open"], r["unit"] or ""))

    running = with_rates(_sum(list(_unit_counts(session, tl, cut, None).values())), policy)
    return {
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
        "overdue_cases": [r for r in open_cases if r["overdue"]],
        "due_next_workday_cases": [
            r for r in open_cases if not r["overdue"] and r["due_date"] == next_day.isoformat()
        ],
        "actions": actions,
        "running": running,
        "trend": trend(session, tl, calendar, day, cut),
    }


def trend(
    session: Session, tl: _Timeline, calendar: WorkCalendar, day: date, cut: Cutoff
) -> list[dict[str, Any]]:
    """New and closed cases per day over the TREND_DAYS days ending with `day`."""
    first = day - timedelta(days=TREND_DAYS - 1)
    start = day_start(first)
    received_day = tl.day_of(Case.received_at)
    new = dict(
        session.execute(
            select(received_day, func.count())
            .where(Case.received_at >= start, Case.received_at < cut.before)
            .group_by(received_day)
        ).all()
    )
    e = aliased(Event)
    closed_at = tl.text(tl.after(e, "closed_at"))
    closed_day = func.substr(tl.after(e, "closed_at"), 1, 10)
    closed = dict(
        session.execute(
            select(closed_day, func.count())
            .where(e.action == "close", closed_at >= iso_time(start), closed_at < cut.before_iso)
            .group_by(closed_day)
        ).all()
    )
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


# ---------------------------------------------------------------- 督办 lists


def _unit_id(session: Session, unit: str | None) -> int | None:
    if not unit:
        return None
    found = session.execute(select(Unit.id).where(Unit.name == unit.strip())).scalar()
    if found is None:
        raise NotFound(f"单位名录中没有「{unit.strip()[:40]}」（bbc units list 查看名录）")
    return found


def supervision(
    session: Session,
    calendar: WorkCalendar,
    now: datetime,
    *,
    within: int | None = None,
    unit: str | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """The 督办 list as of now: overdue cases (within None), or open cases not yet
    overdue that are due within `within` working days (0: today). Most urgent first,
    masked, with the lead unit's contact. Also returns how many cases are overdue
    (for the same unit filter), which the exit code reports."""
    from banbucheng.domain.queries import overdue_cases
    from banbucheng.domain.views import case_dicts

    unit_id = _unit_id(session, unit)
    late = overdue_cases(session, now, unit_id=unit_id)
    if within is None:
        cases = late
    else:
        if within < 0:
            raise InvalidInput("--within 应为0或正整数（工作日）")
        until = calendar.add_workdays(now.astimezone(BEIJING).date(), within)
        stmt = (
            select(Case)
            .where(
                col(Case.status).in_(OPEN_STATUSES),
                col(Case.due_at) >= now,
                col(Case.due_date) <= until,
            )
            .order_by(col(Case.due_at), col(Case.number))
        )
        if unit_id is not None:
            stmt = stmt.where(Case.unit_id == unit_id)
        cases = list(session.execute(stmt).scalars().all())
    rows = case_dicts(session, cases, now=now, calendar=calendar)
    contacts = _contacts(session, sorted({r["unit"] for r in rows if r["unit"]}))
    for r in rows:
        r["unit_contact"] = contacts.get(r["unit"], "") if r["unit"] else ""
    return rows, len(late)


# ---------------------------------------------------------------- documents

_CASE_COLUMNS = {
    "number": Column("number", "编号"),
    "unit": Column("unit", "主办单位"),
    "contact": Column("unit_contact", "联系方式"),
    "category": Column("category_label", "分类"),
    "received": Column("received_date", "受理日期"),
    "due": Column("due_date", "到期日", "due"),
    "left": Column("days_left", "剩余工作日", "int"),
    "late": Column("days_overdue", "超期工作日", "int"),
    "citizen": Column("citizen", "反映人"),
    "matter": Column("matter", "反映事项", width=50),
}


def _cols(*names: str) -> list[Column]:
    return [_CASE_COLUMNS[n] for n in names]


def _with_received_date(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for r in rows:
        r["received_date"] = (r.get("received_at") or "")[:10] or None
        r.setdefault("category_label", _category_label(r.get("category"), r.get("subtype")))
    return rows


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def daily_document(data: dict[str, Any]) -> Document:
    """The roll-up laid out for people: key figures, per unit, the lists, the trend."""
    cat, sub, run = data["by_category"], data["by_subtype"], data["running"]

    def fact(label: str, value: Any, text: str | None = None) -> dict[str, Any]:
        return {"label": label, "value": value, "text": str(value) if text is None else text}

    facts = [
        fact("截至", human(data["as_of"])),
        fact("今日新登记", data["registered"]),
        fact("　应办未办", cat["unhandled"]),
        fact("　　其中很难办", sub["hard"]),
        fact("　　其中不作为/吃拿卡要", sub["misconduct"]),
        fact("　完全不能", cat["impossible"]),
        fact("　待分类", cat["unclassified"]),
        fact(
            "今日办结",
            data["closed"],
            f"{data['closed']}（按期 {data['closed_on_time']}，超期 {data['closed_late']}）",
        ),
        fact("　其中答复不能办理", data["replied"]),
        fact("在办", data["open"]),
        fact("超期", data["overdue"]),
        fact(f"下一工作日（{data['next_workday']}）到期", data["due_next_workday"]),
        fact("期限暂定", data["provisional"]),
        fact("今日上报领导小组", data["escalated"]),
        fact("今日移交纪检组", data["referred"]),
        fact("累计受理", data["total"]),
        fact("累计办结（件次）", run["closed"]),
        fact(
            "累计按期办结率",
            _pct(run["on_time_rate"]),
            f"{_pct(run['on_time_rate'])}（按期 {run['closed_on_time']} ÷ "
            f"(办结 {run['closed']} + 超期未办结 {run['overdue_open']})）",
        ),
        fact(
            "累计满意率",
            _pct(run["satisfaction_rate"]),
            f"{_pct(run['satisfaction_rate'])}（回访 {run['visits']} 次）",
        ),
    ]
    unit_rows = [dict(r, unit=r["unit"] or UNDISPATCHED) for r in data["by_unit"]]
    open_rows = _with_received_date([dict(r) for r in data["open_cases"]])
    for r in open_rows:
        r["left_text"] = (
            f"超期{r['days_overdue']}个工作日"
            if r["overdue"]
            else ("—" if r["days_left"] is None else f"剩{r['days_left']}个工作日")
        )
    closed_rows = [
        dict(
            r,
            closed_time=human(r["closed_at"]) if r["closed_at"] else "",
            on_time_text="按期" if r["on_time"] else "超期",
        )
        for r in data["closed_cases"]
    ]
    trend_rows = [dict(r, weekday="是" if r["workday"] else "否") for r in data["trend"]]
    sections = [
        Section("summary", "汇总", [], facts, facts=True),
        Section(
            "units",
            "各单位",
            [
                Column("unit", "单位"),
                Column("contact", "联系方式"),
                Column("open", "在办", "int"),
                Column("overdue", "超期", "int"),
                Column("closed", "今日办结", "int"),
            ],
            unit_rows,
        ),
        Section(
            "overdue",
            "超期案件",
            _cols("number", "unit", "contact", "category", "due", "late", "citizen", "matter"),
            _with_received_date([dict(r) for r in data["overdue_cases"]]),
        ),
        Section(
            "due_next",
            f"下一工作日到期（{data['next_workday']}）",
            _cols("number", "unit", "contact", "category", "due", "citizen", "matter"),
            _with_received_date([dict(r) for r in data["due_next_workday_cases"]]),
        ),
        Section(
            "open",
            "在办案件",
            [
                *_cols("number", "unit", "category", "received", "due"),
                Column("left_text", "剩余/超期"),
                *_cols("citizen", "matter"),
            ],
            open_rows,
        ),
        Section(
            "new",
            "今日新登记",
            _cols("number", "category", "unit", "due", "citizen", "matter"),
            _with_received_date([dict(r) for r in data["new_cases"]]),
        ),
        Section(
            "closed",
            "今日办结",
            [
                Column("number", "编号"),
                Column("unit", "主办单位"),
                Column("closed_time", "办结时间"),
                Column("working_days_used", "用时（工作日）", "int"),
                Column("on_time_text", "按期"),
                Column("outcome_label", "结果"),
                Column("citizen", "反映人"),
                Column("matter", "反映事项", width=50),
            ],
            closed_rows,
        ),
        Section(
            "actions",
            "今日上报与移交",
            [
                Column("number", "编号"),
                Column("action_label", "类别"),
                Column("unit", "主办单位"),
                Column("matter", "反映事项", width=50),
            ],
            list(data["actions"]),
        ),
        Section(
            "trend",
            f"近{TREND_DAYS}天趋势",
            [
                Column("date", "日期", width=12),
                Column("weekday", "工作日"),
                Column("registered", "新登记", "int"),
                Column("closed", "办结", "int"),
            ],
            trend_rows,
        ),
    ]
    first, last = data["trend"][0]["date"], data["trend"][-1]["date"]
    chart = Chart(
        title=f"近{TREND_DAYS}天新登记与办结（{first} 至 {last}）",
        section="trend",
        x="date",
        series=("registered", "closed"),
        sheet="趋势图",
    )
    return Document(
        kind="daily",
        title=f"{data['center']} 办不成事反映窗口 每日汇总",
        subtitle=f"{data['date']}（截至 {data['as_of'][:16].replace('T', ' ')}）",
        data=data,
        as_of=datetime.fromisoformat(data["as_of"]),
        sections=sections,
        charts=[chart],
    )


def supervision_document(
    rows: list[dict[str, Any]], *, kind: str, now: datetime, within: int | None, center: str
) -> Document:
    data, rows = rows, _with_received_date([dict(r) for r in rows])
    if kind == "overdue":
        title = f"{center} 超期案件（{len(rows)} 件）"
        columns = _cols(
            "number", "unit", "contact", "category", "received", "due", "late", "citizen", "matter"
        )
    else:
        title = f"{center} {within} 个工作日内到期的案件（{len(rows)} 件）"
        columns = _cols(
            "number", "unit", "contact", "category", "received", "due", "left", "citizen", "matter"
        )
    stamp = now.astimezone(BEIJING).replace(microsecond=0)
    section = Section(
        kind,
        "超期案件" if kind == "overdue" else "即将到期",
        columns,
        rows,
        group_by="unit",
        group_label="unit_contact",
    )
    return Document(
        kind=kind,
        title=title,
        subtitle=f"截至 {stamp:%Y-%m-%d %H:%M}，按单位分组，最紧急的在前",
        data=data,
        as_of=stamp,
        sections=[section],
    )


_REPORT_COLUMNS = [
    Column("rank", "名次", "int"),
    Column("unit", "单位"),
    Column("received", "受理", "int"),
    Column("closed", "办结", "int"),
    Column("closed_on_time", "按期办结", "int"),
    Column("overdue_open", "超期未办结", "int"),
    Column("on_time_rate", "按期办结率", "rate"),
    Column("resolved", "已解决", "int"),
    Column("replied", "答复不能办理", "int"),
    Column("resolution_rate", "解决率", "rate"),
    Column("visits", "回访", "int"),
    Column("satisfaction_rate", "满意率", "rate"),
    Column("escalations", "上报", "int"),
    Column("referrals", "移交纪检", "int"),
    Column("extensions", "延期", "int"),
    Column("reopened", "重办", "int"),
    Column("score", "综合得分", "score"),
]


def report_document(data: dict[str, Any], *, center: str, label: str) -> Document:
    w = data["weights"]
    rows = [dict(r, unit=r["unit"] or UNDISPATCHED) for r in data["units"]]
    rows.append(dict(data["total"], unit="合计", rank=None))
    weights_text = (
        f"按期办结率 {w['on_time']:g}、解决率 {w['resolution']:g}、满意率 {w['satisfaction']:g}"
    )
    note = (
        "按期办结率 = 按期办结 ÷ (办结 + 超期未办结)；解决率 = 已解决 ÷ 办结；"
        f"满意率 = (非常满意 + 满意 + {data['basic_satisfaction']:g} × 基本满意) ÷ 回访；"
        f"综合得分 = 100 × 加权平均（权重 {weights_text}，无数据的比率不计入）"
    )
    section = Section("units", "各单位排名", _REPORT_COLUMNS, rows, note=note)
    # The ranked units come first in the table; the chart shows just them.
    ranked = sum(1 for r in data["units"] if r["rank"] is not None)
    chart = Chart(
        title=f"各单位综合得分（{label}）",
        section="units",
        x="unit",
        series=("score",),
        sheet="得分图",
        terminal="bars",
        y_title="综合得分",
        rows=ranked,
    )
    charts = [chart] if ranked else []
    return Document(
        kind="report",
        title=f"{center} 办不成事反映窗口 期间统计",
        subtitle=f"{label}（截至 {data['as_of'][:16].replace('T', ' ')}）",
        data=data,
        as_of=datetime.fromisoformat(data["as_of"]),
        sections=[section],
        charts=charts,
    )
