"""Repeats (重复反映): the same citizen about a similar matter within a window of days.

The same citizen means the same phone number or ID number. They are compared as
keyed hashes (HMAC-SHA256 with a random secret made for each store on first use and
kept in its settings table), so the index of citizens holds no personal data and a
copy of it is useless without the store's secret. A similar matter means the two
matters resemble each other (bigrams.resemblance) at least `repeat.min_similarity`
percent; the same citizen with a different matter is not a repeat.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import Session, col, func, select

from banbucheng.schema.models import Case


def repeat_count(session: Session, start: date | datetime, end: date | datetime) -> int:
    """Cases received in the period that repeat an earlier one, for period reports (the
    repeat rate is this over the cases received). Dates are whole days with `end`
    included; datetimes are [start, end)."""
    from banbucheng.knowledge.mechanisms import period_bounds

    lo, hi = period_bounds(start, end)
    stmt = (
        select(func.count())
        .select_from(Case)
        .where(
            col(Case.repeat_of_id).is_not(None),
            col(Case.received_at) >= lo,
            col(Case.received_at) < hi,
        )
    )
    return session.exec(stmt).one()
