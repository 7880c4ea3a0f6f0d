"""The unit directory: lead and helper units, inside the center or outside it."""

from __future__ import annotations

import difflib
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, func, select

from banbucheng.core.labels import OPEN_STATUSES
from banbucheng.schema.models import Case, Unit
from banbucheng.store import Ctx


def ensure_unit(ctx: Ctx, name: str) -> tuple[Unit, bool, list[str]]:
    """The unit by name, added to the directory when new. Returns (unit, created, the
    similar existing names when created, so a typo surfaces)."""
    from banbucheng.core.validate import clean_text

    name = clean_text(name, field="单位名称", max_len=60)
    batch = ctx.batch  # bbc import: looked up once, written with the batch
    if batch is not None:
        unit = batch.unit(name)
    else:
        unit = ctx.session.exec(select(Unit).where(Unit.name == name)).first()
    if unit is not None:
        return unit, False, []
    names = batch.unit_names() if batch is not None else ctx.session.exec(select(Unit.name))
    similar = similar_unit_names(name, list(names))
    unit = Unit(name=name, created_at=ctx.now)
    if batch is not None:
        batch.add_unit(unit)
    else:
        ctx.session.add(unit)
        ctx.session.flush()
    return unit, True, similar


def similar_unit_names(name: str, existing: list[str]) -> list[str]:
    """Existing unit names a new name may be a slip for: one inside the other, or close."""
    similar = [n for n in existing if n != name and (name in n or n in name)]
    for n in difflib.get_close_matches(name, existing, n=3, cutoff=0.6):
        if n not in similar and n != name:
            similar.append(n)
    return similar


def new_unit_notice(name: str, similar: list[str]) -> str:
    text = f"新单位「{name}」已加入单位名录"
    if similar:
        text += f"；相似的已有单位：{'、'.join(similar)}，如为笔误请核对"
    return text


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
