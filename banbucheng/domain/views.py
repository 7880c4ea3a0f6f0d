"""Cases as plain dicts: the JSON contract (stable English keys) and what tables show.

Personal data is masked here unless `reveal` is asked for explicitly.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, select

from banbucheng.core.policy import CATEGORIES, SUBTYPES
from banbucheng.core.timeutil import BEIJING, human
from banbucheng.core.validate import mask_id_number, mask_name, mask_phone
from banbucheng.deadlines import WorkCalendar, working_days_late
from banbucheng.domain.lifecycle import (
    ACTION_LABELS,
    CHANNELS,
    OUTCOMES,
    SATISFACTION,
    STATUS_LABELS,
)
from banbucheng.schema.models import Case, CaseHelper, Event, Unit


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
        select(CaseHelper.case_id, Unit.name)
        .join(Unit, Unit.id == CaseHelper.unit_id)
        .where(CaseHelper.case_id.in_(ids))  # type: ignore[attr-defined]
        .order_by(Unit.name)
    )
    for case_id, name in session.exec(stmt).all():
        out.setdefault(case_id, []).append(name)
    return out


def case_dicts(
    session: Session,
    cases: Sequence[Case],
    *,
    now: datetime,
    calendar: WorkCalendar,
    reveal: bool = False,
) -> list[dict[str, Any]]:
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
                "citizen": c.citizen_name if reveal else mask_name(c.citizen_name),
                "phone": c.phone if reveal else mask_phone(c.phone),
                "id_number": (c.id_number if reveal else mask_id_number(c.id_number))
                if c.id_number
                else None,
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
    from banbucheng.knowledge.mechanisms import (
        annotate,  # issue 5: repeat_of, mechanism_id, mechanism_role
    )

    annotate(session, cases, out)
    return out


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


FIELD_LABELS = {
    "status": "状态",
    "category": "分类",
    "subtype": "子类",
    "limit_days": "时限(工作日)",
    "extension_days": "延长(工作日)",
    "due_date": "到期日",
    "due_at": "期限",
    "provisional": "暂定",
    "unit_due_at": "单位期限",
    "escalated_at": "上报时间",
    "referred_at": "移交时间",
    "closed_at": "办结时间",
    "outcome": "结果",
    "working_days_used": "用时(工作日)",
    "on_time": "按期",
    "satisfaction": "满意度",
    "visited_at": "回访时间",
    "reopen_count": "重办次数",
    "unit": "主办单位",
    "helpers": "协办单位",
    "channel": "渠道",
    "department": "受阻部门",
    "citizen": "反映人",
    "phone": "电话",
    "id_number": "身份证号",
    "approver": "批准人",
    "after_deadline": "到期后补办",
    "mechanism": "长效机制",
    "repeat_of": "重复反映（前案）",
}
_VALUE_LABELS: dict[str, dict[str, str]] = {
    "status": STATUS_LABELS,
    "category": CATEGORIES,
    "subtype": SUBTYPES,
    "outcome": OUTCOMES,
    "satisfaction": SATISFACTION,
    "channel": CHANNELS,
}
# Derived from due_at or repeated elsewhere in the line: left out of the timeline.
_QUIET = {"due_date"}


def _value_text(key: str, value: Any) -> str:
    if value is None or value == []:
        return "—"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, list):
        return "、".join(str(v) for v in value)
    if key in _VALUE_LABELS:
        return _VALUE_LABELS[key].get(value, str(value))
    text = str(value)
    if len(text) == 25 and text[10] == "T":  # an ISO time with offset
        return human(text)
    return text


def describe_changes(event: dict[str, Any]) -> str:
    """One line of '字段：旧 → 新' for the timeline, in the staff's words."""
    parts = []
    for key, new in event["after"].items():
        if key in _QUIET:
            continue
        label = FIELD_LABELS.get(key, key)
        if key in event["before"]:
            parts.append(
                f"{label}：{_value_text(key, event['before'][key])} → {_value_text(key, new)}"
            )
        else:
            parts.append(f"{label}：{_value_text(key, new)}")
    return "；".join(parts)
