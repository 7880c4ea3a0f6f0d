"""`bbc`: option declarations, one call into the library, and output.

Heavy modules (the store, sqlmodel, rich tables) are imported inside the commands
that use them, so `bbc --help` and shell completion stay fast.
"""

from __future__ import annotations

import functools
import getpass
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from banbucheng import __version__
from banbucheng.core.errors import BbcError, InvalidInput
from banbucheng.core.timeutil import human

if TYPE_CHECKING:
    from banbucheng.store import Ctx

F = TypeVar("F", bound=Callable[..., Any])

app = typer.Typer(
    help="办不成事反映窗口案件管理：登记、分类、派单、督办、办结、回访与每日汇总。"
    "不带命令运行 bbc 显示首页（今日待办）。",
    invoke_without_command=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)
units_app = typer.Typer(help="单位名录：查看、添加单位及其联系方式。", no_args_is_help=True)
calendar_app = typer.Typer(help="工作日日历：覆盖年份、节假日与调休上班日。", no_args_is_help=True)
config_app = typer.Typer(
    help="中心政策设置：办理时限、下班时间、编号前缀等。", no_args_is_help=True
)
app.add_typer(units_app, name="units")
app.add_typer(calendar_app, name="calendar")
app.add_typer(config_app, name="config")


class _State:
    db: str | None = None
    operator: str | None = None


state = _State()

JsonOpt = Annotated[bool, typer.Option("--json", help="输出 JSON（英文键名，供脚本使用）")]
NumberArg = Annotated[
    str,
    typer.Argument(
        help="案件编号，如 BB20210401-001",
        show_default=False,
        autocompletion=lambda ctx, incomplete: _complete("case_numbers", ctx, incomplete),
    ),
]


def _complete(kind: str, ctx: Any, incomplete: str) -> list[str]:
    from banbucheng.window import completion

    return getattr(completion, kind)(ctx, incomplete)


def _units(ctx: Any, incomplete: str) -> list[str]:
    return _complete("unit_names", ctx, incomplete)


def fail(message: str, code: int = 1) -> None:
    typer.echo(message, err=True)
    raise typer.Exit(code)


def notice(message: str) -> None:
    typer.echo(message, err=True)


def handles_errors(fn: F) -> F:
    """Turn domain errors into one Chinese line on stderr and an exit code; never a
    traceback (unless BBC_DEBUG is set, for developers)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except BbcError as exc:
            fail(f"错误：{exc.message}", exc.exit_code)
        except (typer.Exit, typer.Abort, KeyboardInterrupt):
            raise
        except Exception as exc:  # a bug: say so briefly, without data that may be personal
            if os.environ.get("BBC_DEBUG"):
                raise
            fail(f"内部错误（{type(exc).__name__}），操作未保存；设置 BBC_DEBUG=1 可查看详情", 70)

    return wrapper  # type: ignore[return-value]


def command(typer_app: typer.Typer = app, name: str | None = None) -> Callable[[F], F]:
    def deco(fn: F) -> F:
        typer_app.command(name)(handles_errors(fn))
        return fn

    return deco


def _version(value: bool) -> None:
    if value:
        typer.echo(f"bbc {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    ctx: typer.Context,
    db: Annotated[
        str | None,
        typer.Option(
            "--db", help="数据库：文件路径或 SQLAlchemy URL（默认取 BBC_DB，再默认用户数据目录）"
        ),
    ] = None,
    operator: Annotated[
        str | None,
        typer.Option("--operator", help="经办人（默认取 BBC_OPERATOR，再默认系统用户名）"),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="显示版本")
    ] = False,
) -> None:
    state.db = db
    state.operator = operator
    if ctx.invoked_subcommand is None and not ctx.resilient_parsing:
        from banbucheng.commands.window import home

        handles_errors(home)()


def _actor() -> str:
    actor = state.operator or os.environ.get("BBC_OPERATOR") or _os_user()
    from banbucheng.core.validate import clean_text

    return clean_text(actor, field="经办人", max_len=40)


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def open_store() -> Any:
    from banbucheng.store import Store, resolve_url

    return Store(resolve_url(state.db))


@contextmanager
def session(*, write: bool) -> Iterator[Ctx]:
    """Open the store and yield a context in one transaction. Provisional deadlines are
    brought up to date first, whenever the calendar has learnt more since."""
    from banbucheng.core.timeutil import now
    from banbucheng.domain import lifecycle

    store = open_store()
    moment, actor = now(), _actor()
    try:
        with store.context(actor=actor, now=moment, write=False) as ctx:
            stale = lifecycle.pending_recompute(ctx)
        if stale:
            with store.context(actor=actor, now=moment) as ctx:
                n = lifecycle.refresh_provisional(ctx)
            notice(f"提示：节假日安排已更新，{n} 件案件的暂定期限已重新计算")
        with store.context(actor=actor, now=moment, write=write) as ctx:
            yield ctx
    finally:
        store.close()


def print_json(data: Any) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2))


def _case_out(ctx: Ctx, case: Any, as_json: bool, *, reveal: bool = False) -> dict[str, Any]:
    from banbucheng.domain.views import case_dicts

    data = case_dicts(ctx.session, [case], now=ctx.now, calendar=ctx.calendar, reveal=reveal)[0]
    if as_json:
        print_json(data)
    return data


def _provisional_notice(data: dict[str, Any]) -> None:
    if data.get("provisional"):
        notice(
            f"注意：期限 {data['due_date']} 为暂定——该年份的节假日安排尚未载入日历，"
            "按周一至周五及固定节日估算；"
            "载入后（升级 chinese-calendar 或 bbc calendar add）将自动重算"
        )


def _opt_datetime(text: str | None, field: str) -> Any:
    if text is None:
        return None
    from banbucheng.core.validate import parse_datetime

    return parse_datetime(text, field=field)


def _opt_date(text: str | None, field: str) -> Any:
    if text is None:
        return None
    from banbucheng.core.validate import parse_date

    return parse_date(text, field=field)


def _guide(asks: list[Any], given: dict[str, Any], title: str) -> dict[str, Any]:
    """Fill what the command line left out: asked on a terminal, an error elsewhere; when
    anything was asked, the whole entry is shown for confirmation before saving."""
    from banbucheng.window.guided import confirm, fill

    values = fill(asks, given)
    if values.pop("_prompted", False):
        rows = [(a.label, _shown(a, values.get(a.key))) for a in asks]
        if not confirm(title, rows):
            fail("已取消，未保存")
    return values


def _shown(ask: Any, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return "、".join(value)
    return dict(ask.choices).get(value, str(value))


def _now_text() -> str:
    from banbucheng.core.timeutil import now

    return now().strftime("%Y-%m-%d %H:%M")


_CHANNEL_CHOICES = [("窗口", "窗口"), ("线上", "线上"), ("电话", "电话"), ("12345", "12345")]
_SATISFACTION_CHOICES = [
    ("非常满意", "非常满意"),
    ("满意", "满意"),
    ("基本满意", "基本满意"),
    ("不满意", "不满意"),
    ("非常不满意", "非常不满意"),
]


def _required(value: str | None, option: str, label: str) -> str:
    if value is None or not value.strip():
        raise InvalidInput(f"缺少{label}（{option}）")
    return value


# ---------------------------------------------------------------- lifecycle


@command()
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
    from banbucheng.core.policy import CATEGORIES, SUBTYPES, normalize_category, normalize_subtype
    from banbucheng.core.validate import (
        clean_text,
        normalize_id_number,
        normalize_phone,
        parse_datetime,
    )
    from banbucheng.domain import lifecycle
    from banbucheng.window.guided import Ask

    v = _guide(
        [
            Ask("name", "--name", "反映人姓名", check=lambda t: clean_text(t, field="姓名")),
            Ask("phone", "--phone", "联系电话", check=normalize_phone),
            Ask("id_number", "--id-number", "身份证号", required=False, check=normalize_id_number),
            Ask("matter", "--matter", "反映事项", check=lambda t: clean_text(t, field="反映事项")),
            Ask("department", "--department", "受阻部门或窗口", required=False),
            Ask("channel", "--channel", "受理渠道", False, "1", _CHANNEL_CHOICES),
            Ask("at", "--at", "受理时间", False, _now_text(), check=parse_datetime),
            Ask("category", "--category", "分类", required=False, choices=list(CATEGORIES.items())),
            Ask(
                "subtype",
                "--subtype",
                "子类",
                required=False,
                choices=list(SUBTYPES.items()),
                when=lambda got: got.get("category") in ("unhandled", "应办未办"),
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
    name, phone, id_number, matter = v["name"], v["phone"], v["id_number"], v["matter"]
    department, channel, at = v["department"] or "", v["channel"] or "窗口", v["at"]
    category, subtype = v["category"], v["subtype"]
    fields = dict(
        citizen_name=clean_text(_required(name, "--name", "反映人姓名"), field="姓名", max_len=40),
        phone=normalize_phone(_required(phone, "--phone", "联系电话"), field="联系电话"),
        matter=clean_text(_required(matter, "--matter", "反映事项"), field="反映事项"),
        id_number=normalize_id_number(id_number) if id_number else None,
        department=clean_text(department, field="部门", max_len=60, required=False),
        channel=lifecycle.normalize_channel(channel),
        received_at=_opt_datetime(at, "受理时间"),
        category=normalize_category(category) if category else None,
        subtype=normalize_subtype(subtype) if subtype else None,
    )
    from banbucheng.commands.knowledge import register_notices, register_suggestions

    with session(write=True) as ctx:
        case = lifecycle.register(ctx, **fields)
        data = _case_out(ctx, case, False)
        data["similar"] = register_suggestions(ctx, case)
    if as_json:
        print_json(data)
    else:
        typer.echo(case.number)
        notice(
            f"已登记 {case.number}"
            + (f"，期限 {human(data['due_at'])}" if data["due_at"] else "，待分类")
        )
    _provisional_notice(data)
    register_notices(data)


@command()
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
        v = _guide(
            [
                Ask("category", "--category", "分类", choices=list(CATEGORIES.items())),
                Ask(
                    "subtype",
                    "--subtype",
                    "子类",
                    required=False,
                    choices=list(SUBTYPES.items()),
                    when=lambda got: got.get("category") == "unhandled",
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
        data = _case_out(ctx, case, as_json)
    if not as_json:
        typer.echo(
            f"{case.number} 已分类为「{data['category_label']}」，期限 {human(data['due_at'])}"
        )
    _provisional_notice(data)


@command()
def dispatch(
    number: NumberArg,
    unit: Annotated[
        str | None,
        typer.Option("--unit", help="主办单位（中心内或中心外）", autocompletion=_units),
    ] = None,
    helper: Annotated[
        list[str] | None,
        typer.Option("--helper", help="协办单位，可多次给出", autocompletion=_units),
    ] = None,
    due: Annotated[
        str | None, typer.Option("--due", help="单位自己的到期日（不晚于案件期限）")
    ] = None,
    days: Annotated[
        int | None, typer.Option("--days", help="单位办理时限（自派单次日起的工作日数）")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """派单给主办单位（可加协办单位）；新单位自动加入名录。

    例：bbc dispatch BB20210412-001 --unit 省农保中心 --helper 社保窗口 --days 3
    """
    from banbucheng.domain import lifecycle

    if not unit:
        from banbucheng.window.guided import Ask, interactive

        known: list[str] = []
        if interactive():
            from banbucheng.domain import units as units_mod

            with session(write=False) as ctx:
                known = [u["name"] for u in units_mod.directory(ctx.session, ctx.now)]
        pick = [(n, n) for n in known]
        v = _guide(
            [
                Ask("unit", "--unit", "主办单位", choices=pick, free=True),
                Ask("helpers", "--helper", "协办单位（多个用顿号分隔）", required=False),
            ],
            {"unit": None, "helpers": "、".join(helper or []) or None},
            f"派单确认：{number}",
        )
        unit = v["unit"]
        helper = [
            h.strip() for h in (v["helpers"] or "").replace(",", "、").split("、") if h.strip()
        ]
    lead = _required(unit, "--unit", "主办单位")
    unit_due = _opt_date(due, "单位到期日")
    if unit_due is not None and days is not None:
        raise InvalidInput("--due 与 --days 只能给出一个")
    with session(write=True) as ctx:
        case = lifecycle.get_case(ctx.session, number, for_update=True)
        notices = lifecycle.dispatch(
            ctx, case, unit=lead, helpers=helper or [], unit_due=unit_due, unit_days=days
        )
        data = _case_out(ctx, case, as_json)
    for text in notices:
        notice(text)
    if not as_json:
        typer.echo(f"{case.number} 已派给「{data['unit']}」，案件期限 {human(data['due_at'])}")


def _text_action(action: str, number: str, text: str, label: str) -> None:
    from banbucheng.core.validate import clean_text
    from banbucheng.domain import lifecycle

    cleaned = clean_text(text, field=label)
    with session(write=True) as ctx:
        case = lifecycle.get_case(ctx.session, number, for_update=True)
        getattr(lifecycle, action)(ctx, case, **{"text" if action == "note" else "reason": cleaned})
        typer.echo(f"{case.number} 已{lifecycle.ACTION_LABELS[action]}")


@command()
def note(
    number: NumberArg,
    text: Annotated[str, typer.Argument(help="进展情况", show_default=False)],
) -> None:
    """记录办理进展（反馈）。

    例：bbc note BB20210412-001 "省农保中心已核实，同意补发"
    """
    _text_action("note", number, text, "进展")


@command()
def escalate(
    number: NumberArg,
    reason: Annotated[str | None, typer.Option("--reason", help="上报原因")] = None,
) -> None:
    """上报领导小组协调。

    例：bbc escalate BB20210412-001 --reason "涉及省级单位，需中心领导协调"
    """
    _text_action("escalate", number, _required(reason, "--reason", "上报原因"), "上报原因")


@command()
def refer(
    number: NumberArg,
    reason: Annotated[str | None, typer.Option("--reason", help="移交原因")] = None,
) -> None:
    """将不作为、吃拿卡要线索移交驻局纪检组。

    例：bbc refer BB20261127-002 --reason "窗口人员索要好处费"
    """
    _text_action("refer", number, _required(reason, "--reason", "移交原因"), "移交原因")


@command()
def extend(
    number: NumberArg,
    to: Annotated[str | None, typer.Option("--to", help="新的到期日")] = None,
    days: Annotated[int | None, typer.Option("--days", help="延长的工作日数")] = None,
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

    why = clean_text(_required(reason, "--reason", "延期理由"), field="延期理由")
    who = clean_text(_required(approver, "--approver", "批准人"), field="批准人", max_len=40)
    new_due = _opt_date(to, "新的到期日")
    with session(write=True) as ctx:
        case = lifecycle.get_case(ctx.session, number, for_update=True)
        lifecycle.extend(ctx, case, reason=why, approver=who, to=new_due, days=days, force=force)
        data = _case_out(ctx, case, as_json)
    if not as_json:
        typer.echo(f"{case.number} 已延期至 {human(data['due_at'])}")
    _provisional_notice(data)


@command()
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
    from banbucheng.commands.knowledge import close_notices
    from banbucheng.core.validate import clean_text
    from banbucheng.domain import lifecycle
    from banbucheng.window.guided import Ask

    if template is None and not result:
        v = _guide(
            [
                Ask("result", "--result", "办理结果"),
                Ask(
                    "outcome",
                    "--outcome",
                    "结果类别（默认按分类）",
                    required=False,
                    choices=list(lifecycle.OUTCOMES.items()),
                ),
                Ask("mechanism", "--mechanism", "形成或沿用的长效机制", required=False),
            ],
            {"result": None, "outcome": outcome, "mechanism": mechanism},
            f"办结确认：{number}",
        )
        result, outcome, mechanism = v["result"], v["outcome"], v["mechanism"]
    if template is None:
        text = clean_text(_required(result, "--result", "办理结果"), field="办理结果")
    else:
        text = clean_text(result or "", field="办理结果", required=False)
    kind = lifecycle.normalize_outcome(outcome) if outcome else None
    mech = clean_text(mechanism, field="长效机制", required=False) if mechanism else None
    closed_at = _opt_datetime(at, "办结时间")
    with session(write=True) as ctx:
        case = lifecycle.get_case(ctx.session, number, for_update=True)
        lifecycle.close(
            ctx, case, result=text, outcome=kind, at=closed_at, mechanism=mech, template=template
        )
        data = _case_out(ctx, case, as_json)
    if not as_json:
        timing = "按期" if data["on_time"] else "超期"
        typer.echo(f"{case.number} 已办结，用时 {data['working_days_used']} 个工作日，{timing}")
    close_notices(data)


@command()
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
    from banbucheng.core.validate import clean_text
    from banbucheng.domain import lifecycle
    from banbucheng.window.guided import Ask

    if not satisfaction:
        v = _guide(
            [
                Ask("satisfaction", "--satisfaction", "满意度", choices=_SATISFACTION_CHOICES),
                Ask("note", "--note", "回访记录", required=False),
            ],
            {"satisfaction": None, "note": text or None},
            f"回访确认：{number}",
        )
        satisfaction, text = v["satisfaction"], v["note"] or ""
    level = lifecycle.normalize_satisfaction(_required(satisfaction, "--satisfaction", "满意度"))
    cleaned = clean_text(text, field="回访记录", required=False)
    visited_at = _opt_datetime(at, "回访时间")
    with session(write=True) as ctx:
        case = lifecycle.get_case(ctx.session, number, for_update=True)
        lifecycle.visit(ctx, case, satisfaction=level, text=cleaned, at=visited_at)
    typer.echo(f"{case.number} 已回访：{lifecycle.SATISFACTION[level]}")
    if level in ("dissatisfied", "very_dissatisfied"):
        notice(f"群众不满意，可重新办理：bbc reopen {case.number} --reason ...")


@command()
def reopen(
    number: NumberArg,
    reason: Annotated[str | None, typer.Option("--reason", help="重新办理的原因")] = None,
    days: Annotated[int | None, typer.Option("--days", help="新的办理时限（默认按分类）")] = None,
    as_json: JsonOpt = False,
) -> None:
    """群众不满意时重新办理，自今日起重新计算期限。

    例：bbc reopen BB20210401-001 --reason "回访不满意：证明未被供货商认可"
    """
    from banbucheng.core.validate import clean_text
    from banbucheng.domain import lifecycle

    why = clean_text(_required(reason, "--reason", "重新办理的原因"), field="原因")
    with session(write=True) as ctx:
        case = lifecycle.get_case(ctx.session, number, for_update=True)
        lifecycle.reopen(ctx, case, reason=why, days=days)
        data = _case_out(ctx, case, as_json)
    if not as_json:
        typer.echo(f"{case.number} 已重新办理，新期限 {human(data['due_at'])}")
    _provisional_notice(data)


# ---------------------------------------------------------------- reading


@command()
def show(
    number: NumberArg,
    reveal: Annotated[bool, typer.Option("--reveal", help="显示未遮盖的个人信息")] = False,
    as_json: JsonOpt = False,
) -> None:
    """查看案件详情与完整时间线；--reveal 显示原文，并记入时间线（谁查看了谁的信息）。

    例：bbc show BB20210401-001
    """
    from banbucheng.domain import lifecycle
    from banbucheng.domain.views import event_dicts
    from banbucheng.reports import render

    with session(write=reveal) as ctx:
        case = lifecycle.get_case(ctx.session, number, for_update=reveal)
        if reveal:
            lifecycle.record_reveal(ctx, case)  # the event holds no personal data
        data = _case_out(ctx, case, False, reveal=reveal)
        data["events"] = event_dicts(lifecycle.events_of(ctx.session, case.id))
    if as_json:
        print_json(data)
    else:
        render.case_detail(data)
    _provisional_notice(data)


def _statuses(text: str | None) -> list[str]:
    from banbucheng.domain.lifecycle import OPEN_STATUSES, STATUS_LABELS

    if not text:
        return []
    out: list[str] = []
    for part in text.replace("，", ",").split(","):
        part = part.strip()
        if part in ("open", "未办结"):
            out.extend(OPEN_STATUSES)
            continue
        for key, label in STATUS_LABELS.items():
            if part in (key, label):
                out.append(key)
                break
        else:
            raise InvalidInput(
                "未知的状态，应为 open（未办结）、registered（待分类）、classified（待派单）、"
                "dispatched（办理中）、closed（已办结），可用逗号分隔多个"
            )
    return out


@command(name="list")
def list_(
    status: Annotated[
        str | None, typer.Option("--status", help="状态，如 open、closed、办理中")
    ] = None,
    category: Annotated[str | None, typer.Option("--category", help="应办未办 / 完全不能")] = None,
    subtype: Annotated[str | None, typer.Option("--subtype", help="很难办 / 不作为")] = None,
    unit: Annotated[str | None, typer.Option("--unit", help="主办单位")] = None,
    date_from: Annotated[str | None, typer.Option("--from", help="受理日期起")] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="受理日期止（含）")] = None,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="至多显示条数")] = None,
    as_json: JsonOpt = False,
) -> None:
    """按状态、分类、单位、受理日期筛选案件（个人信息已遮盖）。

    例：bbc list --status open --unit 省农保中心 --from 2021-04-01
    """
    from banbucheng.core.policy import normalize_category, normalize_subtype
    from banbucheng.domain import queries
    from banbucheng.domain.views import case_dicts
    from banbucheng.reports import render

    filters = dict(
        statuses=_statuses(status),
        category=normalize_category(category) if category else None,
        subtype=normalize_subtype(subtype) if subtype else None,
        unit=unit.strip() if unit else None,
        received_from=_opt_date(date_from, "起始日期"),
        received_to=_opt_date(date_to, "截止日期"),
        limit=limit,
    )
    with session(write=False) as ctx:
        cases = queries.list_cases(ctx.session, **filters)
        rows = case_dicts(ctx.session, cases, now=ctx.now, calendar=ctx.calendar)
    if as_json:
        print_json(rows)
    else:
        render.case_table(rows, title=f"案件（{len(rows)} 件）")


# ---------------------------------------------------------------- units


@command(units_app, name="list")
def units_list(as_json: JsonOpt = False) -> None:
    """单位名录及各单位在办、超期件数。

    例：bbc units list
    """
    from banbucheng.domain import units
    from banbucheng.reports import render

    with session(write=False) as ctx:
        rows = units.directory(ctx.session, ctx.now)
    if as_json:
        print_json(rows)
    else:
        render.units_table(rows)


@command(units_app, name="add")
def units_add(
    name: Annotated[str, typer.Argument(help="单位名称", show_default=False)],
    contact: Annotated[str, typer.Option("--contact", help="联系人与电话")] = "",
) -> None:
    """添加单位，或更新已有单位的联系方式。

    例：bbc units add 省农保中心 --contact "张科长 0571-87654321"
    """
    from banbucheng.core.validate import clean_text
    from banbucheng.domain import units

    cleaned = clean_text(contact, field="联系方式", max_len=100, required=False)
    with session(write=True) as ctx:
        created, similar = units.add(ctx, name, contact=cleaned)
    typer.echo(f"已{'添加' if created else '更新'}单位「{name.strip()}」")
    if similar:
        notice(f"相似的已有单位：{'、'.join(similar)}")


# ---------------------------------------------------------------- calendar


@command(calendar_app, name="show")
def calendar_show(
    year: Annotated[int | None, typer.Argument(help="年份（默认今年）")] = None,
    as_json: JsonOpt = False,
) -> None:
    """显示日历覆盖的年份，以及某年的节假日与调休上班日。

    例：bbc calendar show 2026
    """
    from banbucheng.domain import calendar as calendar_admin
    from banbucheng.reports import render

    with session(write=False) as ctx:
        info = calendar_admin.year_info(ctx, year or ctx.now.year)
    if as_json:
        print_json(info)
    else:
        render.calendar_year(info)


@command(calendar_app, name="add")
def calendar_add(
    holiday: Annotated[
        list[str] | None,
        typer.Option("--holiday", help="放假日期或区间，如 2027-02-06..2027-02-13"),
    ] = None,
    workday: Annotated[
        list[str] | None, typer.Option("--workday", help="调休上班日，如 2027-02-20")
    ] = None,
    name: Annotated[str, typer.Option("--name", help="节日名称，如 春节")] = "",
    source: Annotated[str | None, typer.Option("--source", help="依据：通知文号或网址")] = None,
) -> None:
    """录入国务院办公厅放假通知中的节假日和调休上班日（优先于内置日历）。

    例：bbc calendar add --holiday 2027-01-01..2027-01-03 --name 元旦
    --source "国办发明电〔2026〕X号"
    """
    from banbucheng.core.validate import clean_text
    from banbucheng.domain import calendar as calendar_admin

    src = clean_text(
        _required(source, "--source", "依据（通知文号或网址）"), field="依据", max_len=200
    )
    label = clean_text(name, field="名称", max_len=40, required=False)
    days = calendar_admin.parse_days(holiday or [], workday or [])
    with session(write=True) as ctx:
        added, recomputed = calendar_admin.add_days(ctx, days, name=label, source=src)
    typer.echo(f"已录入 {added} 天；{recomputed} 件案件的期限已按新日历重算")


@command(calendar_app, name="remove")
def calendar_remove(
    day: Annotated[list[str], typer.Argument(help="要删除的已录入日期", show_default=False)],
) -> None:
    """删除录错的日历条目（恢复为内置日历或估算规则）。

    例：bbc calendar remove 2027-02-20
    """
    from banbucheng.core.validate import parse_date
    from banbucheng.domain import calendar as calendar_admin

    dates = [parse_date(d) for d in day]
    with session(write=True) as ctx:
        removed, recomputed = calendar_admin.remove_days(ctx, dates)
    typer.echo(f"已删除 {removed} 天；{recomputed} 件案件的期限已重算")


@command(calendar_app, name="is-workday")
def calendar_is_workday(
    day: Annotated[str | None, typer.Argument(help="日期（默认今天）")] = None,
) -> None:
    """判断是否工作日：是则退出码 0，否则 1（供 cron 跳过非工作日）；年份未覆盖时提示。

    例：bbc calendar is-workday && bbc daily-report
    """
    with session(write=False) as ctx:
        target = _opt_date(day, "日期") or ctx.now.date()
        working = ctx.calendar.is_workday(target)
        covered = ctx.calendar.is_covered(target.year)
    typer.echo(f"{target.isoformat()} {'是' if working else '不是'}工作日")
    if not covered:
        notice(f"注意：{target.year} 年节假日安排尚未载入，按周一至周五及固定节日估算")
    if not working:
        raise typer.Exit(1)


# ---------------------------------------------------------------- config


@command(config_app, name="show")
def config_show(as_json: JsonOpt = False) -> None:
    """显示中心政策设置（未设置的取默认值）。

    例：bbc config show
    """
    from banbucheng.core.policy import SETTINGS
    from banbucheng.reports import render
    from banbucheng.schema.models import Setting

    with session(write=False) as ctx:
        stored = {s.key: s.value for s in ctx.session.exec(_select(Setting)).all()}
    rows = [
        {
            "key": s.key,
            "value": stored.get(s.key, s.default),
            "default": s.default,
            "label": s.label,
        }
        for s in SETTINGS
    ]
    if as_json:
        print_json(rows)
    else:
        render.settings_table(rows)


def _select(model: Any) -> Any:
    from sqlmodel import select

    return select(model)


@command(config_app, name="set")
def config_set(
    key: Annotated[str, typer.Argument(help="设置项，如 limit.unhandled", show_default=False)],
    value: Annotated[str, typer.Argument(help="新值", show_default=False)],
) -> None:
    """修改一项政策设置；只影响此后确定的期限，已定期限不变。

    例：bbc config set limit.hard 10
    """
    from banbucheng.core.policy import validate_setting
    from banbucheng.schema.models import Setting

    normalized = validate_setting(key, value)
    with session(write=True) as ctx:
        row = ctx.session.get(Setting, key) or Setting(key=key, value=normalized)
        row.value = normalized
        ctx.session.add(row)
    typer.echo(f"已设置 {key} = {normalized}")


# ---------------------------------------------------------------- demo


@command()
def demo(
    db: Annotated[
        str | None, typer.Option("--db", help="演示数据库（默认为数据目录下的 demo.sqlite3）")
    ] = None,
) -> None:
    """载入两件真实案例（李海清的社保卡、霍女士的诊所两证）并打印当日汇总。

    例：bbc demo
    """
    from banbucheng.window import demo as demo_mod

    target = db or state.db or demo_mod.default_path()
    state.db = target
    state.operator = state.operator or "演示窗口"
    with session(write=True) as ctx:
        numbers = demo_mod.load(ctx)
    typer.echo(f"演示数据库：{target}")
    typer.echo(f"已载入案例：{'、'.join(numbers)}")
    from banbucheng.commands.reports import print_daily_report

    print_daily_report(demo_mod.REPORT_DAY)
    typer.echo(f"\n继续查看：bbc --db {target} show {numbers[-1]}")


def run() -> None:
    """Entry point: `bbc`."""
    app(prog_name="bbc")


# Imported last: each module adds its commands to `app` above.
from banbucheng.commands import knowledge, reports, trust, window  # noqa: E402, F401
