"""`bbc import`'s check against the store: rows whose receipt time, phone and matter
a stored case already has (trust/importer.py reports them and leaves them out)."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select

from banbucheng.schema.citizens import lookup_keys
from banbucheng.schema.models import Case, CitizenKey


def stored_duplicates(ctx: Any, rows: list[Any]) -> dict[tuple[Any, ...], str]:
    """Stored cases with the same receipt time, phone and matter as a row, read for
    all rows at once: (received_at, phone, matter) → case number."""
    if not rows:
        return {}
    ring = ctx.require_keyring("无法核对重复的行，未导入")
    times = sorted({row.received_at for row in rows})
    by_key: dict[tuple[Any, ...], str] = {}
    # A first import (an empty store, or none of its cases received in the sheet's
    # period) has nothing to compare: one indexed look instead of the IN lists.
    span = col(Case.received_at).between(times[0], times[-1])
    if ctx.session.exec(select(Case.id).where(span).limit(1)).first() is None:
        return {}
    for i in range(0, len(times), 500):
        stmt = (
            select(Case.received_at, CitizenKey.key, Case.matter, Case.number)
            .join(CitizenKey, CitizenKey.case_id == Case.id)  # type: ignore[arg-type]
            .where(col(Case.received_at).in_(times[i : i + 500]))
            .order_by(col(Case.id))
        )
        for received, key, matter, number in ctx.session.exec(stmt).all():
            by_key.setdefault((received, key, matter), number)
    near = {(received, matter) for received, _, matter in by_key}
    found: dict[tuple[Any, ...], str] = {}
    for row in rows:  # the phone compared by its keyed hash (the store holds no clear
        if (row.received_at, row.matter) in near:  # phone), made only where it can match
            key = (lookup_keys(ring, phone=row.phone) or [None])[0]
            number = by_key.get((row.received_at, key, row.matter))
            if number is not None and key is not None:
                found[(row.received_at, row.phone, row.matter)] = number
    return found
