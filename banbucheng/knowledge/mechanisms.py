"""What the window learns from its cases: mechanisms (长效机制) and reply templates (答复口径).

A mechanism is a named, reusable way of solving a class of problem: what to check,
who decides, what is issued. It is linked to the case(s) it was formed from
(role `source`) and to the cases it later served (role `served`), one mechanism per
case. A reply template is the wording of the reply to a citizen whose matter cannot
be done, optionally tied to a mechanism, so the 3-working-day reply is consistent.

A case's link counts while the case is closed: a reopened case keeps its link but
shows and counts it again only once it is closed anew.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from sqlmodel import Session, col, func, select

from banbucheng.core.errors import InvalidInput, NotFound, WrongState
from banbucheng.core.labels import ROLES
from banbucheng.core.timeutil import BEIJING
from banbucheng.core.validate import (
    MECHANISM_NAME_MAX,
    MECHANISM_REF,
    masked_echo,
    mechanism_name,
)
from banbucheng.schema.models import Case, Mechanism, MechanismCase
from banbucheng.store import Ctx

if TYPE_CHECKING:
    # Imported by the functions that use it: closing a case without a template (the
    # usual close) never defines the templates' table (schema/models_extra.py).
    from banbucheng.schema.models import ReplyTemplate


def _now_iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(BEIJING).isoformat(timespec="seconds")


def period_bounds(start: date | datetime, end: date | datetime) -> tuple[datetime, datetime]:
    """Dates are whole Beijing days, `end` included; datetimes are [start, end)."""
    if not isinstance(start, datetime):
        start = datetime.combine(start, time(0), BEIJING)
    if not isinstance(end, datetime):
        end = datetime.combine(end + timedelta(days=1), time(0), BEIJING)
    return start, end


# ---------------------------------------------------------------- mechanisms


def check_name(name: str, what: str = "长效机制名称") -> str:
    from banbucheng.core.validate import clean_text

    value = clean_text(name, field=what, max_len=MECHANISM_NAME_MAX)
    if "\n" in value:
        raise InvalidInput(f"{what}只能是一行")
    if MECHANISM_REF.fullmatch(value):
        raise InvalidInput(f"{what}不能只是数字（数字用来按编号引用）")
    return value


def clean_ref(ref: str, what: str) -> str:
    """A number or name as typed, refused when it cannot be one (control characters,
    undecodable bytes, a pasted novel)."""
    from banbucheng.core.validate import clean_text

    return clean_text(ref, field=what, max_len=MECHANISM_NAME_MAX * 2)


def find_mechanism(session: Session, ref: str) -> Mechanism:
    """By number (3, #3) or exact name."""
    value = clean_ref(ref, "长效机制")
    match = MECHANISM_REF.fullmatch(value)
    if match:
        found = session.get(Mechanism, int(match.group(1)))
        if found is None:
            raise NotFound(f"没有编号为 {match.group(1)} 的长效机制（bbc mechanism list 查看）")
        return found
    found = session.exec(select(Mechanism).where(Mechanism.name == value)).first()
    if found is None:
        raise NotFound(f"没有名为「{masked_echo(value)}」的长效机制（bbc mechanism list 查看）")
    return found


def link_of(session: Session, case_id: int) -> MechanismCase | None:
    return session.get(MechanismCase, case_id)


def link(ctx: Ctx, case: Case, mechanism: Mechanism, role: str) -> None:
    """Tie the case to the mechanism (replacing an earlier tie of the case)."""
    assert role in ROLES and case.id is not None and mechanism.id is not None
    if ctx.batch is not None:  # bbc import: a new case, linked once (domain/batch.py)
        link = {"case_id": case.id, "mechanism_id": mechanism.id, "role": role}
        ctx.batch.link(case, link | {"linked_at": ctx.now, "linked_by": ctx.actor})
        return
    row = ctx.session.get(MechanismCase, case.id)
    if row is None:
        row = MechanismCase(
            case_id=case.id,
            mechanism_id=mechanism.id,
            role=role,
            linked_at=ctx.now,
            linked_by=ctx.actor,
        )
    else:
        row.mechanism_id, row.role = mechanism.id, role
        row.linked_at, row.linked_by = ctx.now, ctx.actor
    ctx.session.add(row)
    ctx.session.flush()


def add_mechanism(
    ctx: Ctx,
    *,
    name: str,
    check_text: str = "",
    decider: str = "",
    issued: str = "",
    description: str = "",
    cases: Sequence[Case] = (),
) -> Mechanism:
    name = check_name(name)
    if ctx.session.exec(select(Mechanism.id).where(Mechanism.name == name)).first():
        raise InvalidInput(f"已有同名的长效机制「{name[:40]}」")
    for case in cases:
        existing = link_of(ctx.session, case.id)  # type: ignore[arg-type]
        if existing is not None:
            raise WrongState(
                f"案件 {case.number} 已关联长效机制 #{existing.mechanism_id}，"
                "一件案件只关联一个机制"
            )
    mechanism = Mechanism(
        name=name,
        check_text=check_text,
        decider=decider,
        issued=issued,
        description=description or name,
        created_at=ctx.now,
        created_by=ctx.actor,
    )
    ctx.session.add(mechanism)
    ctx.session.flush()
    from banbucheng.domain.lifecycle import record_mechanism

    for case in cases:
        link(ctx, case, mechanism, "source")
        record_mechanism(ctx, case, mechanism_id=mechanism.id, name=name, role="source")
    return mechanism


EDITABLE = ("name", "check_text", "decider", "issued", "description")


def edit_mechanism(ctx: Ctx, mechanism: Mechanism, **changes: str | None) -> list[str]:
    """Change the given fields; returns the names of those that changed."""
    changed = []
    for key, value in changes.items():
        if value is None:
            continue
        assert key in EDITABLE
        if key == "name":
            value = check_name(value)
            other = ctx.session.exec(
                select(Mechanism.id).where(Mechanism.name == value, Mechanism.id != mechanism.id)
            ).first()
            if other:
                raise InvalidInput(f"已有同名的长效机制「{value[:40]}」")
        if getattr(mechanism, key) != value:
            setattr(mechanism, key, value)
            changed.append(key)
    if changed:
        mechanism.updated_at, mechanism.updated_by = ctx.now, ctx.actor
        ctx.session.add(mechanism)
    return changed


def for_close(ctx: Ctx, case: Case, ref: str) -> tuple[Mechanism, bool]:
    """`close --mechanism`: an existing mechanism by number or exact name (the case is
    served by it), or a new one formed from this case, named after the text.
    Returns (mechanism, created)."""
    value = ref.strip()
    if MECHANISM_REF.fullmatch(value):
        return find_mechanism(ctx.session, value), False
    name = mechanism_name(value)

    def stored() -> Mechanism | None:
        return ctx.session.exec(select(Mechanism).where(Mechanism.name == name)).first()

    # bbc import: each name looked up once, new ones batched (domain/batch.py)
    found = ctx.batch.cached("mechanisms", name, stored) if ctx.batch is not None else stored()
    if found is not None:
        return found, False
    mechanism = Mechanism(name=name, description=value, created_at=ctx.now, created_by=ctx.actor)
    if ctx.batch is not None:
        ctx.batch.add_new("mechanisms", mechanism, key=name)
    else:
        ctx.session.add(mechanism)
        ctx.session.flush()
    return mechanism, True


def _counts(session: Session) -> dict[int, dict[str, int]]:
    stmt = (
        select(MechanismCase.mechanism_id, MechanismCase.role, func.count())
        .join(Case, col(Case.id) == MechanismCase.case_id)
        .where(Case.status == "closed")
        .group_by(MechanismCase.mechanism_id, MechanismCase.role)
    )
    out: dict[int, dict[str, int]] = {}
    for mid, role, n in session.exec(stmt).all():
        out.setdefault(mid, {"source": 0, "served": 0})[role] = n
    return out


def mechanism_dict(m: Mechanism, counts: dict[str, int] | None = None) -> dict[str, Any]:
    counts = counts or {"source": 0, "served": 0}
    return {
        "id": m.id,
        "name": m.name,
        "check": m.check_text,
        "decider": m.decider,
        "issued": m.issued,
        "description": m.description,
        "created_at": _now_iso(m.created_at),
        "created_by": m.created_by,
        "updated_at": _now_iso(m.updated_at),
        "source_cases": counts.get("source", 0),
        "served_cases": counts.get("served", 0),
    }


def mechanism_rows(session: Session) -> list[dict[str, Any]]:
    from banbucheng.schema.models import ReplyTemplate

    counts = _counts(session)
    templates = dict(
        session.exec(
            select(ReplyTemplate.mechanism_id, func.count())
            .where(col(ReplyTemplate.mechanism_id).is_not(None))
            .group_by(ReplyTemplate.mechanism_id)
        ).all()
    )
    rows = []
    for m in session.exec(select(Mechanism).order_by(col(Mechanism.id))).all():
        row = mechanism_dict(m, counts.get(m.id))  # type: ignore[arg-type]
        row["templates"] = templates.get(m.id, 0)
        rows.append(row)
    return rows


def mechanism_detail(session: Session, m: Mechanism) -> dict[str, Any]:
    from banbucheng.schema.models import ReplyTemplate

    data = mechanism_dict(m, _counts(session).get(m.id))  # type: ignore[arg-type]
    stmt = (
        select(Case, MechanismCase.role, MechanismCase.linked_at)
        .join(MechanismCase, col(MechanismCase.case_id) == Case.id)
        .where(MechanismCase.mechanism_id == m.id)
        .order_by(col(Case.received_at), col(Case.id))
    )
    cases = []
    for case, role, linked_at in session.exec(stmt).all():
        cases.append(
            {
                "number": case.number,
                "role": role,
                "role_label": ROLES[role],
                "status": case.status,
                "matter": case.matter,
                "received_at": _now_iso(case.received_at),
                "closed_at": _now_iso(case.closed_at),
                "linked_at": _now_iso(linked_at),
            }
        )
    data["cases"] = cases
    data["templates"] = [
        {"id": t.id, "name": t.name}
        for t in session.exec(
            select(ReplyTemplate)
            .where(ReplyTemplate.mechanism_id == m.id)
            .order_by(col(ReplyTemplate.id))
        ).all()
    ]
    return data


def served_count(session: Session, start: date | datetime, end: date | datetime) -> int:
    """Cases closed in the period by an existing mechanism (role `served`), for period
    reports. Dates are whole days with `end` included; datetimes are [start, end)."""
    lo, hi = period_bounds(start, end)
    stmt = (
        select(func.count())
        .select_from(MechanismCase)
        .join(Case, col(Case.id) == MechanismCase.case_id)
        .where(
            MechanismCase.role == "served",
            Case.status == "closed",
            col(Case.closed_at) >= lo,
            col(Case.closed_at) < hi,
        )
    )
    return session.exec(stmt).one()


def formed_count(session: Session, start: date | datetime, end: date | datetime) -> int:
    """Mechanisms created in the period (same bounds as served_count)."""
    lo, hi = period_bounds(start, end)
    stmt = (
        select(func.count())
        .select_from(Mechanism)
        .where(col(Mechanism.created_at) >= lo, col(Mechanism.created_at) < hi)
    )
    return session.exec(stmt).one()


PLACEHOLDERS = {
    "编号": "案件编号",
    "受理日期": "受理日期，如 2021年4月1日",
    "事项": "反映事项",
    "部门": "受阻部门或窗口",
    "中心": "中心名称（bbc config set center_name）",
}
_PLACEHOLDER = re.compile(r"\{([^{}\s]{1,10})\}")


def check_body(body: str) -> str:
    from banbucheng.core.validate import clean_text

    value = clean_text(body, field="答复口径内容")
    unknown = sorted({m for m in _PLACEHOLDER.findall(value) if m not in PLACEHOLDERS})
    if unknown:
        known = "、".join("{" + k + "}" for k in PLACEHOLDERS)
        raise InvalidInput(f"答复口径中有未知的占位符 {{{unknown[0]}}}，可用：{known}")
    return value


def find_template(session: Session, ref: str) -> ReplyTemplate:
    from banbucheng.schema.models import ReplyTemplate

    value = clean_ref(ref, "答复口径")
    match = MECHANISM_REF.fullmatch(value)
    if match:
        found = session.get(ReplyTemplate, int(match.group(1)))
        if found is None:
            raise NotFound(
                f"没有编号为 {match.group(1)} 的答复口径（bbc reply-template list 查看）"
            )
        return found
    found = session.exec(select(ReplyTemplate).where(ReplyTemplate.name == value)).first()
    if found is None:
        raise NotFound(
            f"没有名为「{masked_echo(value)}」的答复口径（bbc reply-template list 查看）"
        )
    return found


def check_notice_text(value: str, what: str) -> str:
    """A template's 依据 or 其他途径: text as the 告知书 prints it."""
    from banbucheng.core.validate import clean_text

    return clean_text(value, field=what, required=False)


def add_template(
    ctx: Ctx,
    *,
    name: str,
    body: str,
    mechanism: Mechanism | None = None,
    basis: str = "",
    alternative: str = "",
) -> ReplyTemplate:
    from banbucheng.schema.models import ReplyTemplate

    name = check_name(name, "答复口径名称")
    if ctx.session.exec(select(ReplyTemplate.id).where(ReplyTemplate.name == name)).first():
        raise InvalidInput(f"已有同名的答复口径「{name[:40]}」")
    template = ReplyTemplate(
        name=name,
        body=check_body(body),
        basis=check_notice_text(basis, "依据"),
        alternative=check_notice_text(alternative, "其他途径"),
        mechanism_id=mechanism.id if mechanism else None,
        created_at=ctx.now,
        created_by=ctx.actor,
    )
    ctx.session.add(template)
    ctx.session.flush()
    return template


def edit_template(
    ctx: Ctx,
    template: ReplyTemplate,
    *,
    name: str | None = None,
    body: str | None = None,
    mechanism: Mechanism | None = None,
    unlink: bool = False,
    basis: str | None = None,
    alternative: str | None = None,
) -> list[str]:
    from banbucheng.schema.models import ReplyTemplate

    changed = []
    if name is not None:
        name = check_name(name, "答复口径名称")
        other = ctx.session.exec(
            select(ReplyTemplate.id).where(
                ReplyTemplate.name == name, ReplyTemplate.id != template.id
            )
        ).first()
        if other:
            raise InvalidInput(f"已有同名的答复口径「{name[:40]}」")
        if name != template.name:
            template.name = name
            changed.append("name")
    if body is not None:
        body = check_body(body)
        if body != template.body:
            template.body = body
            changed.append("body")
    for key, value, what in (("basis", basis, "依据"), ("alternative", alternative, "其他途径")):
        if value is not None:
            value = check_notice_text(value, what)
            if value != getattr(template, key):
                setattr(template, key, value)
                changed.append(key)
    new_mechanism = None if unlink else (mechanism.id if mechanism else template.mechanism_id)
    if new_mechanism != template.mechanism_id:
        template.mechanism_id = new_mechanism
        changed.append("mechanism")
    if changed:
        template.updated_at, template.updated_by = ctx.now, ctx.actor
        ctx.session.add(template)
    return changed


def render_template(template: ReplyTemplate, case: Case, center: str) -> str:
    received = case.received_at.astimezone(BEIJING)
    values = {
        "编号": case.number,
        "受理日期": f"{received.year}年{received.month}月{received.day}日",
        "事项": case.matter,
        "部门": case.department or "有关部门",
        "中心": center,
    }
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), template.body)


def template_dict(session: Session, t: ReplyTemplate) -> dict[str, Any]:
    mechanism = session.get(Mechanism, t.mechanism_id) if t.mechanism_id else None
    return {
        "id": t.id,
        "name": t.name,
        "body": t.body,
        "basis": t.basis,
        "alternative": t.alternative,
        "mechanism_id": t.mechanism_id,
        "mechanism_name": mechanism.name if mechanism else None,
        "created_at": _now_iso(t.created_at),
        "created_by": t.created_by,
        "updated_at": _now_iso(t.updated_at),
    }


def template_rows(session: Session) -> list[dict[str, Any]]:
    from banbucheng.schema.models import ReplyTemplate

    return [
        template_dict(session, t)
        for t in session.exec(select(ReplyTemplate).order_by(col(ReplyTemplate.id))).all()
    ]


def notice_templates(session: Session, case: Case) -> list[ReplyTemplate]:
    """The reply templates for this kind of matter: those of the mechanism the case is
    linked to (closed with a template or a mechanism), that give a basis or remedy."""
    from banbucheng.schema.models import ReplyTemplate

    found = link_of(session, case.id)  # type: ignore[arg-type]
    if found is None:
        return []
    stmt = (
        select(ReplyTemplate)
        .where(ReplyTemplate.mechanism_id == found.mechanism_id)
        .order_by(col(ReplyTemplate.id))
    )
    return [t for t in session.exec(stmt).all() if t.basis or t.alternative]


# ---------------------------------------------------------------- case JSON
