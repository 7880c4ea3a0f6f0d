"""Read-side queries: every count is computed in SQL, never by loading all cases."""

from __future__ import annotations

import re
from collections import namedtuple
from collections.abc import Iterator, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlmodel import Session, col, func, select

from banbucheng.core.errors import NotFound
from banbucheng.core.labels import OPEN_STATUSES
from banbucheng.core.timeutil import BEIJING
from banbucheng.core.validate import masked_echo
from banbucheng.schema.models import Case, Event, Unit


def list_cases(
    session: Session,
    *,
    statuses: Sequence[str] = (),
    category: str | None = None,
    subtype: str | None = None,
    unit: str | None = None,
    received_from: date | None = None,
    received_to: date | None = None,
    citizen_keys: Sequence[str] = (),
    last: int | None = None,
) -> list[Case]:
    """The cases that match, in order of receipt: all, or the latest `last` (--limit,
    or a screenful on a terminal). citizen_keys: keyed hashes of a phone, ID number or
    name (schema/citizens.py), each of which the case must have."""
    stmt = select(Case).where(
        *_filters(session, statuses, category, subtype, unit, received_from, received_to),
        *_citizen(citizen_keys),
    )
    if last:
        stmt = stmt.order_by(col(Case.received_at).desc(), col(Case.number).desc()).limit(last)
        return list(reversed(session.exec(stmt).all()))
    stmt = stmt.order_by(col(Case.received_at), col(Case.number))
    return list(session.exec(stmt).all())


BATCH = 500  # rows fetched, made into dicts and written at a time when streaming


def iter_cases(
    session: Session, *, batch: int = BATCH, limit: int | None = None, **filters: Any
) -> Iterator[list[Any]]:
    """list_cases in order of receipt (`limit`: the latest so many, as on the
    terminal), a batch at a time, as the database gives them
    (yield_per: a server-side cursor on PostgreSQL): a list of a million cases never
    sits in memory. Plain rows of the case's columns (attributes named as on Case),
    not ORM entities: building and tracking an entity per case was most of the time
    of `list --csv/--json`, and these rows are only read."""
    stmt = select(*Case.__table__.columns).where(  # type: ignore[attr-defined]
        *_filters(session, *_filter_args(filters)), *_citizen(filters.get("citizen_keys", ()))
    )
    if limit:
        latest = stmt.order_by(col(Case.received_at).desc(), col(Case.number).desc())
        chosen = latest.limit(limit).subquery()
        stmt = select(*chosen.c).order_by(chosen.c.received_at, chosen.c.number)
    else:
        stmt = stmt.order_by(col(Case.received_at), col(Case.number))
    result = session.connection().execute(stmt.execution_options(yield_per=batch))
    # A named tuple per case: read by attribute ten times faster than a Row.
    plain = namedtuple("CaseRow", result.keys())  # type: ignore[misc]
    for part in result.partitions(batch):
        yield [plain._make(row) for row in part]


def _batches(session: Session, stmt: Any, batch: int) -> Iterator[list[Case]]:
    result = session.exec(stmt.execution_options(yield_per=batch))
    for part in result.partitions(batch):
        yield list(part)


def _filter_args(filters: dict[str, Any]) -> tuple[Any, ...]:
    return (
        filters.get("statuses", ()),
        filters.get("category"),
        filters.get("subtype"),
        filters.get("unit"),
        filters.get("received_from"),
        filters.get("received_to"),
    )


def count_cases(session: Session, **filters: Any) -> int:
    """How many cases list_cases would give without a limit."""
    where = _filters(session, *_filter_args(filters)) + _citizen(filters.get("citizen_keys", ()))
    return session.exec(select(func.count()).select_from(Case).where(*where)).one()


def _citizen(keys: Sequence[str]) -> list[Any]:
    if not keys:
        return []
    # Defined on first use (schema/models_extra.py): a list without --phone/--name
    # never reads the citizens' keys.
    from banbucheng.schema.models import CitizenKey

    return [
        col(Case.id).in_(select(CitizenKey.case_id).where(CitizenKey.key == key)) for key in keys
    ]


def _filters(
    session: Session,
    statuses: Sequence[str],
    category: str | None,
    subtype: str | None,
    unit: str | None,
    received_from: date | None,
    received_to: date | None,
) -> list[Any]:
    where: list[Any] = []
    if statuses:
        where.append(col(Case.status).in_(statuses))
    if category:
        where.append(Case.category == category)
    if subtype:
        where.append(Case.subtype == subtype)
    if unit:
        unit_id = session.exec(select(Unit.id).where(Unit.name == unit)).first()
        if unit_id is None:
            raise NotFound(f"单位名录中没有「{masked_echo(unit)}」（bbc units 查看名录）")
        where.append(Case.unit_id == unit_id)
    if received_from:
        where.append(Case.received_at >= _start(received_from))
    if received_to:
        where.append(Case.received_at < _start(received_to + timedelta(days=1)))
    return where


def _overdue(now: datetime, unit_id: int | None) -> list[Any]:
    conds = [col(Case.status).in_(OPEN_STATUSES), col(Case.due_at) < now]
    if unit_id is not None:
        conds.append(Case.unit_id == unit_id)
    return conds


def overdue_cases(
    session: Session, now: datetime, *, unit_id: int | None = None, limit: int | None = None
) -> list[Case]:
    """Open cases past their deadline (of one lead unit, if given), the most late first
    (the first `limit` of them, if given)."""
    stmt = select(Case).where(*_overdue(now, unit_id)).order_by(col(Case.due_at), col(Case.number))
    if limit:
        stmt = stmt.limit(limit)
    return list(session.exec(stmt).all())


def iter_overdue(
    session: Session, now: datetime, *, unit_id: int | None = None, batch: int = BATCH
) -> Iterator[list[Case]]:
    """overdue_cases a batch at a time (see iter_cases)."""
    stmt = select(Case).where(*_overdue(now, unit_id)).order_by(col(Case.due_at), col(Case.number))
    yield from _batches(session, stmt, batch)


def overdue_count(session: Session, now: datetime, *, unit_id: int | None = None) -> int:
    """How many cases overdue_cases would list, counted by the database."""
    return session.exec(select(func.count()).select_from(Case).where(*_overdue(now, unit_id))).one()


def _start(day: date) -> datetime:
    return datetime.combine(day, time(0), BEIJING)


# ---------------------------------------------------------------- one case


def get_case(
    session: Session, number: str, *, for_update: bool = False, checked: bool | None = None
) -> Case:
    """The case by number. One fetched to act on (for_update, or checked) must agree
    with its own history first (check_record)."""
    wanted = number.strip().upper()
    # Typed bytes that are not text (lone surrogates) or control characters can be
    # neither looked up nor echoed back safely.
    if not wanted.isprintable() or len(wanted) > 40:
        raise NotFound("没有这个编号的案件（编号应形如 BB20210401-001）")
    # Prefixes are stored upper-case (policy), so this compares on the unique index.
    stmt = select(Case).where(Case.number == wanted)
    if for_update:
        stmt = stmt.with_for_update()
    case = session.exec(stmt).first()
    if case is None:
        # Echo it only when it looks like a case number: anything else typed here (a
        # phone number, a name) is not repeated back.
        if re.fullmatch(r"[A-Z\u4e00-\u9fff]{1,8}\d{8}-\d{3,}", wanted):
            raise NotFound(f"没有编号为 {wanted} 的案件")
        raise NotFound("没有这个编号的案件（编号应形如 BB20210401-001）")
    if for_update if checked is None else checked:
        check_record(session, case)
    return case


def check_record(session: Session, case: Case) -> None:
    """Refuse to act on a case whose row disagrees with its own events: a deadline
    computed from a forged start would otherwise become history (sealed.py)."""
    from banbucheng.core.errors import Tampered
    from banbucheng.core.labels import FIELD_LABELS
    from banbucheng.schema import sealed

    fields = sealed.check_case(session, case)
    if fields:
        shown = "、".join(FIELD_LABELS.get(f, f) for f in fields[:3])
        raise Tampered(
            f"案件 {case.number} 的记录与其历史不符（字段：{shown}），"
            "请先运行 bbc verify 查明，不能在被改动的记录上继续办理"
        )


def events_of(session: Session, case_id: int) -> list[Event]:
    stmt = select(Event).where(Event.case_id == case_id).order_by(Event.id)
    return list(session.exec(stmt).all())
