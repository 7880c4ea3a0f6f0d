"""The centre's settings: the unit directory (units), the working-day calendar
(calendar) and policy settings such as time limits (config).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from banbucheng.commands.common import JsonOpt, notice, opt_date, print_json, required, session
from banbucheng.core.validate import YEARS

units_app = typer.Typer(
    name="units", help="单位名录：查看、添加单位及其联系方式。", no_args_is_help=True
)
calendar_app = typer.Typer(
    name="calendar", help="工作日日历：覆盖年份、节假日与调休上班日。", no_args_is_help=True
)
config_app = typer.Typer(
    name="config", help="中心政策设置：办理时限、下班时间、编号前缀等。", no_args_is_help=True
)

# ---------------------------------------------------------------- units


@units_app.command("list")
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


@units_app.command("add")
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


@calendar_app.command("show")
def calendar_show(
    year: Annotated[
        int | None, typer.Argument(help="年份（默认今年）", min=YEARS[0], max=YEARS[1])
    ] = None,
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


@calendar_app.command("add")
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
    complete: Annotated[
        bool,
        typer.Option("--complete", help="这是该年通知的最后一部分：确认该年放假安排已完整录入"),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """录入国务院办公厅放假通知中的节假日和调休上班日（优先于内置日历）。
    整份通知请用 bbc calendar import；分几次录入时，最后一次加 --complete（或之后运行
    bbc calendar cover 年份），该年的期限才由暂定转为确定。

    例：bbc calendar add --holiday 2027-01-01..2027-01-03 --name 元旦
    --source "国办发明电〔2026〕X号"
    """
    from banbucheng.core.validate import clean_text
    from banbucheng.domain import calendar as calendar_admin

    src = clean_text(
        required(source, "--source", "依据（通知文号或网址）"), field="依据", max_len=200
    )
    label = clean_text(name, field="名称", max_len=40, required=False)
    days = calendar_admin.parse_days(holiday or [], workday or [])
    with session(write=True) as ctx:
        outcome = calendar_admin.add_days(ctx, days, name=label, source=src, complete=complete)
        open_years = _uncovered_years(ctx, days)
    if as_json:
        print_json(outcome.as_dict())
    else:
        typer.echo(
            f"已录入 {len(outcome.entered)} 天；{len(outcome.cases)} 件案件的期限已按新日历重算"
        )
        _show_outcome(outcome)
    for year in open_years:
        notice(
            f"注意：{year} 年尚未确认完整，涉及该年的期限仍为暂定；整份通知录入后请运行 "
            f"bbc calendar cover {year}（或最后一次录入时加 --complete）"
        )


@calendar_app.command("remove")
def calendar_remove(
    day: Annotated[list[str], typer.Argument(help="要删除的已录入日期或区间", show_default=False)],
    as_json: JsonOpt = False,
) -> None:
    """删除录错的日历条目（恢复为内置日历或估算规则）。删去某年的全部条目时，该年的
    完整确认一并撤销。受影响的期限在同一操作中重算。

    例：bbc calendar remove 2027-02-20
    """
    from banbucheng.domain import calendar as calendar_admin

    dates = calendar_admin.parse_day_list(day)
    with session(write=True) as ctx:
        outcome = calendar_admin.remove_days(ctx, dates)
    if as_json:
        print_json(outcome.as_dict())
        return
    typer.echo(f"已删除 {len(outcome.removed)} 天；{len(outcome.cases)} 件案件的期限已重算")
    _show_outcome(outcome)


class _DryRun(Exception):
    """Raised inside the transaction so that a dry run rolls it back."""


@calendar_app.command("import")
def calendar_import(
    file: Annotated[
        str, typer.Argument(help="通知全文的文本文件（UTF-8 或 GBK）；- 为标准输入", metavar="FILE")
    ],
    year: Annotated[
        int | None,
        typer.Option(
            "--year",
            min=YEARS[0],
            max=YEARS[1],
            help="通知标题中没有年份时给出（须与标题一致）",
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="只显示将录入的日期和将改变的期限，不保存")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """导入国务院办公厅的放假通知：把政府网站上通知的全文存为文本文件，一次录入其中
    全部放假日和调休上班日，以通知文号为依据。一年的整份通知（关于YYYY年部分节假日
    安排的通知）取代该年此前录入的条目，并确认该年已完整；调整、延长假期的通知在已录入
    的基础上修改。有任何一行读不懂时不导入，并指出是哪一行。

    例：bbc calendar import 2027年放假通知.txt --dry-run；bbc calendar import 2027年放假通知.txt
    """
    from banbucheng.core.notice_parser import parse_notice
    from banbucheng.domain import calendar as calendar_admin

    parsed = parse_notice(_read_text(file), year=year)
    outcome = None
    try:
        with session(write=True) as ctx:
            outcome = calendar_admin.import_notice(ctx, parsed)
            if dry_run:
                raise _DryRun
    except _DryRun:
        pass
    assert outcome is not None
    if as_json:
        print_json({"title": parsed.title, "dry_run": dry_run, **outcome.as_dict()})
        return
    typer.echo(f"{parsed.title}（{calendar_admin.notice_source(parsed)}）")
    for line in _day_runs(outcome.days):
        typer.echo(line)
    off = sum(1 for work, _ in outcome.days.values() if not work)
    verb = "将" if dry_run else "已"
    summary = (
        f"通知共 {off} 天放假、{len(outcome.days) - off} 天调休上班；"
        f"{verb}录入 {len(outcome.entered)} 天、删除 {len(outcome.removed)} 天"
    )
    if outcome.covered:
        summary += f"，{verb}确认 {'、'.join(map(str, outcome.covered))} 年放假安排完整"
    typer.echo(f"{summary}；{len(outcome.cases)} 件案件的期限{verb}按新日历重算")
    _show_outcome(outcome)
    if dry_run:
        notice("预览：未保存任何改动；确认无误后去掉 --dry-run 再运行一次")
    elif outcome.empty:
        notice("日历已与通知一致，未作改动")


@calendar_app.command("cover")
def calendar_cover(
    year: Annotated[
        int, typer.Argument(help="年份", show_default=False, min=YEARS[0], max=YEARS[1])
    ],
    source: Annotated[str | None, typer.Option("--source", help="依据：通知文号或网址")] = None,
    as_json: JsonOpt = False,
) -> None:
    """确认某年的放假通知已完整录入：该年的期限由暂定转为确定（分几次录入通知时用）。

    例：bbc calendar cover 2027 --source "国办发明电〔2026〕X号"
    """
    from banbucheng.core.validate import clean_text
    from banbucheng.domain import calendar as calendar_admin

    src = clean_text(source or "", field="依据", max_len=200, required=False)
    with session(write=True) as ctx:
        outcome = calendar_admin.cover_year(ctx, year, source=src)
    if as_json:
        print_json(outcome.as_dict())
        return
    typer.echo(f"已确认 {year} 年放假安排完整；{len(outcome.cases)} 件案件的期限已重算")
    _show_outcome(outcome)


@calendar_app.command("uncover")
def calendar_uncover(
    year: Annotated[
        int, typer.Argument(help="年份", show_default=False, min=YEARS[0], max=YEARS[1])
    ],
    as_json: JsonOpt = False,
) -> None:
    """撤销某年“已完整录入”的确认：该年的期限重新成为暂定（条目保留）。

    例：bbc calendar uncover 2027
    """
    from banbucheng.domain import calendar as calendar_admin

    with session(write=True) as ctx:
        outcome = calendar_admin.uncover_year(ctx, year)
    if as_json:
        print_json(outcome.as_dict())
        return
    typer.echo(f"已撤销 {year} 年的完整确认；{len(outcome.cases)} 件案件的期限已重算")
    _show_outcome(outcome)


@calendar_app.command("log")
def calendar_log(as_json: JsonOpt = False) -> None:
    """日历的修改记录：谁、何时、依据什么录入、删除或确认了哪些日子（均在事件链中，
    bbc verify 校验）。

    例：bbc calendar log
    """
    from banbucheng.domain import changes

    with session(write=False) as ctx:
        rows = changes.log(ctx.session, ("days", "years"))
    _show_log(rows, as_json)


@calendar_app.command("is-workday")
def calendar_is_workday(
    day: Annotated[str | None, typer.Argument(help="日期（默认今天）")] = None,
) -> None:
    """判断是否工作日：是则退出码 0，否则 1（供 cron 跳过非工作日）；年份未覆盖时提示。

    例：bbc calendar is-workday && bbc daily-report
    """
    with session(write=False) as ctx:
        target = opt_date(day, "日期") or ctx.now.date()
        working = ctx.calendar.is_workday(target)
        covered = ctx.calendar.is_covered(target.year)
    typer.echo(f"{target.isoformat()} {'是' if working else '不是'}工作日")
    if not covered:
        notice(f"注意：{target.year} 年节假日安排尚未载入，按周一至周五及固定节日估算")
    if not working:
        raise typer.Exit(1)


# ---------------------------------------------------------------- config


@config_app.command("show")
def config_show(as_json: JsonOpt = False) -> None:
    """显示中心政策设置（未设置的取默认值）。

    例：bbc config show
    """
    from sqlmodel import select

    from banbucheng.core.policy import SETTINGS
    from banbucheng.reports import render
    from banbucheng.schema.models import Setting

    with session(write=False) as ctx:
        stored = {s.key: s.value for s in ctx.session.exec(select(Setting)).all()}
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


@config_app.command("set")
def config_set(
    key: Annotated[str, typer.Argument(help="设置项，如 limit.unhandled", show_default=False)],
    value: Annotated[str, typer.Argument(help="新值", show_default=False)],
) -> None:
    """修改一项政策设置（记入事件链）。办理时限只影响此后分类的案件；下班时间和
    非工作日受理的计算方式适用于所有在办案件，其期限在同一操作中重算。

    例：bbc config set limit.hard 10
    """
    from banbucheng.core.policy import validate_setting
    from banbucheng.domain import config

    normalized = validate_setting(key, value)
    with session(write=True) as ctx:
        changed, cases = config.set_value(ctx, key, normalized)
    if not changed:
        typer.echo(f"{key} 已是 {normalized}，未作改动")
        return
    typer.echo(f"已设置 {key} = {normalized}")
    if cases:
        notice(f"{len(cases)} 件案件的期限已按新设置重算")
        for line in _case_lines(cases):
            typer.echo(line)


@config_app.command("log")
def config_log(as_json: JsonOpt = False) -> None:
    """政策设置的修改记录：谁、何时把哪一项从什么改为什么（均在事件链中，bbc verify 校验）。

    例：bbc config log
    """
    from banbucheng.domain import changes

    with session(write=False) as ctx:
        rows = changes.log(ctx.session, ("settings",))
    _show_log(rows, as_json)


# ---------------------------------------------------------------- output


def _read_text(name: str) -> str:
    """A notice's text from a file (or standard input): UTF-8, else GB18030 (GBK)."""
    import sys
    from pathlib import Path

    from banbucheng.core.errors import InvalidInput

    limit = 1_000_000
    if name == "-":
        data = sys.stdin.buffer.read(limit + 1)
    else:
        if "\x00" in name or not name.strip():
            raise InvalidInput("文件路径为空或含有不可见的控制字符")
        try:
            path = Path(name).expanduser()
            with path.open("rb") as f:
                data = f.read(limit + 1)
        except IsADirectoryError:
            raise InvalidInput("给出的是目录，请给出通知的文本文件") from None
        except (FileNotFoundError, NotADirectoryError):
            raise InvalidInput("找不到通知文件，请检查路径") from None
        except (OSError, UnicodeError, ValueError):
            raise InvalidInput("无法读取通知文件，请检查路径和权限") from None
    if len(data) > limit:
        raise InvalidInput("通知文件过大（超过 1 MB），请只保存通知的正文")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise InvalidInput("无法识别通知文件的编码，请存为 UTF-8 文本")


def _uncovered_years(ctx: Any, days: dict[Any, bool]) -> list[int]:
    return sorted({d.year for d in days if not ctx.calendar.is_covered(d.year)})


_WEEKDAYS = "一二三四五六日"


def _day_runs(days: dict[Any, tuple[bool, str]]) -> list[str]:
    """Consecutive days with the same arrangement on one line."""
    from datetime import timedelta

    runs: list[list[Any]] = []
    for d, (work, name) in sorted(days.items()):
        if runs and runs[-1][1] + timedelta(days=1) == d and runs[-1][2:] == [work, name]:
            runs[-1][1] = d
        else:
            runs.append([d, d, work, name])
    lines = []
    for first, last, work, name in runs:
        span = f"{first.isoformat()}（周{_WEEKDAYS[first.weekday()]}）"
        if last != first:
            n = (last - first).days + 1
            span += f" 至 {last.isoformat()}（周{_WEEKDAYS[last.weekday()]}），{n} 天"
        lines.append(f"  {name or '—'}：{span} {'上班' if work else '放假'}")
    return lines


def _case_lines(cases: list[dict[str, Any]]) -> list[str]:
    from banbucheng.core.timeutil import human

    lines = []
    for c in cases:
        before, after = c["before"], c["after"]
        parts = []
        if "due_date" in after:
            parts.append(f"到期日 {before.get('due_date')} → {after['due_date']}")
        elif "due_at" in after:
            parts.append(f"期限 {human(before.get('due_at'))} → {human(after['due_at'])}")
        if "provisional" in after:
            parts.append("暂定 → 确定" if not after["provisional"] else "确定 → 暂定")
        if "on_time" in after:
            parts.append("改判为按期" if after["on_time"] else "改判为超期")
        lines.append(f"  {c['number']}：{'；'.join(parts) or '用时重算'}")
    return lines


def _show_outcome(outcome: Any) -> None:
    for year in outcome.uncovered:
        notice(f"{year} 年的完整确认已撤销，涉及该年的期限重新成为暂定")
    for line in _case_lines(outcome.cases):
        typer.echo(line)


def _show_log(rows: list[dict[str, Any]], as_json: bool) -> None:
    from banbucheng.core.timeutil import human

    if as_json:
        print_json(rows)
        return
    if not rows:
        typer.echo("没有修改记录")
        return
    for row in rows:
        source = f"（{row['source']}）" if row["source"] else ""
        typer.echo(f"{human(row['at'])} {row['actor']} {row['action_label']}{source}")
        for line in _change_lines(row["changes"]):
            typer.echo(f"  {line}")


def _change_lines(changes: list[dict[str, Any]]) -> list[str]:
    """One line per change; consecutive days changed alike share a line."""
    from datetime import date, timedelta

    runs: list[list[Any]] = []  # [first key, last key, text]
    for change in changes:
        text, key = _change_text(change), change["key"]
        if change["section"] == "days" and runs and runs[-1][2] == text:
            try:
                follows = date.fromisoformat(runs[-1][1]) + timedelta(days=1)
                if follows == date.fromisoformat(key):
                    runs[-1][1] = key
                    continue
            except ValueError:
                pass
        runs.append([key, key, text])
    return [f"{first}{'..' + last if last != first else ''}{text}" for first, last, text in runs]


def _change_text(change: dict[str, Any]) -> str:
    """What changed, without the key (the day, year or setting it is shown after)."""

    def day(value: Any) -> str:
        if not isinstance(value, dict):
            return "无"
        name = f" {value['name']}" if value.get("name") else ""
        return f"{'上班' if value.get('workday') else '放假'}{name}"

    section, before, after = (change[k] for k in ("section", "before", "after"))
    if section == "days":
        if after is None:
            return f" 删除（原为{day(before)}）"
        if not isinstance(before, dict):
            return f" {day(after)}"
        return f" {day(after)}（原为{day(before)}，依据 {before.get('source') or '—'}）"
    if section == "years":
        return f" 年{'确认放假安排完整' if after else '撤销完整确认'}"
    if before is None:
        from banbucheng.core.policy import default_value, setting_keys

        key = change["key"]
        before = f"默认 {default_value(key) or '空'}" if key in setting_keys() else "未设置"
    return f"：{before} → {after}"
