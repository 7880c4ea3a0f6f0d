"""The centre's settings: the unit directory (units), the working-day calendar
(calendar) and policy settings such as time limits (config).
"""

from __future__ import annotations

from typing import Annotated

import typer

from banbucheng.commands.common import JsonOpt, notice, opt_date, print_json, required, session

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
) -> None:
    """录入国务院办公厅放假通知中的节假日和调休上班日（优先于内置日历）。

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
        added, recomputed = calendar_admin.add_days(ctx, days, name=label, source=src)
    typer.echo(f"已录入 {added} 天；{recomputed} 件案件的期限已按新日历重算")


@calendar_app.command("remove")
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
