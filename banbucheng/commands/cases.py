"""The life of a case, in the order it is lived: register, classify, dispatch, note,
escalate, refer, extend, close, visit, reopen.

Each command reads its options (asking on a terminal for what is missing, see
window/guided.py), makes one call into domain/lifecycle.py and reports the outcome.
"""

from __future__ import annotations

import functools
from typing import Annotated, Any

import typer

from banbucheng.commands.common import (
    JsonOpt,
    NumberArg,
    case_out,
    check_first,
    complete_units,
    guide,
    notice,
    now_text,
    opt_date,
    opt_datetime,
    print_json,
    provisional_notice,
    required,
    session,
)
from banbucheng.core.errors import InvalidInput
from banbucheng.core.timeutil import human
from banbucheng.core.validate import WORKING_DAYS

app = typer.Typer()


def _days(help_text: str) -> Any:
    """--days: a count of working days, bounded as core/validate.WORKING_DAYS says."""
    return typer.Option("--days", min=WORKING_DAYS[0], max=WORKING_DAYS[1], help=help_text)


_CHANNEL_CHOICES = [("窗口", "窗口"), ("线上", "线上"), ("电话", "电话"), ("12345", "12345")]
_SATISFACTION_CHOICES = [
    ("非常满意", "非常满意"),
    ("满意", "满意"),
    ("基本满意", "基本满意"),
    ("不满意", "不满意"),
    ("非常不满意", "非常不满意"),
]


def _unhandled(got: dict[str, Any]) -> bool:
    """Whether the category given so far is 应办未办 (the only one with subtypes)."""
    from banbucheng.core.policy import normalize_category

    try:
        return normalize_category(got.get("category") or "") == "unhandled"
    except InvalidInput:
        return False


@app.command()
def register(
    name: Annotated[str | None, typer.Option("--name", help="反映人姓名")] = None,
    phone: Annotated[str | None, typer.Option("--phone", help="联系电话（手机或固话）")] = None,
    matter: Annotated[str | None, typer.Option("--matter", help="反映事项")] = None,
    id_number: Annotated[str | None, typer.Option("--id-number", help="身份证号（可选）")] = None,
    department: Annotated[
        str | None, typer.Option("--department", help="事项受阻的部门或窗口")
    ] = None,
    channel: Annotated[
        str | None, typer.Option("--channel", help="渠道：窗口（默认）、线上、电话、12345")
    ] = None,
    at: Annotated[
        str | None, typer.Option("--at", help="受理时间（默认现在），如 2021-04-01 09:30")
    ] = None,
    category: Annotated[
        str | None, typer.Option("--category", help="分类：应办未办、完全不能")
    ] = None,
    subtype: Annotated[
        str | None, typer.Option("--subtype", help="子类：很难办、不作为、吃拿卡要")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """登记一件办不成的事，输出案件编号。

    例：bbc register --name 霍某 --phone 13712341111 --matter "诊所两证名称不一致，供货商拒绝供药"
    --department 市场监管窗口 --at "2021-04-01 09:30" --category 应办未办
    """
    from banbucheng.core import validate
    from banbucheng.core.policy import CATEGORIES, SUBTYPES, normalize_category, normalize_subtype
    from banbucheng.domain import lifecycle
    from banbucheng.services import cases as case_service
    from banbucheng.window.guided import Ask

    check_first(None, "register")
    # Each field is judged by one function in core/validate.py, for the option and for
    # the answer to the question alike.
    v = guide(
        [
            Ask("name", "--name", "反映人姓名", check=validate.citizen_name),
            Ask("phone", "--phone", "联系电话", check=validate.contact_phone),
            Ask(
                "id_number",
                "--id-number",
                "身份证号",
                required=False,
                check=validate.normalize_id_number,
            ),
            Ask("matter", "--matter", "反映事项", check=validate.reported_matter),
            Ask(
                "department",
                "--department",
                "受阻部门或窗口",
                required=False,
                check=validate.department,
            ),
            Ask("channel", "--channel", "受理渠道", False, "1", _CHANNEL_CHOICES),
            Ask("at", "--at", "受理时间", False, now_text(), check=validate.received_at),
            Ask("category", "--category", "分类", required=False, choices=list(CATEGORIES.items())),
            Ask(
                "subtype",
                "--subtype",
                "子类",
                required=False,
                choices=list(SUBTYPES.items()),
                when=_unhandled,
            ),
        ],
        dict(
            name=name,
            phone=phone,
            id_number=id_number,
            matter=matter,
            department=department,
            channel=channel,
            at=at,
            category=category,
            subtype=subtype,
        ),
        "登记确认",
    )
    # guide() has made sure that name, phone and matter are given.
    fields = dict(
        citizen_name=validate.citizen_name(v["name"]),
        phone=validate.contact_phone(v["phone"]),
        matter=validate.reported_matter(v["matter"]),
        id_number=validate.normalize_id_number(v["id_number"]) if v["id_number"] else None,
        department=validate.department(v["department"] or ""),
        channel=lifecycle.normalize_channel(v["channel"] or "窗口"),
        received_at=validate.received_at(v["at"]) if v["at"] is not None else None,
        category=normalize_category(v["category"]) if v["category"] else None,
        subtype=normalize_subtype(v["subtype"]) if v["subtype"] else None,
    )
    from banbucheng.knowledge.similar import suggestions

    with session(write=True) as ctx:
        case = case_service.register(ctx, **fields)
        # The whole case (helpers, mechanism, links) only for JSON; the lines on a
        # terminal need a few fields, taken from the case in hand.
        data = case_out(ctx, case, False) if as_json else _registered(ctx, case)
        data["similar"] = suggestions(ctx.session, case)
    if as_json:
        print_json(data)
    else:
        typer.echo(case.number)
        notice(
            f"已登记 {case.number}"
            + (f"，期限 {human(data['due_at'])}" if data["due_at"] else "，待分类")
        )
    provisional_notice(data)
    _register_notices(data)


@app.command()
def classify(
    number: NumberArg,
    category: Annotated[str | None, typer.Option("--category", help="应办未办 / 完全不能")] = None,
    subtype: Annotated[
        str | None, typer.Option("--subtype", help="很难办 / 不作为 / 吃拿卡要")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """分类并按中心时限确定期限。

    例：bbc classify BB20210401-001 --category 应办未办 --subtype 很难办
    """
    from banbucheng.core.policy import CATEGORIES, SUBTYPES, normalize_category, normalize_subtype
    from banbucheng.domain import lifecycle
    from banbucheng.window.guided import Ask

    if category is None and subtype is None:
        check_first(number, "classify")
        v = guide(
            [
                Ask("category", "--category", "分类", choices=list(CATEGORIES.items())),
                Ask(
                    "subtype",
                    "--subtype",
                    "子类",
                    required=False,
                    choices=list(SUBTYPES.items()),
                    when=_unhandled,
                ),
            ],
            {"category": None, "subtype": None},
            f"分类确认：{number}",
        )
        category, subtype = v["category"], v["subtype"]
    sub = normalize_subtype(subtype) if subtype else None
    cat = normalize_category(category) if category else "unhandled"
    with session(write=True) as ctx:
        case = lifecycle.get_case(ctx.session, number, for_update=True)
        lifecycle.classify(ctx, case, category=cat, subtype=sub)
        data = case_out(ctx, case, as_json)
    if not as_json:
        typer.echo(
            f"{case.number} 已分类为「{data['category_label']}」，期限 {human(data['due_at'])}"
        )
    provisional_notice(data)


@app.command()
def dispatch(
    number: NumberArg,
    unit: Annotated[
        str | None,
        typer.Option("--unit", help="主办单位（中心内或中心外）", autocompletion=complete_units),
    ] = None,
    helper: Annotated[
        list[str] | None,
        typer.Option("--helper", help="协办单位，可多次给出", autocompletion=complete_units),
    ] = None,
    due: Annotated[
        str | None, typer.Option("--due", help="单位自己的到期日（不晚于案件期限）")
    ] = None,
    days: Annotated[int | None, _days("单位办理时限（自派单次日起的工作日数）")] = None,
    as_json: JsonOpt = False,
) -> None:
    """派单给主办单位（可加协办单位）；新单位自动加入名录。

    例：bbc dispatch BB20210412-001 --unit 省农保中心 --helper 社保窗口 --days 3
    """
    from banbucheng.domain import lifecycle

    if not unit:
        from banbucheng.window.guided import Ask

        known = check_first(number, "dispatch", _unit_names) or []
        pick = [(n, n) for n in known]
        confirm_new = functools.partial(_new_unit_question, known)
        v = guide(
            [
                Ask("unit", "--unit", "主办单位", choices=pick, free=True, confirm_new=confirm_new),
                Ask(
                    "helpers",
                    "--helper",
                    "协办单位",
                    required=False,
                    hint="可多个，用顿号分隔",
                    choices=pick,
                    free=True,
                    many=True,
                    confirm_new=confirm_new,
                ),
            ],
            {"unit": None, "helpers": list(helper) if helper else None},
            f"派单确认：{number}",
        )
        unit = v["unit"]
        helper = list(v["helpers"] or [])
    lead = required(unit, "--unit", "主办单位")
    unit_due = opt_date(due, "单位到期日")
    if unit_due is not None and days is not None:
        raise InvalidInput("--due 与 --days 只能给出一个")
    with session(write=True) as ctx:
        case = lifecycle.get_case(ctx.session, number, for_update=True)
        notices = lifecycle.dispatch(
            ctx, case, unit=lead, helpers=helper or [], unit_due=unit_due, unit_days=days
        )
        data = case_out(ctx, case, as_json)
    for text in notices:
        notice(text)
    if not as_json:
        typer.echo(f"{case.number} 已派给「{data['unit']}」，案件期限 {human(data['due_at'])}")


def _unit_names(ctx: Any) -> list[str]:
    from sqlmodel import select

    from banbucheng.schema.models import Unit

    return list(ctx.session.exec(select(Unit.name).order_by(Unit.name)).all())


def _new_unit_question(known: list[str], name: str) -> str | None:
    """A new unit close to a known one is likely a slip: ask before adding it."""
    from banbucheng.domain.units import similar_unit_names

    similar = similar_unit_names(name, known)
    if not similar:
        return None
    return f"「{name}」不在单位名录中，与已有的「{'、'.join(similar)}」相近；仍作为新单位加入吗？"


def _text_action(action: str, number: str, text: str, label: str) -> None:
    from banbucheng.core import labels
    from banbucheng.core.validate import clean_text
    from banbucheng.domain import lifecycle

    cleaned = clean_text(text, field=label)
    with session(write=True) as ctx:
        case = lifecycle.get_case(ctx.session, number, for_update=True)
        getattr(lifecycle, action)(ctx, case, **{"text" if action == "note" else "reason": cleaned})
        typer.echo(f"{case.number} 已{labels.ACTION_LABELS[action]}")


@app.command()
def note(
    number: NumberArg,
    text: Annotated[str, typer.Argument(help="进展情况", show_default=False)],
) -> None:
    """记录办理进展（反馈）。

    例：bbc note BB20210412-001 "省农保中心已核实，同意补发"
    """
    _text_action("note", number, text, "进展")


@app.command()
def escalate(
    number: NumberArg,
    reason: Annotated[str | None, typer.Option("--reason", help="上报原因")] = None,
) -> None:
    """上报领导小组协调。

    例：bbc escalate BB20210412-001 --reason "涉及省级单位，需中心领导协调"
    """
    _text_action("escalate", number, required(reason, "--reason", "上报原因"), "上报原因")


@app.command()
def refer(
    number: NumberArg,
    reason: Annotated[str | None, typer.Option("--reason", help="移交原因")] = None,
) -> None:
    """将不作为、吃拿卡要线索移交驻局纪检组。

    例：bbc refer BB20261127-002 --reason "窗口人员索要好处费"
    """
    _text_action("refer", number, required(reason, "--reason", "移交原因"), "移交原因")


@app.command()
def extend(
    number: NumberArg,
    to: Annotated[str | None, typer.Option("--to", help="新的到期日")] = None,
    days: Annotated[int | None, _days("延长的工作日数")] = None,
    reason: Annotated[str | None, typer.Option("--reason", help="延期理由")] = None,
    approver: Annotated[str | None, typer.Option("--approver", help="批准人")] = None,
    force: Annotated[bool, typer.Option("--force", help="到期后补办延期（记录在案）")] = False,
    as_json: JsonOpt = False,
) -> None:
    """延期：须在到期前，写明理由与批准人。

    例：bbc extend BB20210412-001 --days 5 --reason "待省里回函" --approver 王主任
    """
    from banbucheng.core.validate import clean_text
    from banbucheng.domain import lifecycle

    why = clean_text(required(reason, "--reason", "延期理由"), field="延期理由")
    who = clean_text(required(approver, "--approver", "批准人"), field="批准人", max_len=40)
    new_due = opt_date(to, "新的到期日")
    with session(write=True) as ctx:
        case = lifecycle.get_case(ctx.session, number, for_update=True)
        if new_due is not None and case.due_date is not None:
            # --to is bounded like --days: at most 60 working days past the current due day
            latest = ctx.calendar.add_workdays(case.due_date, WORKING_DAYS[1])
            if new_due > latest:
                raise InvalidInput(
                    f"一次延期至多 {WORKING_DAYS[1]} 个工作日："
                    f"新的到期日不能晚于 {latest.isoformat()}"
                )
        lifecycle.extend(ctx, case, reason=why, approver=who, to=new_due, days=days, force=force)
        data = case_out(ctx, case, as_json)
    if not as_json:
        typer.echo(f"{case.number} 已延期至 {human(data['due_at'])}")
    provisional_notice(data)


@app.command()
def close(
    number: NumberArg,
    result: Annotated[str | None, typer.Option("--result", help="办理结果")] = None,
    outcome: Annotated[
        str | None, typer.Option("--outcome", help="已解决(resolved) / 已答复不能办理(replied)")
    ] = None,
    at: Annotated[str | None, typer.Option("--at", help="办结时间（默认现在）")] = None,
    mechanism: Annotated[
        str | None,
        typer.Option(
            "--mechanism",
            help="长效机制：已有机制的编号或名称（按机制办结），或新机制的内容（由本案形成）",
        ),
    ] = None,
    template: Annotated[
        str | None,
        typer.Option("--template", help="答复口径的编号或名称（完全不能类；--result 可补充）"),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """办结：记录结果，计算用时（工作日）与是否按期；可形成或沿用长效机制。

    例：bbc close BB20210401-001 --result "中心出具证明" --at 2021-04-06
    --mechanism "窗口核实后直接出具证明"
    """
    from banbucheng.core.validate import clean_text
    from banbucheng.domain import lifecycle
    from banbucheng.services import cases as case_service

    if template is None and not result:
        from banbucheng.core import labels
        from banbucheng.window.guided import Ask

        check_first(number, "close")
        v = guide(
            [
                Ask("result", "--result", "办理结果"),
                Ask(
                    "outcome",
                    "--outcome",
                    "结果类别（默认按分类）",
                    required=False,
                    choices=list(labels.OUTCOMES.items()),
                ),
                Ask("mechanism", "--mechanism", "形成或沿用的长效机制", required=False),
            ],
            {"result": None, "outcome": outcome, "mechanism": mechanism},
            f"办结确认：{number}",
        )
        result, outcome, mechanism = v["result"], v["outcome"], v["mechanism"]
    if template is None:
        text = clean_text(required(result, "--result", "办理结果"), field="办理结果")
    else:
        text = clean_text(result or "", field="办理结果", required=False)
    kind = lifecycle.normalize_outcome(outcome) if outcome else None
    mech = clean_text(mechanism, field="长效机制", required=False) if mechanism else None
    closed_at = opt_datetime(at, "办结时间")
    with session(write=True) as ctx:
        case = lifecycle.get_case(ctx.session, number, for_update=True)
        case_service.close(
            ctx, case, result=text, outcome=kind, at=closed_at, mechanism=mech, template=template
        )
        if as_json or case.mechanism is not None:
            data = case_out(ctx, case, as_json)
        else:  # the line below needs only the case in hand (no mechanism to name)
            data = {"on_time": case.on_time, "working_days_used": case.working_days_used}
    if not as_json:
        timing = "按期" if data["on_time"] else "超期"
        typer.echo(f"{case.number} 已办结，用时 {data['working_days_used']} 个工作日，{timing}")
    _close_notices(data)


@app.command()
def visit(
    number: NumberArg,
    satisfaction: Annotated[
        str | None,
        typer.Option("--satisfaction", help="非常满意、满意、基本满意、不满意、非常不满意"),
    ] = None,
    text: Annotated[str, typer.Option("--note", help="回访记录")] = "",
    at: Annotated[str | None, typer.Option("--at", help="回访时间（默认现在）")] = None,
) -> None:
    """回访：按好差评五级记录满意度。

    例：bbc visit BB20210401-001 --satisfaction 非常满意 --note "霍女士表示问题已解决"
    """
    from banbucheng.core import labels
    from banbucheng.core.validate import clean_text
    from banbucheng.domain import lifecycle
    from banbucheng.window.guided import Ask

    if not satisfaction:
        check_first(number, "visit")
        v = guide(
            [
                Ask("satisfaction", "--satisfaction", "满意度", choices=_SATISFACTION_CHOICES),
                Ask("note", "--note", "回访记录", required=False),
            ],
            {"satisfaction": None, "note": text or None},
            f"回访确认：{number}",
        )
        satisfaction, text = v["satisfaction"], v["note"] or ""
    level = lifecycle.normalize_satisfaction(required(satisfaction, "--satisfaction", "满意度"))
    cleaned = clean_text(text, field="回访记录", required=False)
    visited_at = opt_datetime(at, "回访时间")
    with session(write=True) as ctx:
        case = lifecycle.get_case(ctx.session, number, for_update=True)
        lifecycle.visit(ctx, case, satisfaction=level, text=cleaned, at=visited_at)
    typer.echo(f"{case.number} 已回访：{labels.SATISFACTION[level]}")
    if level in ("dissatisfied", "very_dissatisfied"):
        notice(f"群众不满意，可重新办理：bbc reopen {case.number} --reason ...")


@app.command()
def reopen(
    number: NumberArg,
    reason: Annotated[str | None, typer.Option("--reason", help="重新办理的原因")] = None,
    days: Annotated[int | None, _days("新的办理时限（工作日，默认按分类）")] = None,
    as_json: JsonOpt = False,
) -> None:
    """群众不满意时重新办理，自今日起重新计算期限。

    例：bbc reopen BB20210401-001 --reason "回访不满意：证明未被供货商认可"
    """
    from banbucheng.core.validate import clean_text
    from banbucheng.domain import lifecycle

    why = clean_text(required(reason, "--reason", "重新办理的原因"), field="原因")
    with session(write=True) as ctx:
        case = lifecycle.get_case(ctx.session, number, for_update=True)
        lifecycle.reopen(ctx, case, reason=why, days=days)
        data = case_out(ctx, case, as_json)
    if not as_json:
        typer.echo(f"{case.number} 已重新办理，新期限 {human(data['due_at'])}")
    provisional_notice(data)


# ---------------------------------------------------------------- what the knowledge base says


def _registered(ctx: Any, case: Any) -> dict[str, Any]:
    """What register prints without --json, with the values case_out would give."""
    from sqlalchemy import select

    from banbucheng.domain.views import iso
    from banbucheng.schema.models import Case

    repeat = None
    if case.repeat_of_id is not None:
        cases = Case.__table__  # the number alone, not the whole case
        repeat = ctx.session.execute(
            select(cases.c.number).where(cases.c.id == case.repeat_of_id)
        ).scalar()
    return {
        "number": case.number,
        "category": case.category,
        "due_date": iso(case.due_date),
        "due_at": iso(case.due_at),
        "provisional": case.provisional,
        "repeat_of": repeat,
    }


def _register_notices(data: dict[str, Any]) -> None:
    """On stderr, so the case number on stdout stays scriptable."""
    if data.get("repeat_of"):
        notice(f"注意：该反映人近期反映过相似事项（{data['repeat_of']}），已标记为重复反映")
    if not data.get("similar"):
        return  # nothing to suggest: the window's text module is not loaded for nothing
    from banbucheng.window.knowledge_view import suggestion_lines

    for line in suggestion_lines(data["number"], data["similar"], data["category"]):
        notice(line)


def _close_notices(data: dict[str, Any]) -> None:
    if data.get("mechanism_role") == "source":
        # The command on a line of its own: a terminal would break it mid-option.
        notice(f"已形成长效机制 #{data['mechanism_id']}；可补充核实内容、决定人与出具材料：")
        notice(
            f"  bbc mechanism edit {data['mechanism_id']} --check ... --decider ... --issued ..."
        )
    elif data.get("mechanism_role") == "served":
        notice(f"已按长效机制 #{data['mechanism_id']}「{data['mechanism']}」办结")
