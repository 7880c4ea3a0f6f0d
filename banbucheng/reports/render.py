"""Terminal output with rich: case tables and details, the registers (units, calendar,
settings) and any report (a document.Document). On a pipe: no colour, no truncation
(rich follows NO_COLOR). rich is imported here and nowhere else in reports/.

Tables are laid out here rather than by rich (`fit`): on a terminal, case numbers,
dates, times and masked numbers are never wrapped, a long text is shortened with "…"
(in lists) or wrapped between Chinese characters (in `show`), and when the terminal is
too narrow for every column the least needed ones are left out (and named), so that
every screen reads at 80 columns and uses the room it has at 160.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from banbucheng.core.labels import OUTCOMES, SATISFACTION
from banbucheng.core.text import ellipsize, longest_word, width, wrap
from banbucheng.core.timeutil import human
from banbucheng.reports.document import Document, cell_text, chart_lines, groups

UNLIMITED = 100_000  # the width of piped output: nothing is ever cut or wrapped


def console() -> Console:
    if sys.stdout.isatty():
        return Console()
    # Piped output is for grep and files: wide enough that nothing is cut or wrapped.
    return Console(width=max(200, shutil.get_terminal_size().columns), no_color=True)


def _columns(out: Console) -> int:
    """The width a table may take: the terminal's, or unlimited on a pipe."""
    return out.width if sys.stdout.isatty() else UNLIMITED


# ---------------------------------------------------------------- tables that fit


@dataclass(frozen=True)
class Col:
    """A column as the terminal shows it.

    kind: atom (never wrapped nor shortened: numbers, dates, times, masked numbers,
    short labels) or text (shortened with "…", or wrapped when the table wraps).
    priority: when the terminal is too narrow, the highest go first; 0 never goes.
    least: the narrowest a text column may become.
    """

    header: str
    kind: str = "text"
    priority: int = 5
    least: int = 8
    justify: str = "left"


GAP = 2  # between two columns: an invisible rule and a space of padding


def fit(
    cols: Sequence[Col],
    rows: Sequence[Sequence[str]],
    room: int,
    gap: int = GAP,
    *,
    wrapped: bool = False,
) -> list[tuple[int, int]]:
    """The columns that fit in `room` terminal columns and each one's width, as
    (index, width): atoms at their full width, text columns sharing what is left (and,
    when they wrap, never narrower than their widest unbreakable word, within reason)."""
    cells = [[line for r in rows for line in r[i].split("\n")] for i in range(len(cols))]
    full = [max([width(c.header), *(width(x) for x in cells[i])]) for i, c in enumerate(cols)]
    floor = [c.least for c in cols]
    if wrapped:
        floor = [
            max(c.least, min(max((longest_word(x) for x in cells[i]), default=0), room // 3))
            for i, c in enumerate(cols)
        ]

    def least(i: int) -> int:
        return full[i] if cols[i].kind == "atom" else min(full[i], max(floor[i], 2))

    keep = list(range(len(cols)))
    while len(keep) > 1 and sum(least(i) for i in keep) + gap * (len(keep) - 1) > room:
        droppable = [i for i in keep if cols[i].priority > 0]
        if not droppable:
            break
        keep.remove(max(droppable, key=lambda i: (cols[i].priority, i)))
    widths = {i: least(i) for i in keep}
    spare = room - sum(widths.values()) - gap * (len(keep) - 1)
    if wrapped:  # wrapped texts share the room in proportion to their length
        wants = {i: full[i] - widths[i] for i in keep if full[i] > widths[i]}
        total = sum(wants.values())
        if total > spare > 0:
            for i, want in wants.items():
                widths[i] += want * spare // total
            return [(i, widths[i]) for i in keep]
    # The narrowest grow to their full width first; the longest text takes what is left.
    for i in sorted(keep, key=lambda i: (full[i], i)):
        if spare <= 0:
            break
        grow = min(full[i] - widths[i], spare)
        widths[i] += grow
        spare -= grow
    return [(i, widths[i]) for i in keep]


def fitted(
    cols: Sequence[Col],
    rows: Sequence[Sequence[str]],
    room: int,
    *,
    styles: Sequence[str | None] | None = None,
    wrapped: bool = False,
    header: bool = True,
    chosen: list[tuple[int, int]] | None = None,
) -> tuple[Table, list[str]]:
    """A rich table laid out by `fit` in `room` columns, text cells shortened with "…"
    (or wrapped, for `wrapped`); and the headers of the columns left out."""
    chosen = chosen or fit(cols, rows, room, wrapped=wrapped)
    grid = Table(
        box=box.SIMPLE_HEAD if header else None,
        show_header=header,
        show_edge=False,
        pad_edge=False,
        padding=(0, 1, 0, 0) if header else (0, 2, 0, 0),
    )
    for i, w in chosen:
        head = cols[i].header if width(cols[i].header) <= w else ellipsize(cols[i].header, w)
        grid.add_column(head, width=w, no_wrap=True, justify=cols[i].justify)  # type: ignore[arg-type]
    for n, row in enumerate(rows):
        cells = []
        for i, w in chosen:
            text = row[i]
            if cols[i].kind == "text":
                text = "\n".join(wrap(text, w)) if wrapped else ellipsize(text, w)
            cells.append(escape(text))
        grid.add_row(*cells, style=styles[n] if styles else None)
    kept = {i for i, _ in chosen}
    return grid, [cols[i].header for i in range(len(cols)) if i not in kept]


def table(
    out: Console,
    cols: Sequence[Col],
    rows: Sequence[Sequence[str]],
    *,
    title: str | None = None,
    styles: Sequence[str | None] | None = None,
    wrapped: bool = False,
) -> None:
    """Print a table laid out by `fit`. The title is a line of its own, so it is never
    wrapped to the table's width (which would split a case number in it)."""
    out = _table_console(out)
    grid, left = fitted(cols, rows, _columns(out), styles=styles, wrapped=wrapped)
    if title:
        out.print(f"[bold]{escape(title)}[/bold]", soft_wrap=True)
    out.print(grid)
    if left:
        out.print(f"[dim]（终端较窄，未显示：{'、'.join(left)}；加宽终端或用 --json 查看）[/dim]")


def source_line(out: Console, source: str | None) -> None:
    """The store a list was read from, when it is not the default one."""
    if source:
        out.print(f"[dim]数据库：{escape(source)}[/dim]", soft_wrap=True)


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


_CASE_COLUMNS = [
    Col("编号", "atom", 0),
    Col("状态", "atom", 1),
    Col("分类", "text", 6, 8),
    Col("主办单位", "text", 5, 8),
    Col("受理时间", "atom", 8),
    Col("期限", "atom", 2),
    Col("时限", "atom", 3),
    Col("反映人", "atom", 7),
    Col("事项", "text", 0, 16),
]


def case_table(rows: list[dict[str, Any]], *, title: str, source: str | None = None) -> None:
    """A list of cases, one line each (the matter shortened; `show` has it in full)."""
    out = console()
    cells = [
        [
            r["number"],
            r["status_label"],
            (r["category_label"] or "—") + (f"/{r['subtype_label']}" if r["subtype_label"] else ""),
            r["unit"] or "—",
            human(r["received_at"]),
            _due(r),
            _left(r),
            r["citizen"],
            r["matter"],
        ]
        for r in rows
    ]
    styles = ["red" if r["overdue"] else None for r in rows]
    table(out, _CASE_COLUMNS, cells, title=title, styles=styles)
    source_line(out, source)


def case_detail(data: dict[str, Any], *, source: str | None = None) -> None:
    """One case in full: its fields, then its timeline (long texts wrapped, never cut)."""
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
    label_width = max(width(k) for k, _ in fields)
    room = _columns(out) - label_width - 2
    for k, v in fields:
        lines = wrap(v, room) if room < UNLIMITED // 2 else [v]
        pad = " " * (label_width - width(k))
        out.print(f"[bold]{escape(k)}[/bold]{pad}  {escape(lines[0])}", soft_wrap=True)
        for line in lines[1:]:
            out.print(" " * (label_width + 2) + escape(line), soft_wrap=True)
    rows = [
        [human(e["at"]), e["actor"], e["action_label"], e["text"], e["changes"]]
        for e in data.get("events", [])
    ]
    out.print()
    table(_table_console(out), _TIMELINE, rows, title="时间线", wrapped=True)
    source_line(out, source)


_TIMELINE = [
    Col("时间", "atom", 0),
    Col("经办人", "text", 4, 6),
    Col("操作", "atom", 1),
    Col("内容", "text", 2, 12),
    Col("变更", "text", 3, 16),
]


def _table_console(out: Console) -> Console:
    return out if sys.stdout.isatty() else report_console()


def units_table(rows: list[dict[str, Any]]) -> None:
    cols = [
        Col("单位", "text", 0, 10),
        Col("联系方式", "text", 4, 10),
        Col("在办", "atom", 1, justify="right"),
        Col("超期", "atom", 1, justify="right"),
        Col("累计", "atom", 2, justify="right"),
    ]
    cells = [
        [r["name"], r["contact"] or "—", str(r["open"]), str(r["overdue"]), str(r["total"])]
        for r in rows
    ]
    table(console(), cols, cells, title=f"单位名录（{len(rows)} 个）", wrapped=True)


def calendar_year(info: dict[str, Any]) -> None:
    from datetime import date

    source = {
        "package": "chinese-calendar 内置",
        "entered": "中心录入",
        "partial": "部分录入，尚未确认完整（其余按固定节日估算）",
        "none": "未覆盖（估算）",
    }
    title = f"{info['year']} 年工作日日历：{source[info['coverage']]}"
    cols = [
        Col("日期", "atom", 0),
        Col("星期", "atom", 1),
        Col("安排", "atom", 0),
        Col("名称", "text", 2, 8),
        Col("依据", "text", 3, 12),
    ]
    weekdays = "一二三四五六日"
    cells = [
        [
            d["date"],
            weekdays[date.fromisoformat(d["date"]).weekday()],
            "上班" if d["workday"] else "放假",
            d["name"],
            d["source"],
        ]
        for d in info["days"]
    ]
    out = console()
    table(out, cols, cells, title=title, wrapped=True)
    years = info["covered_years"]
    out.print(f"已覆盖年份：{years[0]}–{years[-1]}" if years else "没有已覆盖的年份")


def settings_table(rows: list[dict[str, Any]]) -> None:
    cols = [
        Col("设置项", "atom", 0),
        Col("当前值", "text", 0, 8),
        Col("默认值", "text", 3, 8),
        Col("说明", "text", 2, 12),
    ]
    cells = [[r["key"], r["value"], r["default"], r["label"]] for r in rows]
    table(console(), cols, cells, title="中心政策设置", wrapped=True)


# ---------------------------------------------------------------- report documents


def report_console() -> Console:
    """Like console(), but piped output is never wrapped, folded or cut, whatever the
    width of a table (one record stays on one line for grep and cut)."""
    if sys.stdout.isatty():
        return Console()
    return Console(width=100_000, no_color=True, highlight=False, soft_wrap=True)


# How a report's columns (document.Column, by key) behave on a narrow terminal:
# the lower the number the longer a column stays; text columns are shortened.
_PRIORITY = {
    "number": 0,
    "rank": 0,
    "unit": 1,
    "matter": 0,
    "date": 0,
    "days_overdue": 2,
    "days_left": 2,
    "left_text": 2,
    "due_date": 3,
    "score": 2,
    "on_time_rate": 3,
    "closed_time": 3,
    "working_days_used": 4,
    "on_time_text": 3,
    "outcome_label": 5,
    "action_label": 1,
    "category_label": 6,
    "citizen": 7,
    "received_date": 8,
    "unit_contact": 9,
    "contact": 9,
}
_TEXT_KEYS = {"matter", "unit", "unit_contact", "contact", "category_label", "outcome_label"}


def _report_col(column: Any) -> Col:
    # Texts of any length are shortened; numbers, dates, times and short labels (the
    # known keys) are kept whole, as are columns of numbers of any other report.
    free_text = column.kind == "text" and column.key not in _PRIORITY
    kind = "text" if column.key in _TEXT_KEYS or free_text else "atom"
    justify = "right" if column.kind in ("int", "rate", "score") else "left"
    least = 16 if column.key == "matter" else 8
    return Col(column.header, kind, _PRIORITY.get(column.key, 5), least, justify)


def document(doc: Document, *, source: str | None = None) -> None:
    """Any report or list (a document.Document) as tables: the key figures, each
    section (grouped by unit where the section says so), and its charts."""
    out = report_console()
    out.print(f"[bold]{_escape(doc.title)}[/bold]", soft_wrap=True)
    out.print(_escape(doc.subtitle), soft_wrap=True)
    source_line(out, source)
    for section in doc.sections:
        if section.key == "trend":
            continue  # drawn as a chart below
        out.print()
        if section.facts:
            cells = [[r["label"], r["text"]] for r in section.rows]
            _facts(out, section.title, cells)
            continue
        if not section.rows:
            out.print(f"[bold]{_escape(section.title)}[/bold]：无")
            continue
        parts = groups(section) if section.group_by else [("", "", section.rows)]
        hidden = {section.group_by, section.group_label} if section.group_by else set()
        columns = [c for c in section.columns if c.key not in hidden]
        cols = [_report_col(c) for c in columns]
        for i, (name, label, rows) in enumerate(parts):
            title = section.title
            if section.group_by:
                title = f"{name}（{len(rows)} 件" + (f"；联系方式：{label}）" if label else "）")
                if i:
                    out.print()
            cells = [[cell_text(c, r) for c in columns] for r in rows]
            styles = ["red" if r.get("overdue") else None for r in rows]
            table(out, cols, cells, title=title, styles=styles)
        if section.note:
            out.print(_escape(section.note))
    for chart in doc.charts:
        out.print()
        out.print(f"[bold]{_escape(chart.title)}[/bold]", soft_wrap=True)
        for line in chart_lines(doc, chart):
            out.print(_escape(line), highlight=False, soft_wrap=True)


def _facts(out: Console, title: str, cells: list[list[str]]) -> None:
    """Key figures: a label and its value (right-aligned) per line, under a title."""
    grid = Table(title=_escape(title), show_header=False, title_justify="left")
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(justify="right", overflow="fold")
    for label, text in cells:
        grid.add_row(_escape(label), _escape(text))
    out.print(grid)


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)
