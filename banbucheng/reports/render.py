"""Terminal output with rich: case tables and details, the registers (units, calendar,
settings) and any report (a document.Document). On a pipe: no colour, no truncation
(rich follows NO_COLOR). rich is imported here and nowhere else in reports/."""

from __future__ import annotations

import shutil
import sys
from typing import Any

from rich.console import Console
from rich.table import Table

from banbucheng.core.labels import OUTCOMES, SATISFACTION
from banbucheng.core.timeutil import human
from banbucheng.reports.document import Document, cell_text, chart_lines, groups


def console() -> Console:
    if sys.stdout.isatty():
        return Console()
    # Piped output is for grep and files: wide enough that nothing is cut or wrapped.
    return Console(width=max(200, shutil.get_terminal_size().columns), no_color=True)


def _due(row: dict[str, Any]) -> str:
    if not row["due_date"]:
        return "—"
    return row["due_date"] + ("（暂定）" if row["provisional"] else "")


def _left(row: dict[str, Any]) -> str:
    if row["status"] == "closed":
        return "按期" if row["on_time"] else "超期办结"
    if row["overdue"]:
        return f"超期{row['days_overdue']}个工作日" if row["days_overdue"] else "今日已超时"
    if row["days_left"] is None:
        return "—"
    return "今日到期" if row["days_left"] == 0 else f"剩{row['days_left']}个工作日"


def case_table(rows: list[dict[str, Any]], *, title: str) -> None:
    table = Table(title=title, show_lines=False)
    for header in (
        "编号",
        "状态",
        "分类",
        "主办单位",
        "受理时间",
        "期限",
        "时限",
        "反映人",
        "事项",
    ):
        table.add_column(header, overflow="fold")
    for r in rows:
        table.add_row(
            r["number"],
            r["status_label"],
            (r["category_label"] or "—") + (f"/{r['subtype_label']}" if r["subtype_label"] else ""),
            r["unit"] or "—",
            human(r["received_at"]),
            _due(r),
            _left(r),
            r["citizen"],
            r["matter"] if len(r["matter"]) <= 30 else r["matter"][:29] + "…",
            style="red" if r["overdue"] else None,
        )
    console().print(table)


def case_detail(data: dict[str, Any]) -> None:
    out = console()
    out.print(f"[bold]{data['number']}[/bold]  {data['status_label']}")
    fields = [
        (
            "反映人",
            f"{data['citizen']}  电话 {data['phone']}"
            + (f"  身份证 {data['id_number']}" if data["id_number"] else ""),
        ),
        ("事项", data["matter"]),
        ("受阻部门", data["department"] or "—"),
        ("渠道", data["channel_label"]),
        ("受理", f"{human(data['received_at'])}（{data['registered_by']} 登记）"),
        (
            "分类",
            (data["category_label"] or "待分类")
            + (f" / {data['subtype_label']}" if data["subtype_label"] else ""),
        ),
        ("主办单位", data["unit"] or "—"),
        ("协办单位", "、".join(data["helpers"]) or "—"),
        (
            "期限",
            f"{human(data['due_at'])}"
            + ("（暂定）" if data["provisional"] else "")
            + (f"  {_left(data)}" if data["due_at"] else ""),
        ),
    ]
    if data["unit_due_at"]:
        fields.append(("单位期限", human(data["unit_due_at"])))
    if data["escalated_at"]:
        fields.append(("上报领导小组", human(data["escalated_at"])))
    if data["referred_at"]:
        fields.append(("移交纪检组", human(data["referred_at"])))
    if data["closed_at"]:
        fields += [
            (
                "办结",
                f"{human(data['closed_at'])}  {OUTCOMES.get(data['outcome'], '')}  "
                f"用时{data['working_days_used']}个工作日  {'按期' if data['on_time'] else '超期'}",
            ),
            ("结果", data["result"] or ""),
        ]
    if data.get("repeat_of"):
        fields.append(("重复反映", f"与 {data['repeat_of']} 为同一反映人的相似事项"))
    if data["mechanism"]:
        mechanism = data["mechanism"]
        if data.get("mechanism_id"):
            mechanism = f"#{data['mechanism_id']} {mechanism}"
        fields.append(("长效机制", mechanism))
    if data["satisfaction"]:
        fields.append(
            ("回访", f"{human(data['visited_at'])}  {SATISFACTION[data['satisfaction']]}")
        )
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column(overflow="fold")
    for k, v in fields:
        grid.add_row(k, v)
    out.print(grid)
    timeline = Table(title="时间线", show_lines=False)
    for header in ("时间", "经办人", "操作", "内容", "变更"):
        timeline.add_column(header, overflow="fold")
    for e in data.get("events", []):
        timeline.add_row(human(e["at"]), e["actor"], e["action_label"], e["text"], e["changes"])
    out.print(timeline)


def units_table(rows: list[dict[str, Any]]) -> None:
    table = Table(title=f"单位名录（{len(rows)} 个）")
    for header in ("单位", "联系方式", "在办", "超期", "累计"):
        table.add_column(header, overflow="fold")
    for r in rows:
        table.add_row(
            r["name"], r["contact"] or "—", str(r["open"]), str(r["overdue"]), str(r["total"])
        )
    console().print(table)


def calendar_year(info: dict[str, Any]) -> None:
    source = {
        "package": "chinese-calendar 内置",
        "entered": "中心录入",
        "partial": "部分录入，尚未确认完整（其余按固定节日估算）",
        "none": "未覆盖（估算）",
    }
    title = f"{info['year']} 年工作日日历：{source[info['coverage']]}"
    table = Table(title=title)
    for header in ("日期", "星期", "安排", "名称", "依据"):
        table.add_column(header, overflow="fold")
    weekdays = "一二三四五六日"
    from datetime import date

    for d in info["days"]:
        day = date.fromisoformat(d["date"])
        table.add_row(
            d["date"],
            weekdays[day.weekday()],
            "上班" if d["workday"] else "放假",
            d["name"],
            d["source"],
        )
    out = console()
    out.print(table)
    years = info["covered_years"]
    out.print(f"已覆盖年份：{years[0]}–{years[-1]}" if years else "没有已覆盖的年份")


def settings_table(rows: list[dict[str, Any]]) -> None:
    table = Table(title="中心政策设置")
    for header in ("设置项", "当前值", "默认值", "说明"):
        table.add_column(header, overflow="fold")
    for r in rows:
        table.add_row(r["key"], r["value"], r["default"], r["label"])
    console().print(table)


# ---------------------------------------------------------------- report documents


def report_console() -> Console:
    """Like console(), but piped output is never wrapped, folded or cut, whatever the
    width of a table (one record stays on one line for grep and cut)."""
    if sys.stdout.isatty():
        return Console()
    return Console(width=100_000, no_color=True, highlight=False, soft_wrap=True)


def document(doc: Document) -> None:
    """Any report or list (a document.Document) as rich tables: the key figures, each
    section (grouped by unit where the section says so), and its charts."""
    out = report_console()
    out.print(f"[bold]{_escape(doc.title)}[/bold]")
    out.print(_escape(doc.subtitle))
    for section in doc.sections:
        if section.key == "trend":
            continue  # drawn as a chart below
        out.print()
        if section.facts:
            grid = Table(title=section.title, show_header=False, title_justify="left")
            grid.add_column(style="bold")
            grid.add_column(justify="right")
            for r in section.rows:
                grid.add_row(_escape(r["label"]), _escape(r["text"]))
            out.print(grid)
            continue
        if not section.rows:
            out.print(f"[bold]{_escape(section.title)}[/bold]：无")
            continue
        parts = groups(section) if section.group_by else [("", "", section.rows)]
        hidden = {section.group_by, section.group_label} if section.group_by else set()
        columns = [c for c in section.columns if c.key not in hidden]
        for i, (name, label, rows) in enumerate(parts):
            title = section.title
            if section.group_by:
                title = f"{name}（{len(rows)} 件" + (f"；联系方式：{label}）" if label else "）")
                if i:
                    out.print()
            table = Table(title=_escape(title), title_justify="left")
            for c in columns:
                table.add_column(
                    c.header,
                    justify="right" if c.kind in ("int", "rate", "score") else "left",
                    overflow="fold",
                )
            for r in rows:
                table.add_row(
                    *(_escape(cell_text(c, r)) for c in columns),
                    style="red" if r.get("overdue") else None,
                )
            out.print(table)
        if section.note:
            out.print(_escape(section.note))
    for chart in doc.charts:
        out.print()
        out.print(f"[bold]{_escape(chart.title)}[/bold]")
        for line in chart_lines(doc, chart):
            out.print(_escape(line), highlight=False)


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)
