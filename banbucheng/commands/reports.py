"""Report commands: daily-report, overdue, due, report, export.

Every report and list takes the same output switches (`output_options`) and is
written by one function (`emit`): a rich table on a terminal, or --json, --csv,
--md, --xlsx FILE; --output FILE sends JSON, CSV or Markdown to a file instead of
standard output. Heavy modules are imported inside the commands.
"""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from banbucheng.commands.common import (
    SHOWN,
    more_note,
    notice,
    opt_date,
    session,
    store_label,
    write_chunks,
)
from banbucheng.core.errors import InvalidInput
from banbucheng.core.validate import WITHIN_DAYS

if TYPE_CHECKING:
    from banbucheng.reports.document import Document

F = TypeVar("F", bound=Callable[..., Any])

app = typer.Typer()

# Exit codes a script can test (README: 退出码).
EXIT_OVERDUE = 4  # overdue, due: some case is overdue
EXIT_DUE_SOON = 5  # due: nothing overdue, but some case is due within the horizon


@dataclass(frozen=True)
class Output:
    """The output switches every report and list takes."""

    as_json: bool = False
    as_csv: bool = False
    as_md: bool = False
    xlsx: str | None = None
    output: str | None = None

    @property
    def format(self) -> str | None:
        chosen = [
            name
            for name, on in (
                ("json", self.as_json),
                ("csv", self.as_csv),
                ("md", self.as_md),
                ("xlsx", self.xlsx is not None),
            )
            if on
        ]
        if len(chosen) > 1:
            raise InvalidInput("--json、--csv、--md、--xlsx 只能选一个")
        return chosen[0] if chosen else None

    def check(self) -> None:
        fmt = self.format
        if self.output is not None and fmt in (None, "xlsx"):
            raise InvalidInput("--output 须与 --json、--csv 或 --md 一起使用（--xlsx 自带文件名）")


_OUTPUT_PARAMS = [
    inspect.Parameter(
        "as_json",
        inspect.Parameter.KEYWORD_ONLY,
        default=False,
        annotation=Annotated[
            bool, typer.Option("--json", help="输出 JSON（英文键名，供脚本使用）")
        ],
    ),
    inspect.Parameter(
        "as_csv",
        inspect.Parameter.KEYWORD_ONLY,
        default=False,
        annotation=Annotated[
            bool, typer.Option("--csv", help="输出 CSV（UTF-8 带 BOM，Excel、WPS 可直接打开）")
        ],
    ),
    inspect.Parameter(
        "as_md",
        inspect.Parameter.KEYWORD_ONLY,
        default=False,
        annotation=Annotated[bool, typer.Option("--md", help="输出 Markdown（便于粘贴到消息中）")],
    ),
    inspect.Parameter(
        "xlsx",
        inspect.Parameter.KEYWORD_ONLY,
        default=None,
        annotation=Annotated[
            str | None,
            typer.Option("--xlsx", metavar="FILE", help="写入 Excel 工作簿（图表在单独的工作表）"),
        ],
    ),
    inspect.Parameter(
        "output",
        inspect.Parameter.KEYWORD_ONLY,
        default=None,
        annotation=Annotated[
            str | None,
            typer.Option(
                "--output", "-o", metavar="FILE", help="把 JSON、CSV 或 Markdown 写入文件"
            ),
        ],
    ),
]


def output_options(fn: F) -> F:
    """Give a command the shared output switches; it receives them as `out: Output`."""
    return _WithOutput(fn)  # type: ignore[return-value]


class _WithOutput:
    """A command function with the output switches added to its signature. The
    signature is made when typer first reads it (the command is built), not as this
    module is imported: evaluating the annotations of every report command would cost
    each process that runs another command."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        functools.update_wrapper(self, fn)
        self._fn = fn
        self._signature: inspect.Signature | None = None

    @property
    def __signature__(self) -> inspect.Signature:
        if self._signature is None:
            signature = inspect.signature(self._fn, eval_str=True)
            params = [p for p in signature.parameters.values() if p.name != "out"]
            self._signature = signature.replace(parameters=params + _OUTPUT_PARAMS)
        return self._signature

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        out = Output(
            as_json=kwargs.pop("as_json", False),
            as_csv=kwargs.pop("as_csv", False),
            as_md=kwargs.pop("as_md", False),
            xlsx=kwargs.pop("xlsx", None),
            output=kwargs.pop("output", None),
        )
        out.check()
        return self._fn(*args, out=out, **kwargs)


def emit(doc: Document, out: Output) -> None:
    """Render a report in the chosen format: to the terminal, standard output or a file."""
    fmt = out.format
    if fmt is None:
        from banbucheng.reports import render

        render.document(doc, source=store_label())
        return
    from banbucheng.reports import exports  # only for a file format (openpyxl inside)

    target = out.xlsx if fmt == "xlsx" else out.output
    if target is None:
        typer.echo(exports.render(doc, fmt), nl=False)
        return
    # To a file as it is made (JSON and CSV a piece at a time), never held whole.
    exports.write_file(Path(target), exports.render_stream(doc, fmt))
    notice(f"已写入 {target}")


def _provisional_notice(rows: list[dict[str, Any]]) -> None:
    if any(r.get("provisional") for r in rows):
        notice(
            "注意：标“暂定”的期限所在年份的节假日安排尚未载入日历，按周一至周五及固定节日估算；"
            "载入后（升级 chinese-calendar 或 bbc calendar import）将自动重算"
        )


UnitOpt = Annotated[str | None, typer.Option("--unit", help="只看某个主办单位")]
AllOpt = Annotated[bool, typer.Option("--all", help="表格显示全部（默认只显示前 50 件）")]


# ---------------------------------------------------------------- the daily roll-up


@app.command("daily-report")
@output_options
def daily_report(
    day: Annotated[str | None, typer.Option("--date", help="日期（默认今天）")] = None,
    pdf: Annotated[
        str | None,
        typer.Option("--pdf", metavar="FILE", help="写入一页 A4 的 PDF（供领导小组办公室存档）"),
    ] = None,
    show_all: Annotated[
        bool, typer.Option("--all", help="案件表显示全部（默认每表只显示前 50 件）")
    ] = False,
    *,
    out: Output,
) -> None:
    """每日汇总：给领导小组办公室的日终汇总。

    当日新登记（按分类、子类），办结（按期/超期、答复），在办及剩余工作日，超期；
    下一工作日到期，上报与移交，各单位情况，累计数与近30天趋势。

    过去的日期按当日24时统计，每次结果相同；今天则截至现在。
    --pdf 写出一页 A4：汇总、有超期案件的单位、超期案件（最多12件）与近30天趋势图。
    终端上每个案件表只显示前 50 件，并说明另有多少件（汇总数字不受影响）；--all 显示全部。
    --json、--csv、--md、--xlsx、--pdf 输出全部。

    例：bbc daily-report --date 2021-04-06 --xlsx 每日汇总.xlsx
    """
    from banbucheng.core.timeutil import BEIJING
    from banbucheng.reports import daily, layouts

    if pdf is not None and out.format is not None:
        raise InvalidInput("--pdf 不能与 --json、--csv、--md、--xlsx 同时使用")
    # Only the terminal's tables are cut short; every file and format holds every case.
    limit = None if show_all or pdf is not None or out.format is not None else SHOWN
    with session(write=False) as ctx:
        target = opt_date(day, "日期") or ctx.now.astimezone(BEIJING).date()
        data = daily.daily_rollup(
            ctx.session, ctx.policy, ctx.calendar, target, ctx.now, limit=limit
        )
    doc = layouts.daily_document(data)
    if pdf is not None:
        from banbucheng.reports import exports, paper

        exports.write_file(Path(pdf), paper.daily_pdf(doc))
        notice(f"已写入 {pdf}")
    else:
        emit(doc, out)
    _daily_provisional_notice(data)


def _daily_provisional_notice(data: dict[str, Any]) -> None:
    # The figure, not the listed cases: the terminal lists only the first of them.
    _provisional_notice([{"provisional": bool(data["provisional"])}])


def print_daily_report(day: str | None) -> None:
    """The roll-up on the terminal, for `bbc demo` (which names its store itself)."""
    from banbucheng.core.timeutil import BEIJING
    from banbucheng.reports import daily, layouts, render

    with session(write=False) as ctx:
        target = opt_date(day, "日期") or ctx.now.astimezone(BEIJING).date()
        data = daily.daily_rollup(
            ctx.session, ctx.policy, ctx.calendar, target, ctx.now, limit=SHOWN
        )
    render.document(layouts.daily_document(data))
    _daily_provisional_notice(data)


# ---------------------------------------------------------------- 督办 lists


@app.command()
@output_options
def overdue(unit: UnitOpt = None, show_all: AllOpt = False, *, out: Output) -> None:
    """超期未办结的案件（督办）：按主办单位分组，超期最久的在前，附单位联系方式。

    表格只显示超期最久的 50 件，并说明另有多少件；--all 显示全部。
    --json、--csv 输出全部，边读边写，案件再多也不占内存。

    退出码：有超期案件为 4，没有为 0（给出 --unit 时只看该单位）。

    例：bbc overdue --unit 省农保中心 --csv > 超期.csv
    """
    from banbucheng.reports import layouts, supervision

    fmt = out.format
    with session(write=False) as ctx:
        if fmt in ("json", "csv"):
            # Every overdue case, written as it is read.
            from banbucheng.reports import exports

            stream, late = supervision.overdue_rows(ctx.session, ctx.calendar, ctx.now, unit=unit)
            provisional: list[dict[str, Any]] = []

            def watched(rows: Any) -> Any:
                for r in rows:
                    if r["provisional"] and not provisional:
                        provisional.append(r)
                    yield r

            chunks = (
                exports.json_array(watched(stream))
                if fmt == "json"
                else exports.csv_stream(
                    layouts.supervision_columns("overdue"), map(layouts.list_row, watched(stream))
                )
            )
            if out.output is None:
                write_chunks(chunks)
            else:
                exports.write_file(Path(out.output), chunks)
                notice(f"已写入 {out.output}")
            rows = provisional
        else:
            limit = None if show_all or fmt is not None else SHOWN
            rows, late = supervision.supervision(
                ctx.session, ctx.calendar, ctx.now, unit=unit, limit=limit
            )
            center = ctx.policy.center_name
            now = ctx.now
    if fmt not in ("json", "csv"):
        doc = layouts.supervision_document(
            rows, kind="overdue", now=now, within=None, center=center, total=late
        )
        emit(doc, out)
        if late > len(rows):
            notice(more_note(late - len(rows)))
    _provisional_notice(rows)
    if late:
        raise typer.Exit(EXIT_OVERDUE)


@app.command()
@output_options
def due(
    within: Annotated[
        int | None,
        typer.Option(
            "--within",
            min=WITHIN_DAYS[0],
            max=WITHIN_DAYS[1],
            help="几个工作日内到期（默认取设置 due_soon_days）",
        ),
    ] = None,
    unit: UnitOpt = None,
    show_all: AllOpt = False,
    *,
    out: Output,
) -> None:
    """即将到期的案件（督办）：尚未超期、N 个工作日内到期（0 = 今日到期）。

    按主办单位分组，最紧急的在前，附单位联系方式。
    表格只显示最紧急的 50 件，并说明另有多少件；--all 显示全部。
    --json、--csv、--md、--xlsx 输出全部。

    退出码：有超期案件为 4（另见 bbc overdue）；没有超期但有即将到期的为 5；都没有为 0。

    例：bbc due --within 2 --md
    """
    from banbucheng.reports import layouts, supervision

    limit = None if show_all or out.format is not None else SHOWN
    with session(write=False) as ctx:
        horizon = ctx.policy.due_soon_days if within is None else within
        rows, late = supervision.supervision(
            ctx.session, ctx.calendar, ctx.now, within=horizon, unit=unit, limit=limit
        )
        total = len(rows)
        if limit is not None and total == limit:  # cut short: count them all in SQL
            total = supervision.due_count(
                ctx.session, ctx.calendar, ctx.now, within=horizon, unit=unit
            )
        center = ctx.policy.center_name
        now = ctx.now
    doc = layouts.supervision_document(
        rows, kind="due", now=now, within=horizon, center=center, total=total
    )
    emit(doc, out)
    if total > len(rows):
        notice(more_note(total - len(rows)))
    _provisional_notice(rows)
    if late:
        notice(f"另有 {late} 件案件已超期：bbc overdue" + (f" --unit {unit}" if unit else ""))
        raise typer.Exit(EXIT_OVERDUE)
    if rows:
        raise typer.Exit(EXIT_DUE_SOON)


# ---------------------------------------------------------------- period statistics

_MONTH = re.compile(r"\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*月?\s*")


def parse_month(text: str) -> tuple[date, date]:
    """'2026-11' (or 2026/11, 2026年11月) → the first and last day of that month."""
    match = _MONTH.fullmatch(text)
    if not match or not 1 <= int(match.group(2)) <= 12 or not 2000 <= int(match.group(1)) <= 2099:
        raise InvalidInput("月份格式不正确，应为 2026-11 这样的年-月")
    first = date(int(match.group(1)), int(match.group(2)), 1)
    following = (first + timedelta(days=32)).replace(day=1)
    return first, following - timedelta(days=1)


def period_of(
    today: date,
    date_from: str | None,
    date_to: str | None,
    month: str | None,
    week: bool,
) -> tuple[date, date, str]:
    """The period asked for, as (first day, last day, a Chinese label)."""
    ways = sum([date_from is not None or date_to is not None, month is not None, week])
    if ways == 0:
        raise InvalidInput("请给出统计期间：--from/--to、--month 或 --week")
    if ways > 1:
        raise InvalidInput("--from/--to、--month、--week 只能选一种")
    if month is not None:
        first, last = parse_month(month)
        label = f"{first.year}年{first.month}月"
    elif week:
        first = today - timedelta(days=today.weekday())
        last = first + timedelta(days=6)
        year, number, _ = first.isocalendar()
        label = f"{year}年第{number}周（{first.isoformat()} 至 {last.isoformat()}）"
    else:
        if date_from is None:
            raise InvalidInput("缺少起始日期（--from）")
        first = opt_date(date_from, "起始日期")
        last = opt_date(date_to, "截止日期") if date_to else today
        if last < first:
            raise InvalidInput("截止日期不能早于起始日期")
        label = f"{first.isoformat()} 至 {last.isoformat()}"
    if first > today:
        raise InvalidInput(f"统计期间尚未开始（今天是 {today.isoformat()}）")
    return first, last, label


@app.command()
@output_options
def report(
    date_from: Annotated[str | None, typer.Option("--from", help="起始日期")] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="截止日期（含，默认今天）")] = None,
    month: Annotated[str | None, typer.Option("--month", help="月份，如 2026-11")] = None,
    week: Annotated[bool, typer.Option("--week", help="本周（周一至周日）")] = False,
    *,
    out: Output,
) -> None:
    """期间统计与单位排名（按月、按周或任意期间）。

    受理、办结、按期办结率、解决率、满意率、上报、移交、延期、重办；
    按综合得分排名，权重见 bbc config show 中的 score.*。

    例：bbc report --month 2026-11 --xlsx 11月统计.xlsx
    """
    from banbucheng.core.timeutil import BEIJING
    from banbucheng.reports import layouts, period, timeline

    with session(write=False) as ctx:
        today = ctx.now.astimezone(BEIJING).date()
        first, last, label = period_of(today, date_from, date_to, month, week)
        data = period.period_stats(
            ctx.session,
            ctx.policy,
            timeline.day_start(first),
            timeline.day_start(last + timedelta(days=1)),
            ctx.now,
        )
        center = ctx.policy.center_name
    emit(layouts.report_document(data, center=center, label=label), out)


# ---------------------------------------------------------------- export for cron


@app.command()
def export(
    directory: Annotated[
        str | None, typer.Option("--dir", metavar="DIR", help="导出目录（不存在时自动创建）")
    ] = None,
    day: Annotated[str | None, typer.Option("--date", help="日期（默认今天）")] = None,
) -> None:
    """导出某日的每日汇总（XLSX、CSV、JSON 与一页 A4 的 PDF，以日期命名），供 cron 每天运行。

    先写临时文件再改名，读者不会看到写了一半的文件。
    按当日24时口径统计，数据不变时重复运行得到完全相同的文件。
    成功时输出一行日志，退出码 0；目录无法写入时退出码 73。

    例：bbc export --dir /srv/bbc/reports --date 2026-11-27
    """
    from banbucheng.core.timeutil import BEIJING
    from banbucheng.reports import daily, exports, layouts, paper, timeline

    if directory is None or not directory.strip():
        raise InvalidInput("缺少导出目录（--dir）")
    target_dir = exports.prepare_directory(Path(directory))
    with session(write=False) as ctx:
        target = opt_date(day, "日期") or ctx.now.astimezone(BEIJING).date()
        timeline.check_not_future(target, ctx.now)
        end_of_day = timeline.day_start(target + timedelta(days=1))
        data = daily.daily_rollup(ctx.session, ctx.policy, ctx.calendar, target, end_of_day)
    doc = layouts.daily_document(data)
    names = exports.export_names(target.isoformat())
    # The page first: a missing font writes nothing. The other files are written as
    # they are made, never held whole (a list of every open case).
    page = paper.daily_pdf(doc)
    for fmt, name in names.items():
        content = page if fmt == "pdf" else exports.render_stream(doc, fmt)
        exports.write_atomic(target_dir / name, content)
    typer.echo(
        f"已导出 {target.isoformat()} 每日汇总到 {target_dir}："
        f"{'、'.join(names.values())}（新登记 {data['registered']}，办结 {data['closed']}，"
        f"在办 {data['open']}，超期 {data['overdue']}）；反映人姓名已遮盖，不含电话、身份证号"
    )


__all__ = ["Output", "emit", "output_options", "period_of"]
