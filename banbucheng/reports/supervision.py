"""The 督办 lists: the overdue cases, or the open cases due within N working days, as
of now, most urgent first, with each lead unit's contact. The layout for people is
layouts.supervision_document.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col, func

from banbucheng.core.errors import InvalidInput, NotFound
from banbucheng.core.labels import OPEN_STATUSES
from banbucheng.core.timeutil import BEIJING
from banbucheng.core.validate import masked_echo
from banbucheng.deadlines import WorkCalendar
from banbucheng.reports.timeline import unit_contacts
from banbucheng.schema.models import Case, Unit


def _unit_id(session: Session, unit: str | None) -> int | None:
    if not unit:
        return None
    found = session.execute(select(Unit.id).where(Unit.name == unit.strip())).scalar()
    if found is None:
        raise NotFound(f"单位名录中没有「{masked_echo(unit)}」（bbc units list 查看名录）")
    return found


def overdue_rows(
    session: Session, calendar: WorkCalendar, now: datetime, *, unit: str | None = None
) -> tuple[Iterator[dict[str, Any]], int]:
    """The overdue list as `supervision` gives it, a row at a time as the database
    reads them (for --json and --csv of a list too long to hold), and how many."""
    from banbucheng.domain.queries import iter_overdue, overdue_count
    from banbucheng.domain.views import stream_case_dicts

    unit_id = _unit_id(session, unit)
    contacts: dict[str, str] = dict(session.execute(select(Unit.name, Unit.contact)).all())  # type: ignore[arg-type]
    late = overdue_count(session, now, unit_id=unit_id)
    batches = iter_overdue(session, now, unit_id=unit_id)

    def rows() -> Iterator[dict[str, Any]]:
        for r in stream_case_dicts(session, batches, now=now, calendar=calendar):
            r["unit_contact"] = contacts.get(r["unit"], "") if r["unit"] else ""
            yield r

    return rows(), late


def _due_soon(calendar: WorkCalendar, now: datetime, within: int, unit_id: int | None) -> list[Any]:
    """The conditions of the due-soon list: open, not yet overdue, due within `within`
    working days."""
    if within < 0:
        raise InvalidInput("--within 应为0或正整数（工作日）")
    until = calendar.add_workdays(now.astimezone(BEIJING).date(), within)
    where = [
        col(Case.status).in_(OPEN_STATUSES),
        col(Case.due_at) >= now,
        col(Case.due_date) <= until,
    ]
    if unit_id is not None:
        where.append(Case.unit_id == unit_id)
    return where


def due_count(
    session: Session,
    calendar: WorkCalendar,
    now: datetime,
    *,
    within: int,
    unit: str | None = None,
) -> int:
    """How many cases the due-soon list (supervision with `within`) holds, counted by
    the database: the terminal shows only the first of them."""
    where = _due_soon(calendar, now, within, _unit_id(session, unit))
    return session.execute(select(func.count()).select_from(Case).where(*where)).scalar_one()


def supervision(
    session: Session,
    calendar: WorkCalendar,
    now: datetime,
    *,
    within: int | None = None,
    unit: str | None = None,
    limit: int | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """The 督办 list as of now: overdue cases (within None), or open cases not yet
    overdue that are due within `within` working days (0: today). Most urgent first,
    masked, with the lead unit's contact. Also returns how many cases are overdue
    (for the same unit filter), which the exit code reports. `limit`: only the first
    so many cases of the list (the overdue count is still of them all; due_count
    counts a due-soon list)."""
    from banbucheng.domain.queries import overdue_cases, overdue_count
    from banbucheng.domain.views import case_dicts

    unit_id = _unit_id(session, unit)
    if within is None:
        cases = overdue_cases(session, now, unit_id=unit_id, limit=limit)
        late = len(cases)
        if limit is not None and late == limit:
            late = overdue_count(session, now, unit_id=unit_id)
    else:
        stmt = (
            select(Case)
            .where(*_due_soon(calendar, now, within, unit_id))
            .order_by(col(Case.due_at), col(Case.number))
        )
        if limit is not None:
            stmt = stmt.limit(limit)
        cases = list(session.execute(stmt).scalars().all())
        late = overdue_count(session, now, unit_id=unit_id)  # counted, never loaded
    rows = case_dicts(session, cases, now=now, calendar=calendar)
    contacts = unit_contacts(session, sorted({r["unit"] for r in rows if r["unit"]}))
    for r in rows:
        r["unit_contact"] = contacts.get(r["unit"], "") if r["unit"] else ""
    return rows, late
