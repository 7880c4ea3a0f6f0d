"""The document model every report produces, and what its parts look like as text.

A `Document` is the JSON contract (`data`) plus the same content laid out for people:
key figures, tables (`Section`, whose `Column`s say how to show each value) and
charts (`Chart`). The writers (exports.py: JSON, CSV, Markdown, XLSX) and the
terminal (render.py) all read a Document, so every report looks the same in every
format; the text every one of them shows for a cell (`cell_text`), the grouping of a
section's rows by unit (`groups`) and the plain-text drawing of a chart
(`chart_lines`) are here. Nothing here imports rich, openpyxl or the store.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, overload


@dataclass(frozen=True)
class Column:
    """One column of a table: the row key, its Chinese header and how to show it.

    kind: text, int, rate (a share 0..1 shown as a percentage), score (0..100), date
    (an ISO date, or the date of an ISO time), datetime (an ISO time, shown to the
    minute) or due (a date flagged 暂定 when the row's `provisional` is true). A
    spreadsheet gets numbers, rates and scores as numbers and dates and times as dates.
    """

    key: str
    header: str
    kind: str = "text"
    width: int | None = None  # XLSX column width in characters; measured when None


class Rows(Sequence[dict[str, Any]]):
    """A section's rows made from the report's own as they are read: each row of
    `source` passed through `shape` (a new dict with what the columns show). The list
    of every open case is then held once, in the report's data, not copied into
    every section that shows it."""

    def __init__(
        self, source: Sequence[dict[str, Any]], shape: Callable[[dict[str, Any]], dict[str, Any]]
    ) -> None:
        self.source, self.shape = source, shape

    def __len__(self) -> int:
        return len(self.source)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return map(self.shape, self.source)

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...
    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]: ...
    def __getitem__(self, index: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        if isinstance(index, slice):
            return [self.shape(r) for r in self.source[index]]
        return self.shape(self.source[index])


@dataclass
class Section:
    """A titled table; `facts` sections are label/value pairs shown as a grid.

    A fact is a dict: `label`, `value` (a count, a rate, an ISO time or text), `text`
    (how people read it: the value with its explanation) and optionally `kind` (int,
    rate or datetime, as for a Column) and `note` (the explanation on its own, beside
    the value in a spreadsheet).
    """

    key: str
    title: str
    columns: list[Column]
    rows: Sequence[dict[str, Any]]  # a list, or Rows made as they are read
    group_by: str | None = None  # terminal and Markdown: one sub-table per value
    group_label: str | None = None  # key of a row field shown beside the group's name
    facts: bool = False
    note: str = ""  # shown under the title (e.g. how a figure is defined)
    hidden: int = 0  # rows left out of `rows` (a terminal view); the terminal says so


@dataclass(frozen=True)
class Chart:
    """A chart over one section: categories from column `x`, one series per column."""

    title: str
    section: str
    x: str
    series: tuple[str, ...]
    sheet: str  # the name of the XLSX sheet that holds only this chart
    kind: str = "bar"  # bar or line (XLSX); the terminal draws sparklines or bars
    terminal: str = "spark"  # spark: one sparkline per series; bars: one bar per category
    y_title: str = "件数"
    rows: int | None = None  # plot only the first `rows` rows of the section


@dataclass
class Document:
    kind: str  # daily, overdue, due, report, analysis
    title: str
    subtitle: str
    data: Any  # the JSON contract
    as_of: datetime  # workbook timestamps are set to this, so output is reproducible
    sections: list[Section] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)

    def section(self, key: str) -> Section:
        return next(s for s in self.sections if s.key == key)


# ---------------------------------------------------------------- cells


def cell_text(column: Column, row: dict[str, Any]) -> str:
    """A cell as people read it (terminal, Markdown, CSV)."""
    value = row.get(column.key)
    if value is None or value == "":
        return "—"
    if column.kind == "rate":
        return f"{value * 100:.1f}%"
    if column.kind == "score":
        return f"{value:.2f}"
    if column.kind == "due":
        return str(value)[:10] + ("（暂定）" if row.get("provisional") else "")
    if column.kind == "date":
        return str(value)[:10]
    if column.kind == "datetime":
        return str(value)[:16].replace("T", " ")
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, list):
        return "、".join(str(v) for v in value)
    return str(value)


def groups(section: Section) -> list[tuple[str, str, list[dict[str, Any]]]]:
    """Rows split by `group_by`, groups in order of first appearance: (name, label, rows)."""
    assert section.group_by is not None
    out: dict[str, tuple[str, list[dict[str, Any]]]] = {}
    for row in section.rows:
        name = row.get(section.group_by) or "（未派单）"
        label = str(row.get(section.group_label) or "") if section.group_label else ""
        out.setdefault(name, (label, []))[1].append(row)
    return [(name, label, rows) for name, (label, rows) in out.items()]


# ---------------------------------------------------------------- charts as text

_BLOCKS = "▁▂▃▄▅▆▇█"


def chart_lines(doc: Document, chart: Chart) -> list[str]:
    """A chart as plain text: sparklines (one line per series, one character per
    category) or horizontal bars (one line per category)."""
    section = doc.section(chart.section)
    rows = section.rows if chart.rows is None else section.rows[: chart.rows]
    headers = {c.key: c.header for c in section.columns}
    if chart.terminal == "bars":
        key = chart.series[0]
        top = max((r[key] or 0 for r in rows), default=0) or 1
        width = max((display_width(str(r[chart.x])) for r in rows), default=0)
        lines = []
        for r in rows:
            value = r[key] or 0
            bar = "█" * round(30 * value / top)
            label = str(r[chart.x])
            lines.append(f"{label}{' ' * (width - display_width(label))} {bar} {value:g}")
        return lines
    top = max((r[k] for r in rows for k in chart.series), default=0)
    width = max(display_width(headers[k]) for k in chart.series)
    lines = []
    for key in chart.series:
        values = [r[key] for r in rows]
        spark = "".join("·" if v == 0 else _BLOCKS[min(7, (v * 8 - 1) // top)] for v in values)
        head = headers[key] + " " * (width - display_width(headers[key]))
        lines.append(f"{head} {spark}  合计 {sum(values)}，单日最多 {max(values, default=0)}")
    first, last = str(rows[0][chart.x]), str(rows[-1][chart.x])
    pad = " " * (width + 1)
    gap = max(1, len(rows) - len(first[5:]) - len(last[5:]))
    lines.append(f"{pad}{first[5:]}{' ' * gap}{last[5:]}")
    return lines


def display_width(text: str) -> int:
    """Columns a text takes on a terminal or in a spreadsheet: CJK and full-width
    characters count two."""
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
