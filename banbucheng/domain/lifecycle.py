"""The case lifecycle: which action is allowed in which state, and what it records.

Every function takes a Ctx (a session inside one transaction, the policy, the
calendar, the actor and the time), changes the case and appends one event. A
refusal raises before anything is written, and the transaction is rolled back on
any error, so a refused command leaves the store as it was.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from itertools import compress
from operator import attrgetter, is_not
from typing import Any, Protocol

from sqlmodel import select

from banbucheng.core.errors import InvalidInput, WrongState
from banbucheng.core.labels import (
    ACTION_LABELS,
    CHANNELS,
    OUTCOMES,
    PERSONAL_FIELDS,
    PLAIN,
    ROLES,
    SATISFACTION,
    STATUS_LABELS,
    TRACKED,
    snap,
    tracked_state,
)
from banbucheng.core.timeutil import BEIJING
from banbucheng.deadlines import compute_deadline, working_days_used

# The lookups live in domain/queries.py, so that reading a case (bbc show) need not
# import the lifecycle; named here too for the callers that act on a case.
from banbucheng.domain.queries import check_record as check_record
from banbucheng.domain.queries import events_of as events_of
from banbucheng.domain.queries import get_case as get_case
from banbucheng.schema.models import Case, Event, Unit
from banbucheng.schema.personal import masked, personal_columns, shown_fields
from banbucheng.store import Ctx, next_case_number

# The lifecycle in one table: the states each action may start from.
ALLOWED: dict[str, tuple[str, ...]] = {
    "classify": ("registered", "classified", "dispatched"),
    "dispatch": ("classified", "dispatched"),
    "note": ("registered", "classified", "dispatched", "closed"),
    "escalate": ("classified", "dispatched"),
    "refer": ("classified", "dispatched"),
    "extend": ("classified", "dispatched"),
    "close": ("classified", "dispatched"),
    "visit": ("closed",),
    "reopen": ("closed",),
}
_HINTS = {
    "registered": "请先分类（bbc classify）",
    "closed": "案件已办结；如群众不满意可重新办理（bbc reopen）",
    "classified": "案件尚未办结",
    "dispatched": "案件尚未办结",
}


def _choice(text: str, options: dict[str, str], what: str) -> str:
    """Accept an English key or its Chinese label (what staff type)."""
    value = text.strip()
    for key, label in options.items():
        if value.lower() == key or value == label or value == label.split("（")[0]:
            return key
    listing = "、".join(f"{k}（{v}）" for k, v in options.items())
    raise InvalidInput(f"未知的{what}，应为：{listing}")


def normalize_channel(text: str) -> str:
    extra = {"窗口": "window", "线上": "online", "网上": "online", "电话": "phone"}
    return extra.get(text.strip()) or _choice(text, CHANNELS, "受理渠道")


def normalize_outcome(text: str) -> str:
    extra = {"解决": "resolved", "已答复": "replied", "答复": "replied", "不能办理": "replied"}
    return extra.get(text.strip()) or _choice(text, OUTCOMES, "办结结果")


def normalize_satisfaction(text: str) -> str:
    return _choice(text, SATISFACTION, "满意度")


def check_allowed(case: Case, action: str) -> None:
    """Whether `action` may start from the case's state: the ALLOWED table, and for a
    visit, that this round has not been visited yet. Guided entry asks this before
    its first question."""
    if case.status not in ALLOWED[action]:
        status = STATUS_LABELS[case.status]
        hint = _HINTS.get(case.status, "")
        raise WrongState(
            f"案件 {case.number} 当前为「{status}」，不能{ACTION_LABELS[action]}"
            + (f"：{hint}" if hint else "")
        )
    if action == "visit" and case.satisfaction is not None:
        raise WrongState(f"案件 {case.number} 本轮已回访（{SATISFACTION[case.satisfaction]}）")


# ---------------------------------------------------------------- events


_json = json.JSONEncoder(ensure_ascii=False, sort_keys=True).encode  # json.dumps, made once
_tracked = attrgetter(*TRACKED)  # what tracked_state snaps, unsnapped: cheap to take


def _record(
    ctx: Ctx,
    case: Case,
    action: str,
    before: tuple | dict[str, Any] | None,
    *,
    text: str = "",
    extra_before: dict[str, Any] | None = None,
    extra_after: dict[str, Any] | None = None,
) -> Event | None:
    was: dict[str, Any] = {}  # before: _tracked(case) or tracked_state(case); None if
    now: dict[str, Any] = {}  # the event is about something else (nothing tracked changes)
    if before is not None:  # what tracked_state's dicts show, snapping only what differs
        old = before if isinstance(before, tuple) else tuple(map(before.get, TRACKED))
        new = _tracked(case)
        # Only the fields that are not the very same objects are looked at (told in C,
        # without comparing: most stay as they were); equal ones drop out below.
        for k, b, a in compress(zip(TRACKED, old, new, strict=True), map(is_not, old, new)):
            if b.__class__ not in PLAIN:  # snap's own test, without the call for most
                b = snap(b)
            if a.__class__ not in PLAIN:
                a = snap(a)
            if b != a:  # times a microsecond apart snap alike
                was[k], now[k] = b, a
    extra_before, extra_after = extra_before or {}, extra_after or {}
    detail = {"before": was | extra_before, "after": now | extra_after, "text": text}
    if ctx.batch is not None:  # bbc import: written with the batch (domain/batch.py)
        ctx.batch.event(case, at=ctx.now, actor=ctx.actor, action=action, detail=detail)
        return None
    fields = {"at": ctx.now, "actor": ctx.actor, "action": action, "detail": _json(detail)}
    ctx.session.add(case)
    ctx.session.flush()
    event = Event(case_id=case.id, **fields)  # type: ignore[arg-type]
    ctx.session.add(event)
    ctx.session.flush()
    return event


# ---------------------------------------------------------------- deadlines


def apply_deadline(ctx: Ctx, case: Case) -> None:
    """Recompute due_date/due_at/provisional from the case's deadline rule."""
    if case.limit_days is None:
        case.due_date, case.due_at, case.provisional = None, None, False
        return
    if case.due_fixed is not None:
        start = case.clock_start.astimezone(BEIJING).date()
        case.due_date = case.due_fixed
        case.due_at = datetime.combine(case.due_fixed, ctx.policy.closing_time, BEIJING)
        case.provisional = ctx.calendar.is_provisional(start, case.due_fixed)
    else:
        deadline = compute_deadline(
            case.clock_start,
            case.limit_days + case.extension_days,
            ctx.calendar,
            ctx.policy.closing_time,
            nonworking_receipt=ctx.policy.nonworking_receipt,
        )
        case.due_date, case.due_at = deadline.due_date, deadline.due_at
        case.provisional = deadline.provisional
    _apply_closing(ctx, case)


def _apply_closing(ctx: Ctx, case: Case) -> None:
    if case.closed_at is None:
        case.working_days_used, case.on_time = None, None
        return
    case.working_days_used = working_days_used(case.clock_start, case.closed_at, ctx.calendar)
    case.on_time = case.due_at is not None and case.closed_at <= case.due_at


def refresh_provisional(ctx: Ctx) -> int:
    """Recompute deadlines that were provisional, now that the calendar may know more.
    Returns how many cases changed; each change is recorded as an event."""
    changed = 0
    for case in ctx.session.exec(select(Case).where(Case.provisional == True)).all():  # noqa: E712
        before = tracked_state(case)
        apply_deadline(ctx, case)
        if tracked_state(case) != before:
            _record(ctx, case, "recompute", before, text="节假日安排已更新，期限按新日历重新计算")
            changed += 1
    return changed


def record_recompute(ctx: Ctx, case: Case, before: dict[str, Any], *, text: str) -> None:
    """A deadline recomputed after the calendar or the policy changed (recompute.py)."""
    _record(ctx, case, "recompute", before, text=text)


def pending_recompute(ctx: Ctx) -> bool:
    """Whether any provisional deadline would change with the current calendar (read-only)."""
    for case in ctx.session.exec(select(Case).where(Case.provisional == True)).all():  # noqa: E712
        before = tracked_state(case)
        apply_deadline(ctx, case)
        after = tracked_state(case)
        ctx.session.expunge(case)  # never written from a read-only check
        if after != before:
            return True
    return False


# ---------------------------------------------------------------- actions


class Learning(Protocol):
    """What the rest of the system does as a case is registered or closed: index its
    text, key its citizen and find a repeat, turn a reply template into the result,
    tie the case to a mechanism. services/cases.py supplies it, so the lifecycle
    depends on none of those parts."""

    def registered(self, ctx: Ctx, case: Case) -> Case | None:
        """The new case is flushed (it has an id); returns the earlier case it repeats."""
        ...

    def reply_text(self, ctx: Ctx, case: Case, kind: str, template: str, result: str) -> str:
        """The result when closing with a reply template (答复口径)."""
        ...

    def closing_mechanism(
        self, ctx: Ctx, case: Case, ref: str | None, template: str | None
    ) -> str | None:
        """Tie the closing case to its mechanism; the text kept on the case."""
        ...

    def closed(self, ctx: Ctx, case: Case) -> None:
        """The case was closed and recorded (its result is searchable from now on)."""
        ...


def register(
    ctx: Ctx,
    *,
    learning: Learning,
    citizen_name: str,
    phone: str,
    matter: str,
    channel: str,
    received_at: datetime | None = None,
    id_number: str | None = None,
    department: str = "",
    category: str | None = None,
    subtype: str | None = None,
) -> Case:
    received = received_at or ctx.now
    if received > ctx.now:
        raise InvalidInput("受理时间不能晚于当前时间")
    if subtype and not category:
        category = "unhandled"  # both subtypes belong to 应办未办
    day = received.astimezone(BEIJING).date()
    if ctx.batch is not None:
        number = ctx.batch.case_number(ctx.policy.number_prefix, day)
    else:
        number = next_case_number(ctx.session, ctx.policy.number_prefix, day)
    ring = ctx.require_keyring("无法加密个人信息，未登记")
    case = _new_case(
        ctx,
        number=number,
        status="registered",
        **personal_columns(number, citizen_name, phone, id_number, ring),
        matter=matter,
        department=department,
        channel=channel,
        received_at=received,
        registered_at=ctx.now,
        registered_by=ctx.actor,
        clock_start=received,
    )
    before = _tracked(case)
    earlier = learning.registered(ctx, case)
    personal = masked(case)
    repeat = {"repeat_of": earlier.number} if earlier is not None else {}
    _record(
        ctx,
        case,
        "register",
        before,
        text=matter,
        extra_after={
            "channel": channel,
            "department": department,
            "received_at": snap(received),
            **personal,
            **repeat,
        },
    )
    if category:
        classify(ctx, case, category=category, subtype=subtype)
    return case


def _new_case(ctx: Ctx, **fields: Any) -> Case:
    """The new case, with its id: flushed, or kept in the batch."""
    if ctx.batch is not None:
        return ctx.batch.new_case(**fields)
    case = Case(**fields)
    ctx.session.add(case)
    ctx.session.flush()
    return case


def classify(ctx: Ctx, case: Case, *, category: str, subtype: str | None = None) -> None:
    check_allowed(case, "classify")
    if subtype and category != "unhandled":
        raise InvalidInput("子类（很难办、不作为/吃拿卡要）只用于「应办未办」")
    before = _tracked(case)
    case.category, case.subtype = category, subtype
    case.limit_days = ctx.policy.limit_for(category, subtype)
    case.extension_days, case.due_fixed = 0, None
    if case.status == "registered":
        case.status = "classified"
    apply_deadline(ctx, case)
    _record(ctx, case, "classify", before)


def dispatch(
    ctx: Ctx,
    case: Case,
    *,
    unit: str,
    helpers: list[str] | None = None,
    unit_due: date | None = None,
    unit_days: int | None = None,
) -> list[str]:
    """Send the case to a lead unit (and helpers). Returns notices about new units."""
    # Imported here: the unit directory brings its change history's tables, which
    # registering and closing a case never touch.
    from banbucheng.domain.units import ensure_unit, helper_names, new_unit_notice, unit_name

    check_allowed(case, "dispatch")
    helpers = helpers or []
    before = _tracked(case)
    old_unit = unit_name(ctx.session, case.unit_id)
    old_helpers = helper_names(ctx, case)
    notices: list[str] = []
    helper_units = []
    for i, name in enumerate([unit, *helpers]):
        found, created, similar = ensure_unit(ctx, name)
        if created:
            notices.append(new_unit_notice(found.name, similar))
        if i and found.id == helper_units[0].id:
            raise InvalidInput("协办单位不能与主办单位相同")
        helper_units.append(found)
    lead = helper_units.pop(0)
    if unit_days is not None:
        if unit_days < 1:
            raise InvalidInput("单位办理时限应至少为1个工作日")
        start = ctx.now.astimezone(BEIJING).date()
        unit_due = ctx.calendar.add_workdays(start, unit_days)
    if unit_due is not None:
        if case.due_date is not None and unit_due > case.due_date:
            raise InvalidInput(
                f"单位期限不能晚于案件期限 {case.due_date.isoformat()}；"
                "如需更多时间请先延期（bbc extend）"
            )
        if unit_due < ctx.now.astimezone(BEIJING).date():
            raise InvalidInput("单位期限不能早于今天")
        case.unit_due_at = datetime.combine(unit_due, ctx.policy.closing_time, BEIJING)
    else:
        case.unit_due_at = None
    case.unit_id = lead.id
    case.dispatched_at = ctx.now
    case.status = "dispatched"
    _set_helpers(ctx, case, list({h.id: h for h in helper_units}.values()))
    _record(
        ctx,
        case,
        "dispatch",
        before,
        extra_before={"unit": old_unit, "helpers": old_helpers},
        extra_after={"unit": lead.name, "helpers": sorted(h.name for h in helper_units)},
    )
    return notices


def _set_helpers(ctx: Ctx, case: Case, units: list[Unit]) -> None:
    if ctx.batch is not None:
        ctx.batch.set_helpers(case, units)
        return
    # Defined on first use (models_extra.py): registering and closing never get here.
    from banbucheng.schema.models import CaseHelper

    for row in ctx.session.exec(select(CaseHelper).where(CaseHelper.case_id == case.id)).all():
        ctx.session.delete(row)
    ctx.session.flush()
    for helper in units:
        ctx.session.add(CaseHelper(case_id=case.id, unit_id=helper.id))  # type: ignore[arg-type]


def note(ctx: Ctx, case: Case, *, text: str) -> None:
    check_allowed(case, "note")
    _record(ctx, case, "note", None, text=text)


def escalate(ctx: Ctx, case: Case, *, reason: str) -> None:
    check_allowed(case, "escalate")
    before = _tracked(case)
    if case.escalated_at is None:
        case.escalated_at = ctx.now
    _record(ctx, case, "escalate", before, text=reason)


def refer(ctx: Ctx, case: Case, *, reason: str) -> None:
    check_allowed(case, "refer")
    if case.subtype != "misconduct":
        raise WrongState(
            f"案件 {case.number} 不是「不作为/吃拿卡要」类，不能移交纪检组；"
            "如属此类，请先分类：bbc classify --subtype misconduct"
        )
    before = _tracked(case)
    if case.referred_at is None:
        case.referred_at = ctx.now
    _record(ctx, case, "refer", before, text=reason)


def extend(
    ctx: Ctx,
    case: Case,
    *,
    reason: str,
    approver: str,
    to: date | None = None,
    days: int | None = None,
    force: bool = False,
) -> None:
    check_allowed(case, "extend")
    if (to is None) == (days is None):
        raise InvalidInput("请给出 --to 新的到期日 或 --days 延长的工作日数（二选一）")
    assert case.due_at is not None and case.due_date is not None
    late = ctx.now > case.due_at
    if late and not force:
        raise WrongState(
            f"案件 {case.number} 已于 {case.due_at:%Y-%m-%d %H:%M} 到期，延期须在到期前申请；"
            "确需补办延期请加 --force（将记录在案）"
        )
    before = _tracked(case)
    if days is not None:
        if days < 1:
            raise InvalidInput("延长的工作日数应至少为1")
        if case.due_fixed is not None:
            case.due_fixed = ctx.calendar.add_workdays(case.due_fixed, days)
        else:
            case.extension_days += days
    else:
        assert to is not None
        if to <= case.due_date:
            raise InvalidInput(f"新的到期日应晚于原到期日 {case.due_date.isoformat()}")
        if not ctx.calendar.is_workday(to):
            raise InvalidInput(f"{to.isoformat()} 不是工作日，请选择工作日作为到期日")
        case.due_fixed = to
    apply_deadline(ctx, case)
    _record(
        ctx,
        case,
        "extend",
        before,
        text=reason,
        extra_after={"approver": approver, "after_deadline": late},
    )


def close(
    ctx: Ctx,
    case: Case,
    *,
    learning: Learning,
    result: str,
    outcome: str | None = None,
    at: datetime | None = None,
    mechanism: str | None = None,
    template: str | None = None,
) -> None:
    """Close the case. `mechanism`: an existing mechanism's number or name (the case is
    served by it) or the text of a new one formed from this case. `template`: a reply
    template (答复口径) whose text becomes the result, `result` then adding to it."""
    check_allowed(case, "close")
    closed_at = at or ctx.now
    if closed_at > ctx.now:
        raise InvalidInput("办结时间不能晚于当前时间")
    if closed_at < case.clock_start:
        raise InvalidInput("办结时间不能早于受理（或重新办理）时间")
    kind = outcome or ("replied" if case.category == "impossible" else "resolved")
    if template:
        result = learning.reply_text(ctx, case, kind, template, result)
    if not result.strip():
        raise InvalidInput("缺少办理结果（--result）")
    before = _tracked(case)
    case.outcome = kind
    case.result = result
    case.mechanism = learning.closing_mechanism(ctx, case, mechanism, template)
    case.closed_at = closed_at
    case.status = "closed"
    case.closed_provisional = case.provisional  # then it keeps following the calendar
    _apply_closing(ctx, case)
    _record(ctx, case, "close", before, text=result, extra_after={"mechanism": case.mechanism})
    learning.closed(ctx, case)


def visit(
    ctx: Ctx, case: Case, *, satisfaction: str, text: str = "", at: datetime | None = None
) -> None:
    check_allowed(case, "visit")
    visited_at = at or ctx.now
    if visited_at > ctx.now or (case.closed_at and visited_at < case.closed_at):
        raise InvalidInput("回访时间应在办结之后、当前时间之前")
    before = _tracked(case)
    case.satisfaction, case.visited_at = satisfaction, visited_at
    _record(ctx, case, "visit", before, text=text)


def reopen(ctx: Ctx, case: Case, *, reason: str, days: int | None = None) -> None:
    """A new round: the clock restarts now with the category's limit (or --days)."""
    check_allowed(case, "reopen")
    if days is not None and days < 1:
        raise InvalidInput("办理时限应至少为1个工作日")
    assert case.category is not None
    before = _tracked(case)
    case.clock_start = ctx.now
    case.limit_days = days or ctx.policy.limit_for(case.category, case.subtype)
    case.extension_days, case.due_fixed, case.unit_due_at = 0, None, None
    case.closed_at = case.outcome = case.satisfaction = case.visited_at = None
    case.closed_provisional = False
    case.result = case.mechanism = None
    case.reopen_count += 1
    case.status = "dispatched" if case.unit_id is not None else "classified"
    apply_deadline(ctx, case)
    _record(ctx, case, "reopen", before, text=reason)


# ---------------------------------------------------------------- trust: import, reveal


def record_reveal(ctx: Ctx, case: Case) -> None:
    """Who looked at whose unmasked personal data (个人信息保护法): the event names the
    fields that were shown, never their values."""
    fields = shown_fields(case)
    shown = "、".join(PERSONAL_FIELDS[f] for f in fields)
    text, after = f"查看了未遮盖的个人信息（{shown}）", {"revealed": fields}
    _record(ctx, case, "reveal", None, text=text, extra_after=after)


def record_import(ctx: Ctx, case: Case, *, source: str, row: int) -> None:
    """The provenance of an imported case: which file (name and digest) and which row."""
    _record(ctx, case, "import", None, text=f"自文件 {source} 第 {row} 行导入")


def record_mechanism(ctx: Ctx, case: Case, *, mechanism_id: int, name: str, role: str) -> None:
    """A case tied to a mechanism other than by closing it (bbc mechanism add --case)."""
    text = f"关联长效机制 #{mechanism_id}「{name}」（{ROLES[role]}）"
    _record(ctx, case, "mechanism", None, text=text, extra_after={"mechanism": name})


def record_print(ctx: Ctx, case: Case, *, kind: str, file: str, revealed: list[str]) -> None:
    """A handed-out document is on the record, with the fields it shows unmasked."""
    after = {"document": kind, "file": file, "revealed": revealed}
    _record(ctx, case, "print", None, extra_after=after)
