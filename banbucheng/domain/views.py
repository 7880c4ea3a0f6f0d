"""Cases as plain dicts: the JSON contract (stable English keys) and what tables show.

Personal data is masked here unless `reveal` is asked for explicitly.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, col, select

from banbucheng.core.keyring import Keyring
from banbucheng.core.labels import (
    ACTION_LABELS,
    CHANNELS,
    DOCUMENTS,
    FIELD_LABELS,
    OUTCOMES,
    PERSONAL_FIELDS,
    SATISFACTION,
    STATUS_LABELS,
)
from banbucheng.core.policy import CATEGORIES, SUBTYPES
from banbucheng.core.timeutil import BEIJING, human
from banbucheng.deadlines import WorkCalendar, working_days_late
from banbucheng.schema import personal
from banbucheng.schema.models import CASE_HELPERS, Case, Event, Unit


def iso(value: datetime | date | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(BEIJING).isoformat(timespec="seconds")
    return value.isoformat()


def _unit_names(session: Session, cases: Sequence[Case]) -> dict[int, str]:
    ids = {c.unit_id for c in cases if c.unit_id is not None}
    if not ids:
        return {}
    rows = session.exec(select(Unit.id, Unit.name).where(Unit.id.in_(ids))).all()  # type: ignore[union-attr]
    return dict(rows)  # type: ignore[arg-type]


def _helpers(session: Session, cases: Sequence[Case]) -> dict[int, list[str]]:
    ids = [c.id for c in cases]
    out: dict[int, list[str]] = {}
    if not ids:
        return out
    stmt = (
        select(CASE_HELPERS.c.case_id, Unit.name)
        .join(Unit, Unit.id == CASE_HELPERS.c.unit_id)
        .where(CASE_HELPERS.c.case_id.in_(ids))
        .order_by(Unit.name)
    )
    for case_id, name in session.exec(stmt).all():
        out.setdefault(case_id, []).append(name)
    return out


def _masks(case: Case) -> dict[str, str | None]:
    return {"citizen": case.citizen_mask, "phone": case.phone_mask, "id_number": case.id_mask}


def case_dicts(
    session: Session,
    cases: Sequence[Case],
    *,
    now: datetime,
    calendar: WorkCalendar,
    reveal: bool = False,
    keyring: Keyring | None = None,
) -> list[dict[str, Any]]:
    """reveal: the clear personal data, decrypted with the keyring (refused without)."""
    units = _unit_names(session, cases)
    helpers = _helpers(session, cases)
    today = now.astimezone(BEIJING).date()
    out = []
    for c in cases:
        is_open = c.status != "closed"
        overdue = bool(is_open and c.due_at is not None and now > c.due_at)
        days_left = None
        days_overdue = None
        if is_open and c.due_date is not None:
            if overdue:
                days_overdue = working_days_late(c.due_date, today, calendar)
            else:
                days_left = calendar.workdays_between(today, c.due_date)
        out.append(
            {
                "number": c.number,
                "status": c.status,
                "status_label": STATUS_LABELS[c.status],
                "category": c.category,
                "category_label": CATEGORIES.get(c.category or ""),
                "subtype": c.subtype,
                "subtype_label": SUBTYPES.get(c.subtype or ""),
                "channel": c.channel,
                "channel_label": CHANNELS.get(c.channel, c.channel),
                **(personal.reveal(c, keyring) if reveal else _masks(c)),
                "masked": not reveal,
                "matter": c.matter,
                "department": c.department,
                "unit": units.get(c.unit_id) if c.unit_id is not None else None,
                "helpers": helpers.get(c.id, []),  # type: ignore[arg-type]
                "received_at": iso(c.received_at),
                "registered_at": iso(c.registered_at),
                "registered_by": c.registered_by,
                "limit_days": c.limit_days,
                "due_date": iso(c.due_date),
                "due_at": iso(c.due_at),
                "provisional": c.provisional,
                "dispatched_at": iso(c.dispatched_at),
                "unit_due_at": iso(c.unit_due_at),
                "days_left": days_left,
                "overdue": overdue,
                "days_overdue": days_overdue,
                "escalated_at": iso(c.escalated_at),
                "referred_at": iso(c.referred_at),
                "closed_at": iso(c.closed_at),
                "outcome": c.outcome,
                "outcome_label": OUTCOMES.get(c.outcome or ""),
                "result": c.result,
                "mechanism": c.mechanism,
                "working_days_used": c.working_days_used,
                "on_time": c.on_time,
                "satisfaction": c.satisfaction,
                "satisfaction_label": SATISFACTION.get(c.satisfaction or ""),
                "visited_at": iso(c.visited_at),
                "reopen_count": c.reopen_count,
            }
        )
    annotate(session, cases, out)
    return out


def stream_case_dicts(
    session: Session,
    batches: Iterable[Sequence[Case]],
    *,
    now: datetime,
    calendar: WorkCalendar,
) -> Iterator[dict[str, Any]]:
    """case_dicts over batches of cases, one row at a time: each batch's units, helpers
    and links are looked up together, and nothing is kept once yielded."""
    for cases in batches:
        yield from case_dicts(session, cases, now=now, calendar=calendar)


def event_dicts(events: Sequence[Event]) -> list[dict[str, Any]]:
    out = []
    for e in events:
        detail = json.loads(e.detail)
        row = {
            "at": iso(e.at),
            "actor": e.actor,
            "action": e.action,
            "action_label": ACTION_LABELS.get(e.action, e.action),
            "text": detail.get("text", ""),
            "before": detail.get("before", {}),
            "after": detail.get("after", {}),
        }
        row["changes"] = describe_changes(row)
        out.append(row)
    return out


_VALUE_LABELS: dict[str, dict[str, str]] = {
    "status": STATUS_LABELS,
    "category": CATEGORIES,
    "subtype": SUBTYPES,
    "outcome": OUTCOMES,
    "satisfaction": SATISFACTION,
    "channel": CHANNELS,
    "document": DOCUMENTS,
    "revealed": PERSONAL_FIELDS,
}
# Derived from due_at or repeated elsewhere in the line: left out of the timeline.
_QUIET = {"due_date"}


def _value_text(key: str, value: Any) -> str:
    if value is None or value == []:
        return "—"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, list):
        labels = _VALUE_LABELS.get(key, {})
        return "、".join(labels.get(v, str(v)) for v in value)
    if key in _VALUE_LABELS:
        return _VALUE_LABELS[key].get(value, str(value))
    text = str(value)
    if len(text) == 25 and text[10] == "T":  # an ISO time with offset
        return human(text)
    return text


def describe_changes(event: dict[str, Any]) -> str:
    """One line of '字段：旧 → 新' for the timeline, in the staff's words."""
    return "；".join(change_parts(event))


def change_parts(event: dict[str, Any]) -> list[str]:
    """Each field an event changed, as '字段：旧 → 新' (or '字段：新' when set)."""
    parts = []
    for key, new in event["after"].items():
        if key in _QUIET:
            continue
        label = FIELD_LABELS.get(key, key)
        if key in event["before"]:
            old, text = _value_text(key, event["before"][key]), _value_text(key, new)
            if old != text:  # e.g. no helpers before and after: nothing to show
                parts.append(f"{label}：{old} → {text}")
        else:
            parts.append(f"{label}：{_value_text(key, new)}")
    return parts


# ---------------------------------------------------------------- mechanisms, repeats


def links_for(session: Session, case_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """case id → {mechanism_id, name, role, issued, decider} for closed cases."""
    if not case_ids:
        return {}
    # Read through plain tables: the mapped classes are defined on first use
    # (models_extra.py), which showing a case does not need.
    from banbucheng.schema.models import MECHANISM_CASES as links
    from banbucheng.schema.models import MECHANISMS as m

    stmt = (
        select(links.c.case_id, m.c.id, m.c.name, links.c.role, m.c.issued, m.c.decider)
        .join(m, m.c.id == links.c.mechanism_id)
        .join(Case, col(Case.id) == links.c.case_id)
        .where(links.c.case_id.in_(case_ids), Case.status == "closed")
    )
    return {
        case_id: {"id": mid, "name": name, "role": role, "issued": issued, "decider": decider}
        for case_id, mid, name, role, issued, decider in session.exec(stmt).all()
    }


def annotate(session: Session, cases: Sequence[Case], rows: list[dict[str, Any]]) -> None:
    """Add the knowledge keys to case_dicts rows: `repeat_of` (the earlier
    case's number or null), `mechanism_id` and `mechanism_role` (source / served)."""
    ids = [c.id for c in cases if c.id is not None]
    links = links_for(session, ids)  # type: ignore[arg-type]
    earlier_ids = {c.repeat_of_id for c in cases if c.repeat_of_id is not None}
    numbers: dict[int, str] = {}
    if earlier_ids:
        numbers = dict(
            session.exec(select(Case.id, Case.number).where(col(Case.id).in_(earlier_ids))).all()  # type: ignore[arg-type]
        )
    for case, row in zip(cases, rows, strict=True):
        found = links.get(case.id)  # type: ignore[arg-type]
        row["repeat_of"] = numbers.get(case.repeat_of_id) if case.repeat_of_id else None
        row["mechanism_id"] = found["id"] if found else None
        row["mechanism_role"] = found["role"] if found else None
