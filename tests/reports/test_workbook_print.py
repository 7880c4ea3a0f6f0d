"""The daily workbook read back with openpyxl: set up to print on A4, dates as dates,
counts and rates as numbers, empty parts one line (the PDFs LibreOffice prints from
it are checked in test_paper.py)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest

pytest.register_assert_rewrite("report_fixture")

from report_fixture import number_of  # noqa: E402

pytest_plugins = ("report_fixture",)  # the `window` fixture

LATER = "2026-10-20 09:00"
DAY = "2026-10-09"


def _daily(bbc, tmp_path: Path, day: str = DAY):
    from openpyxl import load_workbook

    path = tmp_path / "daily.xlsx"
    bbc("daily-report", "--date", day, "--xlsx", str(path), now=LATER)
    return load_workbook(path)


def test_every_sheet_is_set_up_for_a4(bbc, window, tmp_path):
    wb = _daily(bbc, tmp_path)
    orientation = {}
    for ws in wb.worksheets:
        setup = ws.page_setup
        assert setup.paperSize == 9, ws.title  # A4
        assert ws.sheet_properties.pageSetUpPr.fitToPage, ws.title
        assert setup.fitToWidth == 1, ws.title
        assert "每日汇总" in ws.oddHeader.left.text and "2026-10-09" in ws.oddHeader.right.text
        assert ws.oddFooter.center.text == "第 &P 页 共 &N 页"
        orientation[ws.title] = setup.orientation
        if ws.title != "趋势图":
            assert ws.print_title_rows == "$1:$1", ws.title  # the header row repeats
    assert wb["汇总"].page_setup.fitToHeight == 1  # the summary is one page
    assert wb["在办案件"].page_setup.fitToHeight == 0  # as long as it needs
    assert orientation["汇总"] == orientation["各单位"] == "portrait"
    assert orientation["在办案件"] == orientation["趋势图"] == "landscape"


def test_dates_are_dates_and_figures_are_numbers(bbc, window, tmp_path):
    wb = _daily(bbc, tmp_path)
    summary = {r[0].value: r for r in wb["汇总"].iter_rows(min_row=2)}
    as_of = summary["截至"][1]
    assert as_of.value == datetime(2026, 10, 10, 0, 0) and as_of.is_date
    assert "年" in as_of.number_format
    closed = summary["今日办结"]
    assert closed[1].value == 4 and closed[2].value == "按期 4，超期 0"
    rate = summary["累计按期办结率"]
    assert rate[1].value == pytest.approx(16 / 21, abs=1e-4) and rate[1].number_format == "0.0%"
    assert rate[2].value == "按期 16 ÷ (办结 18 + 超期未办结 3)"
    assert isinstance(summary["累计满意率"][1].value, float)
    assert [c.value for c in wb["汇总"][1]] == ["项目", "数值", "说明"]

    late = list(wb["超期案件"].iter_rows())
    header = [c.value for c in late[0]]
    due = late[1][header.index("到期日")]
    assert due.value == datetime(2026, 9, 23) and due.is_date and "年" in due.number_format
    open_rows = list(wb["在办案件"].iter_rows())
    received = open_rows[1][[c.value for c in open_rows[0]].index("受理日期")]
    assert received.value == datetime(2026, 9, 17) and received.is_date
    closed_rows = list(wb["今日办结"].iter_rows())
    at = closed_rows[1][[c.value for c in closed_rows[0]].index("办结时间")]
    assert at.is_date and at.value.date() == date(2026, 10, 9) and "hh:mm" in at.number_format
    trend = list(wb["近30天趋势"].iter_rows(min_row=2))
    assert trend[0][0].is_date and trend[0][0].value == datetime(2026, 9, 10)
    assert [type(c.value) for c in trend[-1][2:]] == [int, int]


def test_a_provisional_deadline_is_still_a_date(bbc, tmp_path):
    from openpyxl import load_workbook

    number = bbc(
        "register", "--name", "霍某某", "--phone", "13712341111", "--matter", "跨年的事",
        "--category", "应办未办", now="2026-12-28 09:00",
    ).stdout.strip()  # fmt: skip
    path = tmp_path / "o.xlsx"
    bbc("due", "--within", "10", "--xlsx", str(path), now="2026-12-28 10:00", code=5)
    ws = load_workbook(path).active
    header = [c.value for c in ws[1]]
    row = next(r for r in ws.iter_rows(min_row=2) if r[0].value == number)
    due = row[header.index("到期日")]
    assert due.value == datetime(2027, 1, 5) and "暂定" in due.number_format


def test_an_empty_part_is_one_line(bbc, window, tmp_path):
    wb = _daily(bbc, tmp_path, day="2026-10-11")  # a Sunday: nothing new, nothing closed
    for title in ("今日新登记", "今日办结", "今日上报与移交"):
        ws = wb[title]
        assert [[c.value for c in r] for r in ws.iter_rows()] == [["无"]], title
        assert ws.page_setup.paperSize == 9
    assert number_of(6) in [c.value for c in wb["超期案件"]["A"]]
