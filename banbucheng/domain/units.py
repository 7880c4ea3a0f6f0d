"""The unit directory: lead and helper units, inside the center or outside it.

A unit's row (its id, contact and when it was added) is part of the sealed record:
adding a unit or changing its contact is a store-level event whose `units` section
holds the row as it now is (schema/history.py), so `verify` notices a unit added,
renamed, renumbered or edited behind the tool's back.
"""

from __future__ import annotations

import difflib
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, func, select

from banbucheng.core.labels import OPEN_STATUSES
from banbucheng.domain import changes as store_events
from banbucheng.schema.history import unit_state
from banbucheng.schema.models import Case, CaseHelper, Unit
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
    store_events.record(
        ctx, "unit_add", {"units": {name: None}}, {"units": {name: unit_state(unit)}}, text=name
    )
    return unit, True, similar


def unit_name(session: Session, unit_id: int | None) -> str | None:
    if unit_id is None:
        return None
    unit = session.get(Unit, unit_id)
    return unit.name if unit else None


def helper_names(ctx: Ctx, case: Case | Any) -> list[str]:
    """A case's helper units, by name (a batch case's from the batch)."""
    if ctx.batch is not None:
        return ctx.batch.helper_names(case)
    stmt = (
        select(Unit.name)
        .join(CaseHelper, CaseHelper.unit_id == Unit.id)
        .where(CaseHelper.case_id == case.id)
        .order_by(Unit.name)
    )
    return list(ctx.session.exec(stmt).all())


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
    if contact and unit.contact != contact:
        before = unit_state(unit)
        unit.contact = contact
        ctx.session.add(unit)
        ctx.session.flush()
        store_events.record(
            ctx,
            "unit_edit",
            {"units": {unit.name: before}},
            {"units": {unit.name: unit_state(unit)}},
            text=unit.name,
        )
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
