"""The writers: a report (a document.Document) as JSON, CSV, XLSX or Markdown bytes,
and the report files they are written to.

One writer per format, so every report looks the same in every format; the terminal
rendering is in render.py.

Files are written atomically: to a temporary file in the target directory, flushed
to disk, then renamed over the target, so a reader sees the old file or the new
one, never half of one. openpyxl is imported only by the XLSX writer.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from banbucheng.core.errors import BbcError
from banbucheng.core.sanitize import safe_cell
from banbucheng.reports.document import (
    Column,
    Document,
    Section,
    cell_text,
    chart_lines,
    display_width,
    groups,
)

FORMATS = ("json", "csv", "md", "xlsx")


class ExportError(BbcError):
    """A report file cannot be written (directory missing, not writable, disk full)."""

    exit_code = 73  # sysexits EX_CANTCREAT


# ---------------------------------------------------------------- cells


def cell_value(column: Column, row: dict[str, Any]) -> Any:
    """A cell for a spreadsheet: numbers stay numbers, text is made safe to open."""
    value = row.get(column.key)
    if value is None:
        return None
    if column.kind in ("int", "rate", "score") and isinstance(value, int | float):
        return value
    return safe_cell(cell_text(column, row))


# ---------------------------------------------------------------- JSON


def to_json(doc: Document) -> bytes:
    """The JSON contract, UTF-8, keys in a fixed order, ending in a newline."""
    return (json.dumps(doc.data, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


# ---------------------------------------------------------------- CSV

BOM = "\ufeff"


def _table_rows(section: Section) -> Iterable[list[Any]]:
    yield [safe_cell(c.header) for c in section.columns]
    for row in section.rows:
        yield [safe_cell(cell_text(c, row)) for c in section.columns]


def to_csv(doc: Document) -> bytes:
    """UTF-8 with a BOM (so Excel and WPS read Chinese correctly), CRLF line ends.

    A document of one table is a plain CSV: a header row, then one row per record. A
    document of several parts (the daily roll-up, the period report) has one block
    per part: a row 【title】, the header row, the rows, then an empty row.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    tables = doc.sections
    if len(tables) == 1 and not tables[0].facts:
        writer.writerows(_table_rows(tables[0]))
    else:
        writer.writerow([safe_cell(f"【{doc.title}】"), safe_cell(doc.subtitle)])
        writer.writerow([])
        for section in tables:
            writer.writerow([safe_cell(f"【{section.title}】")])
            if section.facts:
                for row in section.rows:
                    writer.writerow([safe_cell(row["label"]), safe_cell(row["text"])])
            elif section.rows:
                writer.writerows(_table_rows(section))
            else:
                writer.writerow(["无"])
            writer.writerow([])
    return (BOM + out.getvalue()).encode("utf-8")


# ---------------------------------------------------------------- Markdown


def _md_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").replace("\r", " ")


def _md_table(columns: list[Column], rows: list[dict[str, Any]]) -> list[str]:
    lines = ["| " + " | ".join(_md_escape(c.header) for c in columns) + " |"]
    aligns = ["---:" if c.kind in ("int", "rate", "score") else "---" for c in columns]
    lines.append("| " + " | ".join(aligns) + " |")
    for row in rows:
        lines.append("| " + " | ".join(_md_escape(cell_text(c, row)) for c in columns) + " |")
    return lines


def to_markdown(doc: Document) -> bytes:
    """For pasting into a message or a document."""
    lines = [f"## {_md_escape(doc.title)}", "", _md_escape(doc.subtitle), ""]
    for section in doc.sections:
        lines += [f"### {_md_escape(section.title)}", ""]
        if section.note:
            lines += [_md_escape(section.note), ""]
        if section.facts:
            lines += [f"- {_md_escape(r['label'])}：{_md_escape(r['text'])}" for r in section.rows]
        elif not section.rows:
            lines.append(section_empty(section))
        elif section.group_by:
            columns = [c for c in section.columns if c.key not in _group_keys(section)]
            for name, label, rows in groups(section):
                head = f"**{_md_escape(name)}**（{len(rows)} 件"
                head += f"；联系方式：{_md_escape(label)}）" if label else "）"
                lines += [head, "", *_md_table(columns, rows), ""]
        else:
            lines += _md_table(section.columns, section.rows)
        lines.append("")
    for chart in doc.charts:
        lines += [f"### {_md_escape(chart.title)}", "", "```", *chart_lines(doc, chart), "```", ""]
    return ("\n".join(lines).rstrip("\n") + "\n").encode("utf-8")


def section_empty(section: Section) -> str:
    return "（无）"


def _group_keys(section: Section) -> set[str]:
    return {k for k in (section.group_by, section.group_label) if k}


# ---------------------------------------------------------------- XLSX

_HEADER_FILL = "DDEBF7"
_INVALID_SHEET_CHARS = str.maketrans({c: "_" for c in "[]:*?/\\"})


def _sheet_title(text: str) -> str:
    return text.translate(_INVALID_SHEET_CHARS)[:31]


def to_xlsx(doc: Document) -> bytes:
    """A real workbook: one sheet per part with Chinese headers, a bold frozen header
    row and fitted column widths, and each chart on a sheet of its own (a worksheet
    holding just the chart: LibreOffice does not show openpyxl's chart sheets).

    The bytes depend only on the document: the workbook's created and modified times
    are the report's as-of time, and every zip entry carries a fixed timestamp.
    """
    from openpyxl import Workbook
    from openpyxl.chart import BarChart, LineChart, Reference
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    wb.remove(wb.active)
    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor=_HEADER_FILL)
    sheets = {}
    for section in doc.sections:
        ws = wb.create_sheet(_sheet_title(section.title))
        sheets[section.key] = ws
        if section.facts:
            # Label and value; counts stay numbers, everything else is the shown text.
            ws.append(["项目", "数值"])
            for r in section.rows:
                value = r.get("value")
                if not isinstance(value, int) or isinstance(value, bool):
                    value = safe_cell(r["text"])
                ws.append([safe_cell(r["label"]), value])
            width_columns = [Column("label", "项目"), Column("text", "数值")]
            width_rows = section.rows
        else:
            ws.append([safe_cell(c.header) for c in section.columns])
            for row in section.rows:
                ws.append([cell_value(c, row) for c in section.columns])
            for i, column in enumerate(section.columns, start=1):
                fmt = {"rate": "0.0%", "score": "0.00"}.get(column.kind)
                if fmt:
                    for (cell,) in ws.iter_rows(min_row=2, min_col=i, max_col=i):
                        cell.number_format = fmt
            width_columns, width_rows = section.columns, section.rows
        for cell in ws[1]:
            cell.font = bold
            cell.fill = fill
            cell.alignment = Alignment(vertical="center")
        ws.freeze_panes = "A2"
        for i, column in enumerate(width_columns, start=1):
            texts = [column.header] + [cell_text(column, r) for r in width_rows]
            width = column.width or min(60, max(display_width(t) for t in texts) + 2)
            ws.column_dimensions[get_column_letter(i)].width = width
        if not section.facts and section.rows:
            ws.auto_filter.ref = ws.dimensions
    for chart_spec in doc.charts:
        section = doc.section(chart_spec.section)
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
        chart.height, chart.width = 11, 22
        for key in chart_spec.series:
            col = keys.index(key) + 1
            data = Reference(ws, min_col=col, max_col=col, min_row=1, max_row=n + 1)
            chart.add_data(data, titles_from_data=True)
        x_col = keys.index(chart_spec.x) + 1
        chart.set_categories(Reference(ws, min_col=x_col, min_row=2, max_row=n + 1))
        sheet = wb.create_sheet(_sheet_title(chart_spec.sheet))
        sheet.sheet_view.showGridLines = False
        sheet.page_setup.orientation = "landscape"  # the chart fits one printed page
        sheet.add_chart(chart, "A1")
    return _save_reproducibly(wb, doc.as_of, creator=doc.title)


# A fixed zip entry time (the earliest a zip can hold): file bytes then depend only on
# the content, so a rerun writes an identical file.
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def _save_reproducibly(wb: Any, as_of: datetime, *, creator: str) -> bytes:
    import zipfile

    from openpyxl.writer.excel import ExcelWriter

    stamp = as_of.astimezone(UTC).replace(tzinfo=None, microsecond=0)
    wb.properties.created = stamp
    wb.properties.modified = stamp
    wb.properties.creator = creator[:60]
    wb.properties.lastModifiedBy = None
    first = io.BytesIO()
    with zipfile.ZipFile(first, "w", zipfile.ZIP_DEFLATED) as archive:
        ExcelWriter(wb, archive).save()
    # openpyxl stamps zip entries with the current time (and worksheets with a temp
    # file's); copy every entry, in order, with a fixed time instead.
    fixed = io.BytesIO()
    with (
        zipfile.ZipFile(first) as source,
        zipfile.ZipFile(fixed, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=_ZIP_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            target.writestr(entry, source.read(info))
    return fixed.getvalue()


# ---------------------------------------------------------------- rendering and files


def render(doc: Document, fmt: str) -> bytes:
    writers = {"json": to_json, "csv": to_csv, "md": to_markdown, "xlsx": to_xlsx}
    return writers[fmt](doc)


def write_atomic(path: Path, data: bytes) -> None:
    """Write `data` to `path` so that no reader ever sees a partial file: a temporary
    file in the same directory, flushed to disk, then renamed over the target. Two
    writers at once each rename a complete file; the last one wins. The file gets the
    usual permissions (0666 less the umask)."""
    directory = path.parent
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise ExportError(_os_message(exc, directory)) from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise ExportError(_os_message(exc, path)) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _sync_directory(directory)


def _umask() -> int:
    mask = os.umask(0o077)
    os.umask(mask)
    return mask


def _sync_directory(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # not every file system can sync a directory; the rename is done anyway
    finally:
        os.close(fd)


def _os_message(exc: OSError, where: Path) -> str:
    import errno

    reason = {
        errno.EACCES: "没有写入权限",
        errno.EPERM: "没有写入权限",
        errno.ENOENT: "目录不存在",
        errno.ENOTDIR: "路径不是目录",
        errno.EISDIR: "目标是一个目录",
        errno.ENOSPC: "磁盘空间不足",
        errno.EROFS: "文件系统只读",
        errno.EDQUOT: "超出磁盘配额",
    }.get(exc.errno or 0, exc.strerror or type(exc).__name__)
    return f"无法写入 {where}：{reason}"


def prepare_directory(directory: Path) -> Path:
    """The export directory, created (with its parents) when missing."""
    directory = directory.expanduser()
    if directory.exists() and not directory.is_dir():
        raise ExportError(f"无法写入 {directory}：路径不是目录")
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportError(_os_message(exc, directory)) from None
    if not os.access(directory, os.W_OK | os.X_OK):
        raise ExportError(f"无法写入 {directory}：没有写入权限")
    return directory


def write_file(path: Path, data: bytes) -> None:
    """Write a single report file (for --xlsx FILE and --output FILE)."""
    path = path.expanduser()
    if path.is_dir():
        raise ExportError(f"无法写入 {path}：目标是一个目录")
    parent = path.parent
    if not parent.is_dir():
        raise ExportError(f"无法写入 {path}：目录不存在")
    write_atomic(path, data)


def export_names(day: str) -> dict[str, str]:
    """The files `bbc export` writes for a day, by format."""
    return {fmt: f"{day}-每日汇总.{fmt}" for fmt in ("xlsx", "csv", "json")}
