"""The writers: a report (a document.Document) as JSON, CSV, XLSX or Markdown bytes,
and the report files they are written to. The XLSX writer is workbook.py.

One writer per format, so every report looks the same in every format; the terminal
rendering is in render.py.

Files are written atomically (core/files.py): to a temporary file in the target
directory, flushed to disk, then renamed over the target, so a reader sees the old
file or the new one, never half of one; each is created 0600 (or BBC_FILE_MODE).

A list too long to hold (every case, every overdue case) is written as it is read:
`json_array` and `csv_stream` give the same text a row at a time. A report's files
(`bbc export`) are written as they are made: `render_stream` gives its JSON and CSV
a piece at a time, and workbook.py writes the sheets a row at a time.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from banbucheng.core import files
from banbucheng.core.sanitize import safe_cell
from banbucheng.reports.document import (
    Column,
    Document,
    Section,
    cell_text,
    chart_lines,
    groups,
)
from banbucheng.reports.workbook import to_xlsx


class ExportError(files.CannotWrite):
    """A report file cannot be written (directory missing, not writable, disk full)."""


# ---------------------------------------------------------------- JSON


def to_json(doc: Document) -> bytes:
    """The JSON contract, UTF-8, keys in a fixed order, ending in a newline."""
    return "".join(json_chunks(doc)).encode("utf-8")


def json_chunks(doc: Document) -> Iterator[str]:
    """to_json's text a piece at a time (for a file): the whole text of every open
    case is never held at once."""
    encoder = json.JSONEncoder(ensure_ascii=False, indent=2)
    yield from _pieces(encoder.iterencode(doc.data))
    yield "\n"


def _pieces(parts: Iterable[str], count: int = 8192) -> Iterator[str]:
    """Many small strings (the encoder's tokens, the CSV's lines) joined `count` at a
    time: pieces of a megabyte or two at most, with no Python step per token."""
    parts = iter(parts)
    while batch := list(itertools.islice(parts, count)):
        yield "".join(batch)


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
    return "".join(csv_chunks(doc)).encode("utf-8")


def csv_chunks(doc: Document) -> Iterator[str]:
    """to_csv's text a piece at a time (for a file)."""
    return _pieces(_csv_lines(doc))


def _csv_lines(doc: Document) -> Iterator[str]:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")

    def line(cells: list[Any]) -> str:
        out.seek(0)
        out.truncate()
        writer.writerow(cells)
        return out.getvalue()

    yield BOM
    tables = doc.sections
    if len(tables) == 1 and not tables[0].facts:
        yield from map(line, _table_rows(tables[0]))
        return
    yield line([safe_cell(f"【{doc.title}】"), safe_cell(doc.subtitle)])
    yield line([])
    for section in tables:
        yield line([safe_cell(f"【{section.title}】")])
        if section.facts:
            for row in section.rows:
                yield line([safe_cell(row["label"]), safe_cell(row["text"])])
        elif section.rows:
            yield from map(line, _table_rows(section))
        else:
            yield line(["无"])
        yield line([])


# ---------------------------------------------------------------- streamed lists


def json_array(rows: Iterable[Any]) -> Iterator[str]:
    """A JSON array of `rows`, one row at a time: the very text that
    json.dumps(list(rows), ensure_ascii=False, indent=2) and a newline would give, for
    a list too long to hold (`list --json` of every case)."""
    first = True
    for row in rows:
        text = json.dumps(row, ensure_ascii=False, indent=2).replace("\n", "\n  ")
        yield ("[\n  " if first else ",\n  ") + text
        first = False
    yield "[]\n" if first else "\n]\n"


def csv_stream(columns: list[Column], rows: Iterable[dict[str, Any]]) -> Iterator[str]:
    """A one-table CSV (as to_csv writes it: BOM, header row, CRLF) one row at a time."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([safe_cell(c.header) for c in columns])
    yield BOM + out.getvalue()
    for row in rows:
        out.seek(0)
        out.truncate()
        writer.writerow([safe_cell(cell_text(c, row)) for c in columns])
        yield out.getvalue()


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


# ---------------------------------------------------------------- rendering and files


def render(doc: Document, fmt: str) -> bytes:
    writers = {"json": to_json, "csv": to_csv, "md": to_markdown, "xlsx": to_xlsx}
    return writers[fmt](doc)


def render_stream(doc: Document, fmt: str) -> bytes | Iterator[str]:
    """What render gives, for a file (write_atomic): JSON and CSV a piece at a time,
    so that writing every open case never holds its whole text."""
    streams = {"json": json_chunks, "csv": csv_chunks}
    return streams[fmt](doc) if fmt in streams else render(doc, fmt)


def write_atomic(path: Path, data: bytes | Iterable[str]) -> None:
    """Write `data` to `path` so that no reader ever sees a partial file, with the mode
    of every file bbc writes (core/files.py: 0600, or BBC_FILE_MODE). `data` may be
    text made a piece at a time (a streamed list), written as it comes."""
    files.write_atomic(path, data)


def prepare_directory(directory: Path) -> Path:
    """The export directory, created (with its parents) when missing."""
    directory = files.check_path(directory)
    if directory.exists() and not directory.is_dir():
        raise ExportError(f"无法写入 {directory}：路径不是目录")
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportError(f"无法写入 {directory}：{files.os_reason(exc)}") from None
    if not os.access(directory, os.W_OK | os.X_OK):
        raise ExportError(f"无法写入 {directory}：没有写入权限")
    return directory


def write_file(path: Path, data: bytes | Iterable[str]) -> None:
    """Write a single report file (for --xlsx FILE and --output FILE)."""
    write_atomic(files.check_target(path), data)


def export_names(day: str) -> dict[str, str]:
    """The files `bbc export` writes for a day, by format."""
    return {fmt: f"{day}-每日汇总.{fmt}" for fmt in ("xlsx", "csv", "json", "pdf")}
