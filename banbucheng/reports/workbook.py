"""The XLSX writer: a report (a document.Document) as a workbook staff open in Excel
or WPS, one sheet a section, Chinese headers, real dates, A4 print set-up.

Sheets are written a row at a time (openpyxl's write-only mode, imported only here and
only when a workbook is made): of a list of every open case only the zipped workbook,
about 80 bytes a case, is held. exports.py writes the other formats and the files.
"""

from __future__ import annotations

import io
import os
import shutil
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

from banbucheng.reports.document import Column, Document, Section, cell_text, display_width

_HEADER_FILL = "DDEBF7"
_INVALID_SHEET_CHARS = str.maketrans({c: "_" for c in "[]:*?/\\"})
# Dates and times as staff write them; a provisional deadline says so in its format,
# so the cell stays a real date that sorts and filters.
DATE_FORMAT = 'yyyy"年"m"月"d"日"'
DATETIME_FORMAT = 'yyyy"年"m"月"d"日" hh:mm'
PROVISIONAL_FORMAT = 'yyyy"年"m"月"d"日""（暂定）"'
_NUMBER_FORMATS = {"rate": "0.0%", "score": "0.00", "date": DATE_FORMAT, "due": DATE_FORMAT}
_NUMBER_FORMATS["datetime"] = DATETIME_FORMAT
# A4 portrait prints about this many characters of column width at full size (wider
# tables go landscape, and every sheet is scaled to one page wide).
_PORTRAIT_WIDTH = 100


def _sheet_title(text: str) -> str:
    return text.translate(_INVALID_SHEET_CHARS)[:31]


def _spreadsheet_value(column: Column, row: dict[str, Any]) -> Any:
    """A cell for the workbook: numbers as numbers, dates and times as dates."""
    value = row.get(column.key)
    if value is None or (value == "" and column.kind != "text"):
        return None
    if column.kind in ("date", "due", "datetime") and isinstance(value, str):
        return _date_cell(value, with_time=column.kind == "datetime")
    if column.kind in ("int", "rate", "score") and isinstance(value, int | float):
        return value
    return cell_text(column, row)


def _date_cell(iso: str, *, with_time: bool) -> Any:
    """An ISO date or time as the naive Beijing date (or time) a spreadsheet holds."""
    from datetime import date

    from banbucheng.core.timeutil import to_beijing

    try:
        if not with_time:
            return date.fromisoformat(iso[:10])
        return to_beijing(datetime.fromisoformat(iso)).replace(tzinfo=None, second=0)
    except ValueError:
        return iso


def _shown_width(column: Column, row: dict[str, Any]) -> int:
    """How wide a cell shows in the workbook (its date format, not the ISO text)."""
    value = row.get(column.key)
    if column.kind in ("date", "due") and value:
        return 15 + (8 if column.kind == "due" and row.get("provisional") else 0)
    if column.kind == "datetime" and value:
        return 21
    return display_width(cell_text(column, row))


class _Cells:
    """Cells for one write-only sheet. A plain number or text goes in as the value
    itself; a cell that needs more (a number format, an alignment, a style, text that
    could be read as a formula or an error code) is a WriteOnlyCell, written as soon
    as its row is appended. A table's styled cells are kept a column (`slot`) and
    style at a time and given each row's value: a row is written before the next is
    made, and a styled cell costs more to make than to write."""

    def __init__(self, ws: Any) -> None:
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.cell.cell import ERROR_CODES

        self.ws, self._make, self._errors = ws, WriteOnlyCell, ERROR_CODES
        self._kept: dict[tuple[int, str | None, int], Any] = {}

    def __call__(
        self,
        value: Any,
        number_format: str | None = None,
        alignment: Any = None,
        *,
        font: Any = None,
        fill: Any = None,
        slot: int | None = None,
    ) -> Any:
        """Text is always a string cell: a text that looks like a formula (=, +, -, @)
        stays text, shown as typed (quotePrefix keeps it text when edited)."""
        text = isinstance(value, str)
        formula = text and value.startswith(_FORMULA_START)
        error = text and value in self._errors
        dated = isinstance(value, date)  # a datetime is a date too
        styled = number_format or alignment is not None or font is not None or fill is not None
        if not (styled or formula or dated or error):
            return value
        shown_format = number_format if value is not None and not text else None
        # Kept: a table's cell in its column, not text to guard, not an unformatted date
        # (which takes openpyxl's own date format).
        if (
            slot is not None
            and font is None
            and fill is None
            and not (formula or error)
            and (shown_format is not None or not dated)
        ):
            key = (slot, shown_format, id(alignment))
            cell = self._kept.get(key)
            if cell is None:
                cell = self._kept[key] = self._make(self.ws)
                if shown_format is not None:
                    cell.number_format = shown_format
                if alignment is not None:
                    cell.alignment = alignment
            cell.value = value  # a str is a string cell: neither formula nor error
            return cell
        cell = self._make(self.ws, value)
        if text:
            cell.data_type = "s"
            if formula:
                cell.quotePrefix = True
        if number_format and value is not None and not text:
            cell.number_format = number_format
        if alignment is not None:
            cell.alignment = alignment
        if font is not None:
            cell.font = font
        if fill is not None:
            cell.fill = fill
        return cell


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _header_text(text: str) -> str:
    return text.replace("&", "&&")


def _page_setup(ws: Any, doc: Document, *, width: float, one_page: bool = False) -> None:
    """A4, portrait or landscape by the table's width, one page wide (one page in all
    when `one_page`), the header row repeated, the report's title and date at the top
    of every page and 第 N 页 共 M 页 at the bottom."""
    from openpyxl.worksheet.page import PageMargins
    from openpyxl.worksheet.worksheet import Worksheet

    ws.page_setup.paperSize = Worksheet.PAPERSIZE_A4
    ws.page_setup.orientation = "portrait" if width <= _PORTRAIT_WIDTH else "landscape"
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 1 if one_page else 0
    ws.print_options.horizontalCentered = True
    ws.page_margins = PageMargins(left=0.5, right=0.5, top=0.9, bottom=0.75, header=0.3)
    # The sheet's name written out: LibreOffice leaves the &A field empty.
    ws.oddHeader.left.text = _header_text(f"{doc.title}　{ws.title}")
    ws.oddHeader.left.font = "-,Bold"
    ws.oddHeader.right.text = _header_text(doc.subtitle)
    ws.oddFooter.center.text = "第 &P 页 共 &N 页"
    for part in (ws.oddHeader.left, ws.oddHeader.right, ws.oddFooter.center):
        part.size = 10
    # The header keeps its size when a wide table is scaled down to fit the page.
    ws.HeaderFooter.scaleWithDoc = False


def to_xlsx(doc: Document) -> bytes:
    """A real workbook that prints: one sheet per part with Chinese headers, a bold
    frozen header row and fitted column widths, numbers as numbers, rates as
    percentages and dates as dates; each chart on a sheet of its own (a worksheet
    holding just the chart: LibreOffice does not show openpyxl's chart sheets). Every
    sheet is set up for A4 (_page_setup); an empty part is one line, 无.

    Written as it is made (openpyxl's write-only workbook): each row goes to the
    sheet's file as it is appended, so a list of every open case costs its rows on
    disk, not a cell object each in memory. The widths are measured in a pass over
    the rows first, because a streamed sheet states them before its rows.

    The bytes depend only on the document: the workbook's created and modified times
    are the report's as-of time, and every zip entry carries a fixed timestamp.
    """
    from openpyxl import Workbook
    from openpyxl.chart import BarChart, LineChart, Reference
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    wb = Workbook(write_only=True)
    head = {
        "font": Font(bold=True),
        "fill": PatternFill("solid", fgColor=_HEADER_FILL),
        "alignment": Alignment(vertical="center"),
    }
    wrap = Alignment(wrap_text=True, vertical="top")
    sheets = {}
    for section in doc.sections:
        ws = wb.create_sheet(_sheet_title(section.title))
        cells = _Cells(ws)
        sheets[section.key] = ws
        if not section.rows:
            _dimension(ws, "A1:A1")
            ws.column_dimensions["A"].width = 12
            _page_setup(ws, doc, width=12)
            ws.append([cells("无")])
            continue
        if section.facts:
            headers, widths = ["项目", "数值", "说明"], _facts_widths(section)
            _dimension(ws, f"A1:C{len(section.rows) + 1}")
        else:
            headers, widths = [c.header for c in section.columns], _widths(section)
            last = get_column_letter(len(section.columns))
            ws.auto_filter.ref = f"A1:{last}{len(section.rows) + 1}"
            _dimension(ws, ws.auto_filter.ref)
        # What a streamed sheet writes before its rows: the frozen pane, the widths.
        ws.freeze_panes = "A2"
        ws.print_title_rows = "1:1"
        for i, width in enumerate(widths, start=1):
            ws.column_dimensions[get_column_letter(i)].width = width
        _page_setup(ws, doc, width=sum(widths), one_page=section.facts)
        ws.append([cells(h, **head) for h in headers])
        if section.facts:
            for fact_row in _facts_rows(section, cells):
                ws.append(fact_row)
            continue
        formats = [_NUMBER_FORMATS.get(c.kind) for c in section.columns]
        aligns = [wrap if c.width else None for c in section.columns]
        for row in section.rows:
            values = []
            for column, fmt, align in zip(section.columns, formats, aligns, strict=True):
                if column.kind == "due" and row.get("provisional"):
                    fmt = PROVISIONAL_FORMAT
                value = _spreadsheet_value(column, row)
                if value is None and align is None:
                    values.append(None)
                else:
                    values.append(cells(value, fmt, align, slot=len(values)))
            ws.append(values)
    for chart_spec in doc.charts:
        section = doc.section(chart_spec.section)
        if not section.rows:
            continue
        ws = sheets[section.key]
        keys = [c.key for c in section.columns]
        n = len(section.rows) if chart_spec.rows is None else chart_spec.rows
        chart = LineChart() if chart_spec.kind == "line" else BarChart()
        chart.title = chart_spec.title
        chart.y_axis.title = chart_spec.y_title
        chart.x_axis.title = next(c.header for c in section.columns if c.key == chart_spec.x)
        # Shown explicitly: some spreadsheet programs hide axes openpyxl leaves implicit.
        chart.x_axis.delete = False
        chart.y_axis.delete = False
        x_column = section.columns[keys.index(chart_spec.x)]
        if x_column.kind in ("date", "due"):
            chart.x_axis.number_format = "m/d"
        top = max((r.get(k) or 0 for r in section.rows[:n] for k in chart_spec.series), default=0)
        chart.y_axis.majorUnit = max(1, -(-top // 8)) if top >= 1 else 1
        chart.height, chart.width = 13, 25
        for key in chart_spec.series:
            col = keys.index(key) + 1
            data = Reference(ws, min_col=col, max_col=col, min_row=1, max_row=n + 1)
            chart.add_data(data, titles_from_data=True)
        x_col = keys.index(chart_spec.x) + 1
        chart.set_categories(Reference(ws, min_col=x_col, min_row=2, max_row=n + 1))
        sheet = wb.create_sheet(_sheet_title(chart_spec.sheet))
        sheet.sheet_view.showGridLines = False
        _dimension(sheet, "A1:A1")
        sheet.add_chart(chart, "A1")
        _page_setup(sheet, doc, width=_PORTRAIT_WIDTH + 1, one_page=True)
    return _save_reproducibly(wb, doc.as_of, creator=doc.title)


def _dimension(ws: Any, ref: str) -> None:
    """The range a streamed sheet fills, stated at its top as a whole sheet states it
    (openpyxl asks a worksheet for calculate_dimension; a write-only one has none)."""
    ws.calculate_dimension = lambda: ref


def _widths(section: Section) -> list[float]:
    """Each column's width: a set width, or the widest cell as shown, at most 60. One
    pass over the rows (each row of a Rows view is made anew when read)."""
    measured = [c for c in section.columns if not c.width]  # a set width is not measured
    widest = dict.fromkeys((c.key for c in measured), 0)
    for row in section.rows:
        for column in measured:
            widest[column.key] = max(widest[column.key], _shown_width(column, row))
    return [
        column.width or min(60, max(display_width(column.header), widest[column.key]) + 2)
        for column in section.columns
    ]


def _fact_value(fact: dict[str, Any]) -> tuple[Any, str | None, str]:
    """A key figure's cell (value, number format) and its 说明: counts are numbers,
    rates percentages, times dates; what a figure is made of (按期 16 ÷ …) is the note."""
    value, kind = fact.get("value"), fact.get("kind", "int")
    note = fact.get("note", "")
    fmt = None
    if kind == "datetime" and isinstance(value, str):
        value, fmt = _date_cell(value, with_time=True), DATETIME_FORMAT
    elif kind == "rate":
        value, fmt = ("—", None) if value is None else (value, "0.0%")
    elif isinstance(value, int | float) and not isinstance(value, bool):
        if not note and fact["text"] not in (str(value), f"{value} 件", f"{value} 项"):
            note = fact["text"]  # e.g. 3 件（上期 2，+1）
    else:
        value = fact["text"]
    return value, fmt, note


def _facts_rows(section: Section, cells: _Cells) -> Iterator[list[Any]]:
    """Key figures as 项目 | 数值 | 说明, a number right-aligned."""
    from openpyxl.styles import Alignment

    right = Alignment(horizontal="right")
    for fact in section.rows:
        value, fmt, note = _fact_value(fact)
        align = None if isinstance(value, str) else right
        yield [cells(fact["label"]), cells(value, fmt, align), cells(note or None)]


def _facts_widths(section: Section) -> list[float]:
    notes = [_fact_value(f)[2] for f in section.rows]
    label_width = max(display_width(str(f["label"])) for f in section.rows) + 2
    note_width = max([display_width(n) for n in notes] + [4]) + 2
    return [max(label_width, 8), 20, min(60, max(note_width, 10))]


# A fixed zip entry time (the earliest a zip can hold): file bytes then depend only on
# the content, so a rerun writes an identical file.
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def _save_reproducibly(wb: Any, as_of: datetime, *, creator: str) -> bytes:
    from openpyxl.writer.excel import ExcelWriter

    stamp = as_of.astimezone(UTC).replace(tzinfo=None, microsecond=0)
    wb.properties.created = stamp
    wb.properties.modified = stamp
    wb.properties.creator = creator[:60]
    wb.properties.lastModifiedBy = None
    out = io.BytesIO()
    ExcelWriter(wb, _fixed_time_zip()(out, "w")).save()  # closes it
    return out.getvalue()


def _fixed_time_zip() -> Any:
    """A zip whose every entry carries the fixed time and mode, as it is written.
    openpyxl stamps entries with the current time (and worksheets with a temporary
    file's); stamping them here, rather than copying a finished zip entry by entry,
    compresses each part once. (A class made on first use: zipfile is imported only
    by the XLSX writer.)"""
    import zipfile

    class FixedTimeZip(zipfile.ZipFile):
        def writestr(self, zinfo_or_arcname: Any, data: Any, *args: Any, **kwargs: Any) -> None:
            entry = self._entry(getattr(zinfo_or_arcname, "filename", zinfo_or_arcname))
            super().writestr(entry, data.encode("utf-8") if isinstance(data, str) else data)

        def write(self, filename: Any, arcname: Any = None, *args: Any, **kwargs: Any) -> None:
            # A worksheet's file (the rows of a long list), copied in pieces.
            entry = self._entry(arcname or os.path.basename(filename))
            with open(filename, "rb") as source, self.open(entry, "w") as target:
                shutil.copyfileobj(source, target, 1 << 20)

        @staticmethod
        def _entry(name: str) -> zipfile.ZipInfo:
            entry = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            return entry

    return FixedTimeZip
