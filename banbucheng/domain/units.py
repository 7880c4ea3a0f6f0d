"""The unit directory: lead and helper units, inside the center or outside it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, func, select

from banbucheng.core.labels import OPEN_STATUSES
from banbucheng.domain.lifecycle import ensure_unit
from banbucheng.schema.models import Case, Unit
from banbucheng.store import Ctx


def add(ctx: Ctx, name: str, *, contact: str = "") -> tuple[bool, list[str]]:
    """Add a unit or update its contact. Returns (created, similar existing names)."""
    unit, created, similar = ensure_unit(ctx, name)
    if contact:
        unit.contact = contact
        ctx.session.add(unit)
    return created, similar


def directory(session: Session, now: datetime) -> list[dict[str, Any]]:
    is_open = col(Case.status).in_(OPEN_STATUSES)
    open_count = func.count(Case.id).filter(is_open)
    overdue_count = func.count(Case.id).filter(is_open, col(Case.due_at) < now)
    stmt = (
        select(Unit.name, Unit.contact, open_count, overdue_count, func.count(Case.id))
        .join(Case, Case.unit_id == Unit.id, isouter=True)
        .group_by(Unit.id, Unit.name, Unit.contact)
        .order_by(Unit.name)
    )
    return [
        {"name": n, "contact": c, "open": o, "overdue": d, "total": t}
        for n, c, o, d, t in session.exec(stmt).all()
    ]
