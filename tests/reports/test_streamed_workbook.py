"""The streamed workbook (workbook.to_xlsx, openpyxl's write-only mode) against the
whole-sheet workbook it replaced, both read back with openpyxl: the same sheets, cell
values, types, number formats and styles, column widths, frozen header, filter and
print titles; on a document with every kind of cell and on the day's roll-up of a
store of 600 realistic cases."""

from __future__ import annotations

import io
import os
from datetime import datetime
from pathlib import Path
from typing import Any

import bulkgen
import pytest

from banbucheng.core.timeutil import BEIJING
from banbucheng.reports import exports, layouts, workbook
from banbucheng.reports.document import Chart, Column, Document, Section, display_width

NOW = "2026-11-27 17:45"  # bulkgen.NOW


# ---------------------------------------------------------------- the writer it replaced


def _whole_sheet(doc: Document) -> Any:
    """The cells as workbook.to_xlsx made them before it streamed: every cell of every
    sheet held by a (normal) openpyxl workbook. Page setup and charts, unchanged by
    streaming, are left out."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    def put(ws: Any, row: int, col: int, value: Any, number_format: str | None = None) -> Any:
        cell = ws.cell(row=row, column=col)
        cell.value = value
        if isinstance(value, str):
            cell.data_type = "s"
            if value.startswith(("=", "+", "-", "@", "\t", "\r")):
                cell.quotePrefix = True
        if number_format and value is not None and not isinstance(value, str):
            cell.number_format = number_format
        return cell

    wb = Workbook()
    wb.remove(wb.active)
    wrap = Alignment(wrap_text=True, vertical="top")
    for section in doc.sections:
        ws = wb.create_sheet(workbook._sheet_title(section.title))
        if not section.rows:
            put(ws, 1, 1, "无")
            ws.column_dimensions["A"].width = 12
            continue
        if section.facts:
            for i, header in enumerate(("项目", "数值", "说明"), start=1):
                put(ws, 1, i, header)
            notes = []
            for r, fact in enumerate(section.rows, start=2):
                value, kind = fact.get("value"), fact.get("kind", "int")
                note = fact.get("note", "")
                fmt = None
                if kind == "datetime" and isinstance(value, str):
                    value = workbook._date_cell(value, with_time=True)
                    fmt = workbook.DATETIME_FORMAT
                elif kind == "rate":
                    value, fmt = ("—", None) if value is None else (value, "0.0%")
                elif isinstance(value, int | float) and not isinstance(value, bool):
                    if not note and fact["text"] not in (str(value), f"{value} 件", f"{value} 项"):
                        note = fact["text"]
                else:
                    value = fact["text"]
                put(ws, r, 1, fact["label"])
                cell = put(ws, r, 2, value, fmt)
                if not isinstance(value, str):
                    cell.alignment = Alignment(horizontal="right")
                put(ws, r, 3, note or None)
                notes.append(note)
            label_width = max(display_width(str(f["label"])) for f in section.rows) + 2
            note_width = max([display_width(n) for n in notes] + [4]) + 2
            widths = [max(label_width, 8), 20, min(60, max(note_width, 10))]
        else:
            for i, column in enumerate(section.columns, start=1):
                put(ws, 1, i, column.header)
            for r, row in enumerate(section.rows, start=2):
                for i, column in enumerate(section.columns, start=1):
                    fmt = workbook._NUMBER_FORMATS.get(column.kind)
                    if column.kind == "due" and row.get("provisional"):
                        fmt = workbook.PROVISIONAL_FORMAT
                    cell = put(ws, r, i, workbook._spreadsheet_value(column, row), fmt)
                    if column.width:
                        cell.alignment = wrap
            widths = []
            for column in section.columns:
                if column.width:
                    widths.append(column.width)
                    continue
                shown = max(workbook._shown_width(column, r) for r in section.rows)
                widths.append(min(60, max(display_width(column.header), shown) + 2))
            ws.auto_filter.ref = ws.dimensions
        for cell in ws[1]:
            cell.font = Font(bold=True)
            cell.fill = PatternFill("solid", fgColor=workbook._HEADER_FILL)
            cell.alignment = Alignment(vertical="center")
        ws.freeze_panes = "A2"
        ws.print_title_rows = "1:1"
        for i, width in enumerate(widths, start=1):
            ws.column_dimensions[get_column_letter(i)].width = width
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _whole_csv(doc: Document) -> str:
    """The CSV as exports.to_csv made it before it streamed: one text, written whole."""
    import csv

    from banbucheng.core.sanitize import safe_cell
    from banbucheng.reports.document import cell_text

    def table(section: Section) -> list[list[Any]]:
        head = [safe_cell(c.header) for c in section.columns]
        return [head] + [
            [safe_cell(cell_text(c, r)) for c in section.columns] for r in section.rows
        ]

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([safe_cell(f"【{doc.title}】"), safe_cell(doc.subtitle)])
    writer.writerow([])
    for section in doc.sections:
        writer.writerow([safe_cell(f"【{section.title}】")])
        if section.facts:
            for row in section.rows:
                writer.writerow([safe_cell(row["label"]), safe_cell(row["text"])])
        elif section.rows:
            writer.writerows(table(section))
        else:
            writer.writerow(["无"])
        writer.writerow([])
    return exports.BOM + out.getvalue()


# ---------------------------------------------------------------- comparing


def _read(data: bytes) -> Any:
    from openpyxl import load_workbook

    return load_workbook(io.BytesIO(data))


def _cell(c: Any) -> tuple[Any, ...]:
    a = c.alignment
    return (
        c.value,
        c.data_type,
        c.number_format,
        c.quotePrefix,
        c.font.b,
        c.fill.fgColor.rgb if c.fill.fill_type else None,
        a.wrap_text,
        a.horizontal,
        a.vertical,
    )


def _sheet(ws: Any) -> dict[str, Any]:
    return {
        "cells": [[_cell(c) for c in row] for row in ws.iter_rows()],
        "widths": {k: d.width for k, d in ws.column_dimensions.items() if d.width},
        "freeze": ws.freeze_panes,
        "filter": ws.auto_filter.ref,
        "titles": ws.print_title_rows,
        "dimensions": ws.dimensions,
    }


def _assert_same_as_whole_sheet(doc: Document) -> Any:
    streamed, whole = _read(workbook.to_xlsx(doc)), _read(_whole_sheet(doc))
    charts = [workbook._sheet_title(c.sheet) for c in doc.charts if doc.section(c.section).rows]
    assert streamed.sheetnames == whole.sheetnames + charts
    for name in whole.sheetnames:
        assert _sheet(streamed[name]) == _sheet(whole[name]), name
    return streamed


# ---------------------------------------------------------------- the documents


def _varied() -> Document:
    """Every kind of column and cell: numbers, rates, scores, dates, times, deadlines
    provisional or not, empty values, lists, yes/no, text that looks like a formula or
    an error code, an over-long text, a set width; key figures; an empty part."""
    columns = [
        Column("name", "名称"),
        Column("n", "件数", "int"),
        Column("rate", "比率", "rate"),
        Column("score", "得分", "score"),
        Column("day", "日期", "date"),
        Column("due", "到期日", "due"),
        Column("at", "时间", "datetime"),
        Column("flag", "是否"),
        Column("tags", "标签"),
        Column("matter", "反映事项", width=50),
    ]
    texts = ["=SUM(A1:A2)", "+86 138", "-5", "@某人", "#N/A", "普通文字", "", "长" * 80]
    rows = []
    for i in range(40):
        rows.append(
            {
                "name": texts[i % len(texts)] or None,
                "n": [0, 7, None, 12345][i % 4],
                "rate": [0.0, 0.8333, None, 1][i % 4],
                "score": [88.456, None, 100][i % 3],
                "day": [None, "2026-11-27", "2026-11-27T09:30:00+08:00", ""][i % 4],
                "due": ["2026-12-01", None, "2027-02-10"][i % 3],
                "provisional": i % 5 == 0,
                "at": [None, "2026-11-27T01:02:03+00:00", "2026-11-26T23:59:00+08:00"][i % 3],
                "flag": [True, False, None][i % 3],
                "tags": [["甲", "乙"], [], None][i % 3],
                "matter": [f"第{i}件：" + "窗口" * (i % 30), None, '=HYPERLINK("x")'][i % 3],
            }
        )
    facts = [
        {"label": "截至", "value": "2026-11-27T17:45:00+08:00", "text": "", "kind": "datetime"},
        {"label": "在办", "value": 12, "text": "12"},
        {"label": "办结", "value": 3, "text": "3（按期 2，超期 1）"},
        {"label": "按期办结率", "value": None, "text": "—", "kind": "rate"},
        {"label": "满意率", "value": 0.9, "text": "90.0%", "kind": "rate", "note": "回访 10 次"},
        {"label": "说明", "value": "=1+1", "text": "=1+1"},
    ]
    trend = [{"day": f"2026-11-{d:02d}", "n": d % 4, "m": d % 3} for d in range(1, 28)]
    return Document(
        kind="daily",
        title="测试中心 & 各种单元格",
        subtitle="2026-11-27",
        data={},
        as_of=datetime(2026, 11, 27, 17, 45, tzinfo=BEIJING),
        sections=[
            Section("facts", "汇总", [], facts, facts=True),
            Section("cases", "案件[全部]：*?/\\", columns, rows),
            Section("none", "空表", columns, []),
            Section(
                "trend",
                "趋势",
                [
                    Column("day", "日期", "date"),
                    Column("n", "新登记", "int"),
                    Column("m", "办结", "int"),
                ],
                trend,
            ),
        ],
        charts=[Chart("近期趋势", "trend", "day", ("n", "m"), "趋势图", kind="line")],
    )


def test_a_varied_document_streams_to_the_same_cells():
    wb = _assert_same_as_whole_sheet(_varied())
    cases = wb[workbook._sheet_title("案件[全部]：*?/\\")]
    assert cases.max_row == 41 and cases["A2"].value == "=SUM(A1:A2)"
    assert cases["A2"].data_type == "s" and cases["A2"].quotePrefix
    assert cases["A6"].value == "#N/A" and cases["A6"].data_type == "s"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("n600") / "bbc.sqlite3"
    bulkgen.build(f"sqlite:///{path}", 600)
    return path


def test_the_roll_up_of_a_store_streams_to_the_same_cells(bbc, store, monkeypatch, tmp_path):
    work = tmp_path / "bbc.sqlite3"
    work.write_bytes(store.read_bytes())
    monkeypatch.setenv("BBC_DB", str(work))
    data = bbc.json("daily-report", "--date", "2026-11-26", now=NOW)
    assert data["open"] > 10 and data["overdue"] > 5 and data["closed"] > 0
    doc = layouts.daily_document(data)
    wb = _assert_same_as_whole_sheet(doc)
    assert wb["在办案件"].max_row == data["open"] + 1
    # The export writes the same workbook as the report does.
    bbc("export", "--dir", str(tmp_path / "out"), "--date", "2026-11-26", now=NOW)
    written = (tmp_path / "out" / "2026-11-26-每日汇总.xlsx").read_bytes()
    assert written == workbook.to_xlsx(doc)
    assert os.stat(tmp_path / "out" / "2026-11-26-每日汇总.xlsx").st_mode & 0o777 == 0o600


def test_streamed_csv_and_json_are_the_texts_they_were(bbc, store, monkeypatch, tmp_path):
    import json

    work = tmp_path / "bbc.sqlite3"
    work.write_bytes(store.read_bytes())
    monkeypatch.setenv("BBC_DB", str(work))
    data = bbc.json("daily-report", "--date", "2026-11-26", now=NOW)
    doc = layouts.daily_document(data)
    text = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    assert "".join(exports.json_chunks(doc)) == text
    assert exports.to_json(doc) == text.encode("utf-8")
    chunks = list(exports.csv_chunks(doc))
    assert chunks[0].startswith(exports.BOM)
    assert "".join(chunks) == _whole_csv(doc)
    assert bbc("daily-report", "--date", "2026-11-26", "--csv", now=NOW).stdout_bytes == (
        exports.to_csv(doc)
    )
