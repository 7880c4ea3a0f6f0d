"""What the clerk's screen shows at 80 and at 160 columns, in a real pseudo-terminal:
no line wider than the terminal, no case number, date, time or masked number split
across lines, long matters shortened with "…" in lists and shown whole by `show`."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pexpect
import pytest

from banbucheng.core.text import width

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")

NOW = "2026-11-27 10:00"
LONG = "诊所营业执照与医疗机构执业许可证名称不一致，供货商拒绝供药，多次往返两个窗口都没有解决"
ID_NUMBER = "11010519491231002X"


@pytest.fixture
def store(isolated: Path, bbc) -> dict[str, str]:
    def reg(now: str, *args: str) -> str:
        return bbc("register", *args, now=now).stdout.strip()

    late = reg(
        "2026-11-16 09:00", "--name", "霍某某", "--phone", "13712341111", "--id-number", ID_NUMBER,
        "--matter", LONG, "--department", "市场监管窗口", "--category", "应办未办",
        "--subtype", "不作为",
    )  # fmt: skip
    bbc(
        "dispatch",
        late,
        "--unit",
        "中心综合协调科",
        "--helper",
        "市场监管窗口",
        now="2026-11-16 10:00",
    )
    today = reg(
        "2026-11-20 09:00", "--name", "李海清", "--phone", "13900001111",
        "--matter", "社保卡自2016年起未年检，养老金停发四年（其子代为反映）",
        "--category", "应办未办", "--subtype", "很难办",
    )  # fmt: skip
    bbc("dispatch", today, "--unit", "省农保中心", now="2026-11-20 10:00")
    new = reg(NOW, "--name", "赵六", "--phone", "13600000000", "--matter", LONG * 2)
    return {"late": late, "today": today, "new": new}


def _screen(db: Path, columns: int, *args: str) -> str:
    env = dict(os.environ, BBC_DB=str(db), BBC_NOW=NOW, BBC_OPERATOR="窗口甲", TERM="xterm")
    for name in ("COLUMNS", "LINES", "NO_COLOR"):
        env.pop(name, None)
    child = pexpect.spawn(
        sys.executable,
        ["-m", "banbucheng", *args],
        env=env,
        encoding="utf-8",
        timeout=60,
        dimensions=(24, columns),
    )
    out = child.read()
    child.close()
    assert child.exitstatus in (0, 4), out  # overdue: 4
    text = re.sub(r"\x1b\[[0-9;]*m", "", out).replace("\r\n", "\n")
    assert "Traceback" not in text and "内部错误" not in text
    return text


def _check(text: str, columns: int) -> None:
    for line in text.splitlines():
        assert width(line) <= columns, (width(line), line)
    # Every case number, date, time and masked number is whole on its line.
    for fragment in re.findall(r"BB[\d-]*", text):
        assert re.fullmatch(r"BB\d{8}-\d{3}", fragment), (fragment, text)
    for fragment in re.findall(r"(?<![\d-])\d{4}-[\d:-]*(?: \d{2}:\d{2})?", text):
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}( \d{2}:\d{2})?", fragment), (fragment, text)
    for line in text.splitlines():
        assert not re.search(r"\d{4}-\d{2}-\d{2}$", line.rstrip()) or not line.endswith(" "), line
    # A category is whole, its subtype at most cut: never 应办未… (which one?).
    assert not re.search(r"(应办未|应办|应|完全不|完全|完)…", text), text
    for masked in re.findall(r"\d+\*{2,}\d*X?", text):
        assert masked in ("137****1111", "139****1111", "136****0000", "110105********002X"), (
            masked,
            text,
        )


@pytest.mark.parametrize("columns", [80, 160])
def test_list(isolated, store, columns):
    text = _screen(isolated, columns, "list")
    _check(text, columns)
    for number in store.values():
        assert number in text
    assert LONG not in text and "…" in text  # shortened, on one line each
    lines = [line for line in text.splitlines() if line.startswith("BB2026")]
    assert len(lines) == 3  # one line a case
    assert "数据库：" in text  # not the default store: named
    if columns == 160:
        assert "应办未办/不作为/吃拿卡要" in text and "霍*某" in text


@pytest.mark.parametrize("columns", [80, 160])
def test_overdue(isolated, store, columns):
    text = _screen(isolated, columns, "overdue")
    _check(text, columns)
    assert store["late"] in text and "…" in text
    assert "中心综合协调科（1 件" in text
    if columns == 160:
        assert "应办未办/不作为/吃拿卡要" in text  # with its subtype, as `list` shows it


@pytest.mark.parametrize("columns", [80, 160])
def test_daily_report(isolated, store, columns):
    text = _screen(isolated, columns, "daily-report")
    _check(text, columns)
    assert store["new"] in text and store["late"] in text
    assert LONG * 2 not in text and "…" in text


@pytest.mark.parametrize("columns", [80, 160])
def test_show(isolated, store, bbc, columns):
    text = _screen(isolated, columns, "show", store["late"])
    _check(text, columns)
    assert "110105********002X" in text and "137****1111" in text
    joined = "".join(line.strip() for line in text.splitlines())
    assert LONG in joined  # whole, wrapped over lines
    assert "document" not in text and "revealed" not in text


def _timeline(text: str) -> list[str]:
    return text.split("时间线\n", 1)[1].splitlines()


def test_show_at_80_columns_gives_each_event_a_heading_and_each_change_a_line(isolated, store, bbc):
    lines = _timeline(_screen(isolated, 80, "show", store["late"]))
    assert "经办人" not in "".join(lines)  # no table: its five columns would not fit
    headings = [
        i for i, line in enumerate(lines) if re.match(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", line)
    ]
    assert [lines[i] for i in headings] == [
        "2026-11-16 09:00  登记  窗口甲",
        "2026-11-16 09:00  分类  窗口甲",
        "2026-11-16 10:00  派单  窗口甲",
    ]
    dispatch = lines[headings[2] + 1 :]
    # Each change whole on a line of its own, under its event.
    assert "  主办单位：— → 中心综合协调科" in dispatch
    assert "  协办单位：— → 市场监管窗口" in dispatch
    classify = lines[headings[1] + 1 : headings[2]]
    assert "  时限(工作日)：— → 5" in classify and "  子类：— → 不作为/吃拿卡要" in classify
    # The matter, wrapped below its first line, every character kept.
    matter = lines[headings[0] + 1 : headings[1]]
    assert matter[0].startswith("  诊所") and matter[1].startswith("    ")
    assert LONG in "".join(line.strip() for line in matter)


def test_show_at_160_columns_keeps_the_table_and_a_clerks_name_whole(isolated, store, bbc):
    lines = _timeline(_screen(isolated, 160, "show", store["late"]))
    assert re.match(r"时间 +经办人 +操作 +内容 +变更$", lines[0])
    rows = [line for line in lines if re.match(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", line)]
    assert len(rows) == 3 and all(re.match(r"\S+ \S+  窗口甲  ", row) for row in rows)
    # On a pipe: one event a line, for grep.
    piped = _timeline(bbc("show", store["late"]).stdout)
    assert sum(bool(re.match(r"\d{4}-\d{2}-\d{2} ", line)) for line in piped) == 3
    dispatched = [line for line in piped if "主办单位：— → 中心综合协调科" in line]
    assert len(dispatched) == 1 and "协办单位：— → 市场监管窗口" in dispatched[0]


@pytest.mark.parametrize("columns", [80, 160])
def test_home(isolated, store, columns):
    text = _screen(isolated, columns, "home")
    _check(text, columns)
    assert len(text.splitlines()) <= 24
    assert store["late"] in text and store["today"] in text and store["new"] in text
    assert "…" in text
    assert "超期：1 件" in text and "今日到期：1 件" in text


def test_the_timeline_names_a_printed_document_in_chinese(isolated, store, bbc, tmp_path):
    bbc("print", store["late"], "--work-order", "--out", str(tmp_path / "x.docx"))
    text = bbc("show", store["late"]).stdout
    assert "文书：派单单" in text and "未遮盖的个人信息：—" in text
    assert "work_order" not in text and "revealed" not in text


def test_the_timeline_leaves_out_fields_a_step_did_not_change(isolated, store, bbc):
    text = bbc("show", store["today"]).stdout  # dispatched without helpers
    assert "主办单位：— → 省农保中心" in text
    assert "协办单位" not in text.split("时间线")[1]
    assert "→ —；" not in text and not re.search(r"：(\S+) → \1(；|$)", text, re.M)
