"""Read-side queries: every count is computed in SQL, never by loading all cases."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, or_
from sqlmodel import Session, col, func, select

from .errors import NotFound
from .lifecycle import OPEN_STATUSES
from .models import Case, Event, Unit
from .timeutil import BEIJING


def list_cases(
    session: Session,
    *,
    statuses: Sequence[str] = (),
    category: str | None = None,
    subtype: str | None = None,
    unit: str | None = None,
    received_from: date | None = None,
    received_to: date | None = None,
    limit: int | None = None,
) -> list[Case]:
    stmt = select(Case)
    if statuses:
        stmt = stmt.where(col(Case.status).in_(statuses))
    if category:
        stmt = stmt.where(Case.category == category)
    if subtype:
        stmt = stmt.where(Case.subtype == subtype)
    if unit:
        unit_id = session.exec(select(Unit.id).where(Unit.name == unit)).first()
        if unit_id is None:
            raise NotFound(f"单位名录中没有「{unit[:40]}」（bbc units 查看名录）")
        stmt = stmt.where(Case.unit_id == unit_id)
    if received_from:
        stmt = stmt.where(Case.received_at >= _start(received_from))
    if received_to:
        stmt = stmt.where(Case.received_at < _start(received_to + timedelta(days=1)))
    stmt = stmt.order_by(col(Case.received_at), col(Case.number))
    if limit:
        stmt = stmt.limit(limit)
    return list(session.exec(stmt).all())


def overdue_cases(session: Session, now: datetime) -> list[Case]:
    """Open cases past their deadline, the most late first."""
    stmt = (
        select(Case)
        .where(col(Case.status).in_(OPEN_STATUSES), col(Case.due_at) < now)
        .order_by(col(Case.due_at), col(Case.number))
    )
    return list(session.exec(stmt).all())


def _start(day: date) -> datetime:
    return datetime.combine(day, time(0), BEIJING)


def _count(session: Session, *conditions: Any) -> int:
    return session.exec(select(func.count()).select_from(Case).where(*conditions)).one()


def daily_summary(session: Session, day: date, now: datetime) -> dict[str, Any]:
    """The day's roll-up, as of the end of that day (or now, if the day is today), so a
    report for a past date always gives the same figures."""
    start, end = _start(day), _start(day + timedelta(days=1))
    as_of = min(now, end)
    received_today = and_(Case.received_at >= start, Case.received_at < end)
    closed_today = and_(Case.closed_at >= start, Case.closed_at < end)
    open_at = and_(Case.received_at < as_of, or_(Case.closed_at == None, Case.closed_at >= as_of))  # noqa: E711
    by_category_rows = session.exec(
        select(Case.category, func.count()).where(received_today).group_by(Case.category)
    ).all()
    by_category = {"unhandled": 0, "impossible": 0, "unclassified": 0}
    for category, n in by_category_rows:
        by_category[category or "unclassified"] = n

    def events(action: str) -> int:
        stmt = (
            select(func.count())
            .select_from(Event)
            .where(Event.action == action, Event.at >= start, Event.at < end)
        )
        return session.exec(stmt).one()

    return {
        "date": day.isoformat(),
        "as_of": as_of.astimezone(BEIJING).isoformat(timespec="seconds"),
        "registered": _count(session, received_today),
        "by_category": by_category,
        "closed": _count(session, closed_today),
        "closed_on_time": _count(session, closed_today, Case.on_time == True),  # noqa: E712
        "open": _count(session, open_at),
        "overdue": _count(session, open_at, col(Case.due_at) < as_of),
        "provisional": _count(session, open_at, Case.provisional == True),  # noqa: E712
        "escalated": events("escalate"),
        "referred": events("refer"),
        "total": _count(session, Case.received_at < as_of),
    }
