"""Read-side queries: every count is computed in SQL, never by loading all cases."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlmodel import Session, col, func, select

from banbucheng.core.errors import NotFound
from banbucheng.core.labels import OPEN_STATUSES
from banbucheng.core.timeutil import BEIJING
from banbucheng.schema.models import Case, Unit


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


def _overdue(now: datetime, unit_id: int | None) -> list[Any]:
    conds = [col(Case.status).in_(OPEN_STATUSES), col(Case.due_at) < now]
    if unit_id is not None:
        conds.append(Case.unit_id == unit_id)
    return conds


def overdue_cases(session: Session, now: datetime, *, unit_id: int | None = None) -> list[Case]:
    """Open cases past their deadline (of one lead unit, if given), the most late first."""
    stmt = select(Case).where(*_overdue(now, unit_id)).order_by(col(Case.due_at), col(Case.number))
    return list(session.exec(stmt).all())


def overdue_count(session: Session, now: datetime, *, unit_id: int | None = None) -> int:
    """How many cases overdue_cases would list, counted by the database."""
    return session.exec(select(func.count()).select_from(Case).where(*_overdue(now, unit_id))).one()


def _start(day: date) -> datetime:
    return datetime.combine(day, time(0), BEIJING)
