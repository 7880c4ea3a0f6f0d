"""Every output format read back (openpyxl, csv, json), masking in each, and the cron
export: atomic, reproducible, one log line, a clear failure."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

pytest.register_assert_rewrite("report_fixture")

from report_fixture import PHONE, STEPS, A, B, number_of  # noqa: E402

pytest_plugins = ("report_fixture",)  # the `window` fixture

LATER = "2026-10-20 09:00"
DAY = "2026-10-09"
N = number_of
BOM = b"\xef\xbb\xbf"
# Every citizen's name in the fixture: none may appear unmasked in any output.
NAMES = [args["name"] for _, action, _, args in STEPS if action == "register"]


def _assert_masked(text: str) -> None:
    assert PHONE not in text
    leaked = [name for name in NAMES if name in text]
    assert not leaked, leaked


# ---------------------------------------------------------------- XLSX


def _workbook(path: Path):
    from openpyxl import load_workbook

    return load_workbook(path)


def _all_cells(wb) -> str:
    return "\n".join(
        str(c.value) for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value
    )


def test_daily_xlsx_read_back(bbc, window, tmp_path):
    path = tmp_path / "daily.xlsx"
    result = bbc("daily-report", "--date", DAY, "--xlsx", str(path), now=LATER)
    assert result.stdout == "" and str(path) in result.stderr
    wb = _workbook(path)
    assert wb.sheetnames == [
        "汇总",
        "各单位",
        "超期案件",
        "下一工作日到期（2026-10-10）",
        "在办案件",
        "今日新登记",
        "今日办结",
        "今日上报与移交",
        "近30天趋势",
        "趋势图",
    ]
    for ws in wb.worksheets[:-1]:  # all but the chart's sheet
        assert ws.freeze_panes == "A2", ws.title
        assert ws["A1"].font.b, ws.title
        assert all(ws.column_dimensions[col].width >= 4 for col in "AB")
    summary = {r[0]: r[1] for r in wb["汇总"].iter_rows(min_row=2, values_only=True)}
    assert summary["今日新登记"] == 3 and summary["在办"] == 11 and summary["超期"] == 3
    assert summary["累计受理"] == 27
    assert summary["下一工作日（2026-10-10）到期"] == 1
    units = list(wb["各单位"].iter_rows(values_only=True))
    assert units[0] == ("单位", "联系方式", "在办", "超期", "今日办结")
    assert units[1] == (B, "李科长 0571-87000002", 4, 2, 0)
    assert units[-1] == ("（未派单）", "—", 2, 1, 1)
    late = list(wb["超期案件"].iter_rows(values_only=True))
    assert late[0][:2] == ("编号", "主办单位")
    assert [r[0] for r in late[1:]] == [N(6), N(14), N(13)]
    assert [r[5] for r in late[1:]] == [6, 2, 1]  # 超期工作日, numbers
    trend = list(wb["近30天趋势"].iter_rows(values_only=True))
    assert trend[0] == ("日期", "工作日", "新登记", "办结")
    assert len(trend) == 31 and trend[-1] == (datetime(2026, 10, 9), "是", 3, 4)
    # The chart is a real one, on a sheet of its own, over the trend sheet.
    sheet = wb["趋势图"]
    assert sheet.max_row == 1 and sheet["A1"].value is None  # nothing but the chart
    (chart,) = sheet._charts
    assert type(chart).__name__ == "BarChart"
    refs = [s.val.numRef.f for s in chart.series]
    assert refs == ["'近30天趋势'!$C$2:$C$31", "'近30天趋势'!$D$2:$D$31"]
    categories = chart.series[0].cat
    assert (categories.numRef or categories.strRef).f == "'近30天趋势'!$A$2:$A$31"
    _assert_masked(_all_cells(wb))
    open_rows = list(wb["在办案件"].iter_rows(values_only=True))
    assert "孔*五" in [r[6] for r in open_rows]  # case 25's citizen, masked


def test_report_xlsx_has_rates_as_numbers_and_a_score_chart(bbc, window, tmp_path):
    path = tmp_path / "report.xlsx"
    bbc("report", "--month", "2026-09", "--xlsx", str(path), now=LATER)
    wb = _workbook(path)
    assert wb.sheetnames == ["各单位排名", "得分图"]
    ws = wb["各单位排名"]
    header = [c.value for c in ws[1]]
    assert header[:4] == ["名次", "单位", "受理", "办结"]
    assert "按期办结率" in header and "综合得分" in header
    rate = header.index("按期办结率") + 1
    rows = list(ws.iter_rows(min_row=2))
    assert [r[1].value for r in rows] == [
        A,
        "不动产登记中心",
        B,
        "省农保中心",
        "（未派单）",
        "合计",
    ]
    assert rows[0][rate - 1].value == 1.0 and rows[0][rate - 1].number_format == "0.0%"
    assert rows[3][rate - 1].value is None  # no rate for 省农保中心
    assert rows[-1][header.index("受理")].value == 20
    (chart,) = wb["得分图"]._charts
    # Only the three ranked units are plotted.
    assert chart.series[0].val.numRef.f == "'各单位排名'!$Q$2:$Q$4"


def test_xlsx_bytes_are_reproducible(bbc, window, tmp_path):
    a, b = tmp_path / "a.xlsx", tmp_path / "b.xlsx"
    bbc("daily-report", "--date", DAY, "--xlsx", str(a), now=LATER)
    bbc("daily-report", "--date", DAY, "--xlsx", str(b), now="2026-10-21 10:00")
    assert a.read_bytes() == b.read_bytes()
    wb = _workbook(a)
    # The workbook's own times are the report's as-of time (2026-10-10 00:00 Beijing).
    assert str(wb.properties.created) == "2026-10-09 16:00:00"
    assert wb.properties.modified == wb.properties.created


# ---------------------------------------------------------------- CSV, JSON, Markdown


def test_list_csv_is_plain_with_bom(bbc, window):
    raw = bbc("overdue", "--csv", now="2026-10-14 09:00", code=4).stdout_bytes
    assert raw.startswith(BOM)
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0] == [
        "编号",
        "主办单位",
        "联系方式",
        "分类",
        "受理日期",
        "到期日",
        "超期工作日",
        "反映人",
        "反映事项",
    ]
    assert [r[0] for r in rows[1:]] == [N(6), N(14), N(13), N(17), N(19), N(21)]
    assert rows[1][1:3] == [B, "李科长 0571-87000002"]
    assert rows[1][6] == "10" and rows[1][7] == "吴*"
    assert b"\r\n" in raw
    _assert_masked(raw.decode("utf-8-sig"))


def test_daily_csv_has_one_block_per_part(bbc, window):
    raw = bbc("daily-report", "--date", DAY, "--csv", now=LATER).stdout_bytes
    assert raw.startswith(BOM)
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    titles = [r[0] for r in rows if r and r[0].startswith("【")]
    assert titles[0].endswith("每日汇总】")
    assert titles[1:] == [
        "【汇总】",
        "【各单位】",
        "【超期案件】",
        "【下一工作日到期（2026-10-10）】",
        "【在办案件】",
        "【今日新登记】",
        "【今日办结】",
        "【今日上报与移交】",
        "【近30天趋势】",
    ]
    summary = dict(r for r in rows if len(r) == 2 and not r[0].startswith("【"))
    assert summary["今日新登记"] == "3" and summary["累计受理"] == "27"
    assert summary["今日办结"] == "4（按期 4，超期 0）"
    _assert_masked(raw.decode("utf-8-sig"))


def test_csv_and_xlsx_cells_cannot_run_as_formulas(bbc, tmp_path):
    bbc(
        "register", "--name", "=cmd", "--phone", "13800000000",
        "--matter", '=HYPERLINK("http://x","点我")', "--category", "应办未办",
        now="2026-11-23 09:00",
    )  # fmt: skip
    raw = bbc("daily-report", "--csv", now="2026-11-23 18:00").stdout_bytes.decode("utf-8-sig")
    cells = [c for row in csv.reader(io.StringIO(raw)) for c in row]
    assert '\'=HYPERLINK("http://x","点我")' in cells
    assert not any(c.startswith(("=", "+", "@")) for c in cells)
    path = tmp_path / "x.xlsx"
    bbc("daily-report", "--xlsx", str(path), now="2026-11-23 18:00")
    wb = _workbook(path)
    values = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value]
    assert all(c.data_type != "f" for c in values)
    # In a workbook the text is a string cell, shown as typed: no apostrophe.
    cells = [c for c in values if c.value == '=HYPERLINK("http://x","点我")']
    assert cells and all(c.data_type == "s" and c.quotePrefix for c in cells)
    assert not any(str(c.value).startswith("'=") for c in values)


def test_json_contracts(bbc, window):
    rows = bbc.json("overdue", now="2026-10-14 09:00", code=4)
    for r in rows:
        assert {"number", "unit", "unit_contact", "due_date", "days_overdue", "masked"} <= set(r)
        assert r["masked"] is True
    due = bbc.json("due", now="2026-10-14 09:00", code=4)
    assert {"days_left", "unit_contact", "provisional"} <= set(due[0])
    out = bbc("daily-report", "--date", DAY, "--json", now=LATER).stdout
    data = json.loads(out)
    for key in ("open_cases", "overdue_cases", "new_cases", "closed_cases"):
        for r in data[key]:
            assert r["masked"] is True and "phone" not in r
    _assert_masked(out)


def test_markdown(bbc, window):
    md = bbc("overdue", "--md", now="2026-10-14 09:00", code=4).stdout
    assert md.startswith("## ")
    assert "**市场监管局**（2 件；联系方式：李科长 0571-87000002）" in md
    assert "| 编号 | 分类 |" in md
    _assert_masked(md)
    md = bbc("daily-report", "--date", DAY, "--md", now=LATER).stdout
    assert "### 汇总" in md and "- 今日新登记：3" in md and "```" in md
    md = bbc("report", "--month", "2026-09", "--md", now=LATER).stdout
    assert "| 1 | 人社局 |" in md and "按期办结率 = 按期办结 ÷ (办结 + 超期未办结)" in md


def test_output_to_a_file_and_conflicting_switches(bbc, window, tmp_path):
    target = tmp_path / "late.csv"
    result = bbc("overdue", "--csv", "-o", str(target), now="2026-10-14 09:00", code=4)
    assert result.stdout == "" and target.read_bytes().startswith(BOM)
    assert "只能选一个" in bbc.refused("overdue", "--json", "--csv", now="2026-10-14 09:00")
    assert "--output" in bbc.refused("overdue", "-o", str(target), now="2026-10-14 09:00")
    message = bbc.refused(
        "report", "--month", "2026-09", "--xlsx", str(tmp_path / "no" / "x.xlsx"), code=73
    )
    assert "目录不存在" in message


def test_piped_output_is_plain_and_never_cut(bbc):
    long_matter = "营业执照" * 30  # 120 characters, wider than any terminal
    bbc(
        "register", "--name", "赵六", "--phone", "13800000000", "--matter", long_matter,
        "--category", "应办未办", now="2026-11-20 09:00",
    )  # fmt: skip
    out = bbc("daily-report", now="2026-11-20 18:00").stdout
    assert "\x1b[" not in out
    assert long_matter in out  # on one line, not folded


def test_terminal_reports_are_masked(bbc, window):
    for args in (
        ("daily-report", "--date", DAY),
        ("report", "--month", "2026-09"),
        ("due", "--within", "5"),
    ):
        result = bbc(*args, now=LATER, code=4 if args[0] == "due" else 0)
        _assert_masked(result.stdout + result.stderr)
    assert "孔*五" in bbc("daily-report", "--date", DAY, now=LATER).stdout


def test_no_color_on_a_terminal(monkeypatch):
    from banbucheng.reports import render

    monkeypatch.setattr(sys.stdout, "isatty", lambda: True, raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    assert render._colour() is True
    monkeypatch.setenv("NO_COLOR", "1")
    assert render._colour() is False


# ---------------------------------------------------------------- bbc export


def _export_files(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


def test_export_writes_four_files_atomically_and_reproducibly(bbc, window, tmp_path):
    out = tmp_path / "reports" / "2026-10"  # created when missing
    first = bbc("export", "--dir", str(out), "--date", DAY, now=LATER)
    assert first.stderr == ""
    lines = first.stdout.splitlines()
    assert len(lines) == 1 and lines[0].startswith("已导出 2026-10-09 每日汇总")
    assert "超期 3" in lines[0]
    _assert_masked(first.stdout)
    files = _export_files(out)
    assert sorted(files) == [
        "2026-10-09-每日汇总.csv",
        "2026-10-09-每日汇总.json",
        "2026-10-09-每日汇总.pdf",
        "2026-10-09-每日汇总.xlsx",
    ]
    assert files["2026-10-09-每日汇总.csv"].startswith(BOM)
    assert files["2026-10-09-每日汇总.pdf"].startswith(b"%PDF-")
    data = json.loads(files["2026-10-09-每日汇总.json"])
    assert data["overdue"] == 3 and data["as_of"] == "2026-10-10T00:00:00+08:00"
    for content in files.values():
        if not content.startswith((b"PK", b"%PDF")):
            _assert_masked(content.decode("utf-8-sig"))
    # Again, later: byte-identical, and nothing else left in the directory.
    bbc("export", "--dir", str(out), "--date", DAY, now="2026-10-25 17:45")
    assert _export_files(out) == files
    for name in files:  # reports hold facts about citizens: owner-only (core/files.py)
        assert os.stat(out / name).st_mode & 0o777 == 0o600, name


def test_export_today_counts_to_the_end_of_the_day(bbc, window, tmp_path):
    """Run at 17:45: as of 24:00, so a rerun later that evening gives the same files."""
    bbc("export", "--dir", str(tmp_path / "a"), now="2026-10-09 17:45")
    bbc("export", "--dir", str(tmp_path / "b"), now="2026-10-09 23:10")
    assert _export_files(tmp_path / "a") == _export_files(tmp_path / "b")
    data = json.loads((tmp_path / "a" / "2026-10-09-每日汇总.json").read_text())
    assert data["as_of"] == "2026-10-10T00:00:00+08:00" and data["closed"] == 4


def test_export_failure_is_one_chinese_line(bbc, window, tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    message = bbc.refused("export", "--dir", str(blocker), "--date", DAY, now=LATER, code=73)
    assert message.startswith("错误：") and "不是目录" in message
    assert "缺少导出目录" in bbc.refused("export", now=LATER)
    assert "不能晚于今天" in bbc.refused(
        "export", "--dir", str(tmp_path / "x"), "--date", "2026-10-21", now=LATER
    )


def test_export_leaves_no_partial_file_when_writing_fails(tmp_path, monkeypatch):
    from banbucheng.core.errors import BbcError
    from banbucheng.reports import exports

    (tmp_path / "out").mkdir()
    target = tmp_path / "out" / "out.json"
    target.write_bytes(b"old")

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(exports.os, "replace", broken_replace)
    with pytest.raises(BbcError) as caught:
        exports.write_atomic(target, b"new")
    assert "磁盘空间不足" in caught.value.message and caught.value.exit_code == 73
    assert target.read_bytes() == b"old"
    assert [p.name for p in target.parent.iterdir()] == ["out.json"]


BBC = Path(sys.executable).parent / "bbc"


@pytest.mark.skipif(not BBC.exists(), reason="bbc is not installed in this environment")
def test_two_exports_at_once_do_not_corrupt_each_other(window, tmp_path):
    out = tmp_path / "out"
    env = dict(os.environ, BBC_DB=str(window), BBC_NOW=LATER)
    procs = [
        subprocess.Popen(
            [str(BBC), "export", "--dir", str(out), "--date", DAY],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(4)
    ]
    results = [(*p.communicate(timeout=120), p.returncode) for p in procs]
    assert all(code == 0 for _, _, code in results), results
    files = _export_files(out)
    assert len(files) == 4  # no temporary files left behind
    single = tmp_path / "single"
    subprocess.run([str(BBC), "export", "--dir", str(single), "--date", DAY], env=env, check=True)
    assert _export_files(single) == files
