"""`bbc calendar import`: the State Council's notice entered as one act, checked against
chinese-calendar on the published notices, refused whole when any line is unreadable."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from chinese_calendar import constants as cc
from sqlmodel import select

from banbucheng.cli import app
from banbucheng.deadlines import CalendarEntry, WorkCalendar
from banbucheng.schema.models import CalendarDay
from banbucheng.store import Store

DATA = Path(__file__).parents[1] / "data"
NOTICES = DATA / "notices"
EXAMPLE = DATA / "calendar" / "2027-example.txt"
PACKAGE = WorkCalendar()


def _register(bbc, at: str, category: str = "应办未办") -> str:
    return bbc(
        "register", "--name", "霍某某", "--phone", "13712341111", "--matter", "两证名称不一致",
        "--category", category, "--at", at, now="2027-02-05 16:00",
    ).stdout.strip()  # fmt: skip


def test_dry_run_shows_the_days_and_the_moves_and_changes_nothing(bbc, snapshot):
    before_spring = _register(bbc, "2027-02-05 10:00")
    check = snapshot()
    out = bbc("calendar", "import", str(EXAMPLE), "--dry-run", now="2027-02-05 16:00")
    check()
    assert "国务院办公厅关于2027年部分节假日安排的通知（国办发明电〔2026〕9号）" in out.stdout
    assert "春节：2027-02-06（周六） 至 2027-02-13（周六），8 天 放假" in out.stdout
    assert "春节：2027-02-20（周六） 上班" in out.stdout
    assert "将录入 33 天" in out.stdout and "将确认 2027 年放假安排完整" in out.stdout
    assert f"{before_spring}：到期日 2027-02-12 → 2027-02-19；暂定 → 确定" in out.stdout
    assert "未保存" in out.stderr
    preview = bbc.json("calendar", "import", str(EXAMPLE), "--dry-run")
    check()
    assert preview["dry_run"] is True and preview["covered"] == [2027]
    assert [c["number"] for c in preview["recomputed"]] == [before_spring]
    assert len(preview["days"]) == 33 and preview["source"] == "国办发明电〔2026〕9号"


def test_import_applies_the_notice_as_one_act(bbc):
    number = _register(bbc, "2027-02-05 10:00")
    assert bbc.json("show", number)["due_date"] == "2027-02-12"  # estimated
    result = bbc.json("calendar", "import", str(EXAMPLE), now="2026-11-06 10:00")
    assert result["dry_run"] is False and result["covered"] == [2027]
    case = bbc.json("show", number)
    assert case["due_date"] == "2027-02-19" and case["provisional"] is False
    recompute = case["events"][-1]
    assert recompute["action"] == "recompute" and "国办发明电〔2026〕9号" in recompute["text"]
    assert recompute["before"]["due_date"] == "2027-02-12"
    info = bbc.json("calendar", "show", "2027")
    assert info["coverage"] == "entered" and info["covered"] is True
    assert info["declared"]["source"] == "国办发明电〔2026〕9号"
    assert {d["source"] for d in info["days"]} == {"国办发明电〔2026〕9号"}
    bbc("calendar", "is-workday", "2027-02-20")
    bbc("calendar", "is-workday", "2027-02-12", code=1)
    # The same notice again changes nothing and records nothing.
    log = bbc.json("calendar", "log")
    again = bbc("calendar", "import", str(EXAMPLE))
    assert "未作改动" in again.stderr and "0 件案件" in again.stdout
    assert bbc.json("calendar", "log") == log
    [entry] = log
    assert entry["action"] == "calendar_import" and entry["source"] == "国办发明电〔2026〕9号"
    assert len([c for c in entry["changes"] if c["section"] == "days"]) == 33
    assert {"section": "years", "key": "2027", "before": None}.items() <= entry["changes"][
        -1
    ].items()
    assert "2027-02-06..2027-02-13 放假 春节" in bbc("calendar", "log").stdout
    assert bbc.json("verify")["ok"] is True


def test_a_whole_notice_replaces_the_years_earlier_entries(bbc):
    bbc(
        "calendar",
        "add",
        "--holiday",
        "2027-01-01..2027-01-04",
        "--name",
        "元旦",
        "--source",
        "草稿",
    )
    bbc("calendar", "add", "--holiday", "2027-03-08", "--source", "录错的")
    result = bbc.json("calendar", "import", str(EXAMPLE))
    assert result["removed"] == ["2027-01-04", "2027-03-08"]
    bbc("calendar", "is-workday", "2027-01-04")
    assert bbc.json("verify")["ok"] is True


def test_stdin_and_gbk(bbc, tmp_path):
    text = EXAMPLE.read_text(encoding="utf-8")
    gbk = tmp_path / "通知.txt"
    gbk.write_bytes(text.encode("gb18030"))
    assert bbc.json("calendar", "import", str(gbk), "--dry-run")["covered"] == [2027]
    result = bbc.runner.invoke(app, ["calendar", "import", "-", "--json"], input=text.encode())
    assert result.exit_code == 0, result.output
    assert bbc.json("calendar", "show", "2027")["coverage"] == "entered"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("共8天", "共9天"), "第7行"),  # the stated count does not match the period
        (("2月20日（周六）上班", "2月21日（周六）上班"), "第7行"),  # a Sunday
        (("四、劳动节：5月1日（周六）", "四、劳动节：5月某日（周六）"), "第9行"),
        (("国务院办公厅关于2027年", "国务院办公厅关于"), "年份"),
    ],
)
def test_a_text_it_cannot_fully_read_is_refused_naming_the_line(
    bbc, snapshot, tmp_path, change, message
):
    bbc("calendar", "add", "--holiday", "2027-01-01", "--source", "s")
    check = snapshot()
    broken = tmp_path / "broken.txt"
    broken.write_text(EXAMPLE.read_text(encoding="utf-8").replace(*change), encoding="utf-8")
    assert message in bbc.refused("calendar", "import", str(broken))
    check()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "找不到通知文件"),
        (b"\xff\xfe\x00\x00garbage\x80\x81", "编码"),
        (b"hello", "通知"),
        (b"x" * 1_000_001, "过大"),
    ],
)
def test_files_that_are_not_notices(bbc, snapshot, tmp_path, content, message):
    check = snapshot()
    path = tmp_path / "n.txt"
    if content is not None:
        path.write_bytes(content)
    assert message in bbc.refused("calendar", "import", str(path))
    check()


def _entries(db: Path) -> dict[date, bool]:
    store = Store(f"sqlite:///{db}")
    try:
        with store.session(write=False) as session:
            return {r.day: r.workday for r in session.exec(select(CalendarDay)).all()}
    finally:
        store.close()


def test_the_published_notices_reproduce_chinese_calendar(bbc, isolated):
    """Every notice in the fixtures, amendments after their year's notice, imported into
    one store: the entered calendar alone (without the package) agrees with
    chinese-calendar on every day from 2008 to 2026, and on every make-up working day.
    (The few weekend days the two list differently, see core/test_calendar_notice.py,
    are days off either way.)"""
    files = sorted(NOTICES.glob("*.txt"), key=lambda p: (p.stem[:4], "-" in p.stem, p.stem))
    for path in files:
        year = path.stem[:4]
        bbc("calendar", "import", str(path), "--year", year)
    entries = _entries(isolated)
    years = range(2008, 2027)
    assert {d.year for d in entries if not entries[d]} >= set(years)
    mine = WorkCalendar(
        [CalendarEntry(d, w) for d, w in entries.items()], use_package=False, covered=years
    )
    day = date(2008, 1, 1)
    while day.year < 2027:
        assert mine.is_workday(day) == PACKAGE.is_workday(day), day
        day += timedelta(days=1)
    made_up = {d for d, w in entries.items() if w and 2008 <= d.year <= 2026}
    assert made_up == {d for d in cc.workdays if 2008 <= d.year <= 2026}
    coverage = {y: bbc.json("calendar", "show", str(y))["coverage"] for y in (2008, 2020)}
    assert coverage == {2008: "package", 2020: "package"}
    assert bbc.json("verify")["ok"] is True


def test_an_amendment_needs_its_years_notice_first(bbc):
    message = bbc.refused("calendar", "import", str(NOTICES / "2020-extension.txt"))
    assert "请先导入2020年的通知" in message
