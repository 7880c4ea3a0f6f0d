"""Deadlines brought in line with the calendar and the policy as they now stand.

A deadline is *live* while its case is open, and also after the case closed if it was
still provisional then (closed against an estimate: its deadline, days used and
on-time verdict follow the calendar once it is known). Every other closed case keeps
the deadline it was judged by.

A calendar change recomputes, in its own transaction, the live cases it can affect,
selected in SQL rather than by a loop over all cases: the provisional ones, and those
whose counting window (from the receipt or reopening day to the due day) contains a
changed day. A day outside that window cannot move the deadline: the due day is the
N-th working day after the start, which depends on the days in between only (and on
the start day itself under nonworking_receipt=next). Each deadline that changes gets
one recompute event with its before and after. `stale` is doctor's full check: every
live deadline recomputed in memory, nothing written.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_
from sqlmodel import col, select

from banbucheng.core.labels import OPEN_STATUSES, tracked_state
from banbucheng.core.timeutil import BEIJING
from banbucheng.domain.lifecycle import apply_deadline, record_recompute
from banbucheng.schema.models import Case
from banbucheng.store import Ctx


def live() -> ColumnElement[bool]:
    """Cases whose deadline follows the calendar and the policy (module docstring)."""
    return and_(
        col(Case.limit_days).is_not(None),
        or_(col(Case.status).in_(OPEN_STATUSES), col(Case.closed_provisional).is_(True)),
    )


def runs(days: Iterable[date]) -> list[tuple[date, date]]:
    """Consecutive days as (first, last) ranges, in order."""
    out: list[tuple[date, date]] = []
    for d in sorted(set(days)):
        if out and d == out[-1][1] + timedelta(days=1):
            out[-1] = (out[-1][0], d)
        else:
            out.append((d, d))
    return out


def touching(days: Iterable[date]) -> ColumnElement[bool]:
    """Provisional deadlines, and those whose window [start day, due day] meets a day."""
    windows = [
        and_(
            col(Case.clock_start) < datetime.combine(last + timedelta(days=1), time(0), BEIJING),
            col(Case.due_date) >= first,
        )
        for first, last in runs(days)
    ]
    return or_(col(Case.provisional).is_(True), *windows) if windows else false()


def _change(case: Case, before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    changed = [k for k in after if before.get(k) != after[k]]
    return {
        "number": case.number,
        "status": case.status,
        "before": {k: before.get(k) for k in changed},
        "after": {k: after[k] for k in changed},
    }


def recompute(ctx: Ctx, where: ColumnElement[bool], *, text: str) -> list[dict[str, Any]]:
    """Recompute the live cases `where` selects with ctx's calendar and policy; record
    one event per deadline that changed. Returns the changes, by case number."""
    stmt = select(Case).where(live(), where).order_by(col(Case.id))
    changes = []
    for case in ctx.session.exec(stmt).all():
        before = tracked_state(case)
        apply_deadline(ctx, case)
        after = tracked_state(case)
        if after != before:
            record_recompute(ctx, case, before, text=text)
            changes.append(_change(case, before, after))
    return changes


def stale(ctx: Ctx) -> list[dict[str, Any]]:
    """Every live deadline that differs from a fresh computation (read-only: each case
    is recomputed on a detached copy)."""
    out = []
    # Streamed (doctor at 10^6 cases held every live case, 33,000 entities, at once).
    stmt = select(Case).where(live()).order_by(col(Case.id)).execution_options(yield_per=500)
    for case in ctx.session.exec(stmt):
        copy = Case()  # detached: never flushed, whatever apply_deadline does to it
        for name in Case.model_fields:
            setattr(copy, name, getattr(case, name))
        before = tracked_state(case)
        apply_deadline(ctx, copy)
        after = tracked_state(copy)
        if after != before:
            out.append(_change(case, before, after))
    return out
