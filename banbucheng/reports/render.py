"""What the terminal shows: case lists and details, the registers (units, calendar,
settings) and any report (a document.Document), as plain lines.

Tables are laid out and drawn here, not by rich (whose import and rendering cost a
command more than its query): on a terminal, case numbers, dates, times and masked
numbers are never wrapped, long texts are shortened with "…" (in lists) or wrapped
between Chinese characters (in `show`), and when the terminal is too narrow for every
column the least needed ones are left out, and named, so that every screen reads at
80 columns and uses the room it has at 160. On a pipe: no colour, and nothing is cut
or wrapped (one record, one line, for grep). Colour follows NO_COLOR and TERM=dumb.
"""

from __future__ import annotations

import os
import shutil
import sys
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import islice, zip_longest
from typing import TYPE_CHECKING, Any

from banbucheng.core.labels import more_note
from banbucheng.core.text import ellipsize, longest_word, width, wrap
from banbucheng.core.timeutil import human

if TYPE_CHECKING:
    from banbucheng.reports.document import Document

UNLIMITED = 100_000  # the width of piped output: nothing is ever cut or wrapped


# ---------------------------------------------------------------- the terminal


def terminal() -> bool:
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


def columns() -> int:
    """The width lines may take: the terminal's, or unlimited on a pipe."""
    return shutil.get_terminal_size().columns if terminal() else UNLIMITED


def rows_available() -> int:
    return shutil.get_terminal_size().lines if terminal() else UNLIMITED


def _colour() -> bool:
    return terminal() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


_STYLES = {
    "bold": "1",
    "dim": "2",
    "red": "31",
    "yellow": "33",
    "bold red": "1;31",
    "bold yellow": "1;33",
}


def styled(text: str, style: str | None) -> str:
    if not style or not _colour():
        return text
    return f"\x1b[{_STYLES[style]}m{text}\x1b[0m"


def say(text: str = "", style: str | None = None) -> None:
    """One line (or several) on standard output, in a style on a colour terminal."""
    sys.stdout.write(styled(text, style) + "\n")


def clean(text: str) -> str:
    """Text safe to print: control characters (escape sequences among them) dropped."""
    if text.isprintable():
        return text
    return "".join(
        ch for ch in text if ch == "\n" or unicodedata.category(ch) not in ("Cc", "Cf", "Cs")
    )


def console() -> Any:
    """A rich console, for the views still drawn with rich (mechanisms, similar cases)."""
    from rich.console import Console

    if terminal():
        return Console()
    # Piped output is for grep and files: wide enough that nothing is cut or wrapped.
    return Console(width=max(200, shutil.get_terminal_size().columns), no_color=True)


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


GAP = 2  # spaces between two columns
SHORT = 12  # a text this wide is not wrapped while the table has room for it


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
        for i in keep:  # after a short one (a clerk's name) has its whole width
            grow = full[i] - widths[i]
            if 0 < grow <= spare and full[i] <= SHORT:
                widths[i] += grow
                spare -= grow
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


def _pad(text: str, size: int, justify: str) -> str:
    gap = " " * max(0, size - width(text))
    return gap + text if justify == "right" else text + gap


def lines_of(
    cols: Sequence[Col],
    rows: Sequence[Sequence[str]],
    room: int,
    *,
    styles: Sequence[str | None] | None = None,
    wrapped: bool = False,
    header: bool = True,
    chosen: list[tuple[int, int]] | None = None,
    indent: str = "",
) -> tuple[list[str], list[str]]:
    """A table laid out by `fit` in `room` columns, as lines (styled on a colour
    terminal); and the headers of the columns left out."""
    rows = [[clean(cell) for cell in row] for row in rows]
    chosen = chosen or fit(cols, rows, room, wrapped=wrapped)
    sep = " " * GAP
    last = chosen[-1][0]
    out = []
    if header:
        heads = [
            _pad(cols[i].header if width(cols[i].header) <= w else ellipsize(cols[i].header, w), w,
                 cols[i].justify)
            for i, w in chosen
        ]  # fmt: skip
        out.append(styled(indent + sep.join(heads).rstrip(), "bold"))
        out.append(indent + "─" * (sum(w for _, w in chosen) + GAP * (len(chosen) - 1)))
    for n, row in enumerate(rows):
        parts = []
        for i, w in chosen:
            text = row[i]
            if cols[i].kind == "text":
                parts.append(wrap(text, w) if wrapped else [ellipsize(text, w)])
            else:
                parts.append(text.split("\n"))
        for pieces in zip_longest(*parts, fillvalue=""):
            line = sep.join(
                # The last column's padding would be stripped: not made at all.
                _pad(piece, w, cols[i].justify)
                if i != last or cols[i].justify == "right"
                else piece
                for piece, (i, w) in zip(pieces, chosen, strict=True)
            )
            out.append(styled(indent + line.rstrip(), styles[n] if styles else None))
    kept = {i for i, _ in chosen}
    return out, [cols[i].header for i in range(len(cols)) if i not in kept]


def table(
    cols: Sequence[Col],
    rows: Sequence[Sequence[str]],
    *,
    title: str | None = None,
    styles: Sequence[str | None] | None = None,
    wrapped: bool = False,
) -> None:
    """Print a table laid out by `fit`, under its title (a line of its own, so a case
    number in it is never split)."""
    lines, left = lines_of(cols, rows, columns() - 1, styles=styles, wrapped=wrapped)
    if title:
        say(clean(title), "bold")
    sys.stdout.write("\n".join(lines) + "\n")
    if left:
        say(f"（终端较窄，未显示：{'、'.join(left)}；加宽终端或用 --json 查看）", "dim")


def source_line(source: str | None) -> None:
    """The store a list was read from, when it is not the default one (a long path
    shortened in the middle, so that its folder's start and its file name both show)."""
    if not source:
        return
    text, room = clean(source), columns() - 1 - width("数据库：")
    if width(text) > room and room > 10:
        head = room // 3
        text = text[:head] + "…" + text[-(room - head - 1) :]
    say(f"数据库：{text}", "dim")


def paragraph(label: str, text: str, label_width: int, style: str | None = None) -> None:
    """`label` then `text`, wrapped under itself on a terminal."""
    room = columns() - 1 - label_width - 2
    lines = wrap(clean(text), room) if terminal() else [clean(text)]
    pad = " " * (label_width - width(label))
    say(styled(label, "bold") + pad + "  " + styled(lines[0], style))
    for line in lines[1:]:
        say(" " * (label_width + 2) + styled(line, style))


# ---------------------------------------------------------------- cases


def _due(row: dict[str, Any]) -> str:
    if not row["due_date"]:
        return "—"
    return row["due_date"] + ("（暂定）" if row["provisional"] else "")


def left_text(row: dict[str, Any]) -> str:
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
    Col("分类", "text", 6, 10),  # 应办未办/… at least: a category is never cut
    Col("主办单位", "text", 5, 8),
    Col("受理时间", "atom", 8),
    Col("期限", "atom", 2),
    Col("时限", "atom", 3),
    Col("反映人", "atom", 7),
    Col("事项", "text", 0, 16),
]


def _case_cells(r: dict[str, Any]) -> list[str]:
    return [
        r["number"],
        r["status_label"],
        (r["category_label"] or "—") + (f"/{r['subtype_label']}" if r["subtype_label"] else ""),
        r["unit"] or "—",
        human(r["received_at"]),
        _due(r),
        left_text(r),
        r["citizen"],
        r["matter"],
    ]


def case_table(
    rows: list[dict[str, Any]], *, title: str, source: str | None = None, note: str | None = None
) -> None:
    """A list of cases, one line each (the matter shortened; `show` has it in full)."""
    cells = [_case_cells(r) for r in rows]
    styles = ["red" if r["overdue"] else None for r in rows]
    table(_CASE_COLUMNS, cells, title=title, styles=styles)
    if note:
        say(note, "dim")
    source_line(source)


# The widest values a column of a streamed case table may meet after its first rows.
_WIDEST = ["BB20210401-001", "办理中", "应办未办/不作为", "", "2021-04-01 09:30",
           "2021-04-09（暂定）", "超期100个工作日", "欧阳**", ""]  # fmt: skip


def case_table_stream(
    rows: Iterable[dict[str, Any]],
    *,
    title: str,
    names: Sequence[str] = (),
    source: str | None = None,
    batch: int = 500,
) -> None:
    """case_table for a list too long to hold (`list --all`): laid out by its first
    rows (and the widest unit `names` and values it may meet), then written a batch
    at a time with the same column widths."""
    room = columns() - 1
    it = iter(rows)
    first = list(islice(it, batch))
    sample = [_case_cells(r) for r in first]
    wide = [*_WIDEST]
    wide[3] = max(names, key=width, default="")
    cols = _CASE_COLUMNS
    if not terminal():  # on a pipe nothing is cut: the matter, last, as long as it is
        cols = [*cols[:-1], Col(cols[-1].header, "atom", 0)]
    chosen = fit(cols, [*sample, wide], room)
    say(clean(title), "bold")
    header, left = True, []
    while first:
        styles = ["red" if r["overdue"] else None for r in first]
        lines, left = lines_of(cols, sample, room, styles=styles, header=header, chosen=chosen)
        sys.stdout.write("\n".join(lines) + "\n")
        sys.stdout.flush()
        header = False
        first = list(islice(it, batch))
        sample = [_case_cells(r) for r in first]
    if left:
        say(f"（终端较窄，未显示：{'、'.join(left)}；加宽终端或用 --json 查看）", "dim")
    source_line(source)


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
    table(cols, cells, title=f"单位名录（{len(rows)} 个）", wrapped=True)


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
    table(cols, cells, title=title, wrapped=True)
    years = info["covered_years"]
    say(f"已覆盖年份：{years[0]}–{years[-1]}" if years else "没有已覆盖的年份")


def settings_table(rows: list[dict[str, Any]]) -> None:
    cols = [
        Col("设置项", "atom", 0),
        Col("当前值", "text", 0, 8),
        Col("默认值", "text", 3, 8),
        Col("说明", "text", 2, 12),
    ]
    cells = [[r["key"], r["value"], r["default"], r["label"]] for r in rows]
    table(cols, cells, title="中心政策设置", wrapped=True)


# ---------------------------------------------------------------- report documents


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
    least = {"matter": 16, "category_label": 10}.get(column.key, 8)  # 应办未办/… as above
    return Col(column.header, kind, _PRIORITY.get(column.key, 5), least, justify)


def document(doc: Document, *, source: str | None = None) -> None:
    """Any report or list (a document.Document) as tables: the key figures, each
    section (grouped by unit where the section says so), and its charts."""
    # Here: list, show and register draw no report, nor define its classes.
    from banbucheng.reports.document import cell_text, chart_lines, groups

    say(clean(doc.title), "bold")
    say(clean(doc.subtitle))
    source_line(source)
    for section in doc.sections:
        if section.key == "trend":
            continue  # drawn as a chart below
        say()
        if section.facts:
            _facts(section.title, [(r["label"], r["text"]) for r in section.rows])
            continue
        if not section.rows:
            say(f"{clean(section.title)}：无", "bold")
            continue
        parts = groups(section) if section.group_by else [("", "", section.rows)]
        hidden = {section.group_by, section.group_label} if section.group_by else set()
        columns_ = [c for c in section.columns if c.key not in hidden]
        cols = [_report_col(c) for c in columns_]
        for i, (name, label, rows) in enumerate(parts):
            title = section.title
            if section.group_by:
                title = f"{name}（{len(rows)} 件" + (f"；联系方式：{label}）" if label else "）")
                if i:
                    say()
            cells = [[cell_text(c, r) for c in columns_] for r in rows]
            styles = ["red" if r.get("overdue") else None for r in rows]
            table(cols, cells, title=title, styles=styles)
        if section.hidden:
            say(more_note(section.hidden), "dim")
        if section.note:
            say(clean(section.note))
    for chart in doc.charts:
        say()
        say(clean(chart.title), "bold")
        for line in chart_lines(doc, chart):
            say(clean(line))


def _facts(title: str, rows: list[tuple[str, str]]) -> None:
    """Key figures in a box: a label and its value (right-aligned) per line."""
    rows = [(clean(label), clean(text)) for label, text in rows]
    left = max(width(label) for label, _ in rows)
    right = max(width(text) for _, text in rows)
    # Too wide for the terminal (a rate with its counts, at 80 columns): a value wraps
    # inside its cell, between words, never inside a number or a date.
    right = max(8, min(right, columns() - left - 7))
    say(clean(title), "bold")
    say(f"┌{'─' * (left + 2)}┬{'─' * (right + 2)}┐")
    for label, text in rows:
        parts = wrap(text, right) if width(text) > right else [text]
        for part, name in zip(parts, [label, *[""] * (len(parts) - 1)], strict=True):
            shown = styled(_pad(name, left, "left"), "bold")
            say(f"│ {shown} │ {_pad(part, right, 'right')} │")
    say(f"└{'─' * (left + 2)}┴{'─' * (right + 2)}┘")
