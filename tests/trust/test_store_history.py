"""Calendar and policy changes in the hash chain: recorded as store-level events, shown
by `calendar log` / `config log`, checked by `verify`; and doctor's stale deadlines."""

from __future__ import annotations

import sqlite3
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from banbucheng.core.timeutil import BEIJING
from banbucheng.domain import changes
from banbucheng.schema.history import day_state
from banbucheng.schema.models import CalendarDay
from banbucheng.store import Store

BROKEN = 5


def sql(db: Path, statement: str, *args: Any) -> list[Any]:
    con = sqlite3.connect(db)
    try:
        rows = con.execute(statement, args).fetchall()
        con.commit()
        return rows
    finally:
        con.close()


@pytest.fixture
def history(bbc) -> None:
    bbc("calendar", "add", "--holiday", "2027-01-01..2027-01-03", "--name", "元旦",
        "--source", "国办发明电〔2026〕9号", now="2026-11-05 09:00")  # fmt: skip
    bbc("calendar", "add", "--workday", "2027-02-20", "--name", "春节", "--source", "国办发明电",
        "--complete", now="2026-11-05 09:10")  # fmt: skip
    bbc("config", "set", "limit.hard", "10", now="2026-11-05 09:20")
    bbc("config", "set", "closing_time", "18:00", now="2026-11-05 09:30")


def test_changes_are_store_level_events_in_the_one_chain(bbc, isolated, history):
    rows = sql(isolated, "SELECT seq, case_id, actor, action FROM events ORDER BY seq")
    assert [(seq, case, action) for seq, case, _, action in rows] == [
        (1, None, "calendar_add"),
        (2, None, "calendar_add"),
        (3, None, "config_set"),
        (4, None, "config_set"),
    ]
    assert {actor for _, _, actor, _ in rows} == {"窗口甲"}
    report = bbc.json("verify")
    assert report["ok"] is True and report["events"] == 4 and report["cases"] == 0
    assert report["anchor"].startswith("4:")
    # New case events continue the same chain.
    bbc("register", "--name", "王五", "--phone", "13800000000", "--matter", "事项")
    assert bbc.json("verify")["events"] == 5


def test_the_logs_say_who_when_what_and_on_what_authority(bbc, history):
    log = bbc.json("calendar", "log")
    assert [e["action"] for e in log] == ["calendar_add", "calendar_add"]
    first, second = log
    assert first["actor"] == "窗口甲" and first["at"] == "2026-11-05T09:00:00+08:00"
    assert first["source"] == "国办发明电〔2026〕9号"
    assert [c["key"] for c in first["changes"]] == ["2027-01-01", "2027-01-02", "2027-01-03"]
    assert first["changes"][0]["before"] is None
    assert first["changes"][0]["after"]["name"] == "元旦"
    assert second["changes"][-1] == {
        "section": "years",
        "key": "2027",
        "before": None,
        "after": {
            "source": "国办发明电",
            "covered_by": "窗口甲",
            "covered_at": "2026-11-05T09:10:00.000000",
        },
    }
    text = bbc("calendar", "log").stdout
    assert "2026-11-05 09:00 窗口甲 录入日历（国办发明电〔2026〕9号）" in text
    assert "2027-01-01..2027-01-03 放假 元旦" in text and "2027 年确认放假安排完整" in text
    config = bbc.json("config", "log")
    assert [(c["changes"][0]["key"], c["changes"][0]["after"]) for c in config] == [
        ("limit.hard", "10"),
        ("closing_time", "18:00"),
    ]
    assert "limit.hard：默认 5 → 10" in bbc("config", "log").stdout
    bbc("config", "set", "limit.hard", "7")
    assert bbc.json("config", "log")[-1]["changes"][0] == {
        "section": "settings",
        "key": "limit.hard",
        "before": "10",
        "after": "7",
    }
    bbc("calendar", "remove", "2027-01-02..2027-01-03")
    removed = bbc.json("calendar", "log")[-1]
    assert removed["action"] == "calendar_remove"
    assert [c["after"] for c in removed["changes"]] == [None, None]


@pytest.mark.parametrize(
    ("statement", "found"),
    [
        ("UPDATE calendar_days SET workday = 1 WHERE day = '2027-01-02'", "日历 2027-01-02"),
        ("UPDATE calendar_days SET name = '春节' WHERE day = '2027-01-02'", "被直接修改"),
        ("UPDATE calendar_days SET source = '别的' WHERE day = '2027-01-02'", "被直接修改"),
        ("UPDATE calendar_days SET entered_by = '别人' WHERE day = '2027-01-02'", "被直接修改"),
        ("DELETE FROM calendar_days WHERE day = '2027-02-20'", "被直接删除"),
        (
            "INSERT INTO calendar_days VALUES ('2027-03-08', 0, '', 's', '某人', "
            "'2026-11-05 09:00:00.000000')",
            "是直接写入的",
        ),
        ("DELETE FROM calendar_years", "2027 年的完整确认"),
        ("UPDATE calendar_years SET source = '别的'", "2027 年的完整确认"),
        ("UPDATE settings SET value = '15' WHERE key = 'limit.hard'", "政策设置 limit.hard"),
        ("DELETE FROM settings WHERE key = 'closing_time'", "政策设置 closing_time"),
        ("INSERT INTO settings VALUES ('limit.unhandled', '9')", "是直接写入的"),
    ],
)
def test_verify_fails_after_a_calendar_or_policy_row_is_edited(
    bbc, isolated, history, statement, found
):
    assert bbc.json("verify")["ok"] is True
    sql(isolated, statement)
    report = bbc.json("verify", code=BROKEN)
    assert len(report["problems"]) == 1, report["problems"]
    problem = report["problems"][0]
    assert problem["kind"] in ("calendar", "settings") and found in problem["message"]
    assert problem["case"] is None
    assert "校验未通过" in bbc("verify", code=BROKEN).stderr
    assert bbc.json("doctor", code=BROKEN)["ok"] is False


def test_a_store_event_edited_or_deleted_breaks_the_chain(bbc, isolated, history):
    bbc("register", "--name", "王五", "--phone", "13800000000", "--matter", "事项")
    sql(isolated, "UPDATE events SET detail = replace(detail, '元旦', '春节') WHERE seq = 1")
    edited = bbc.json("verify", code=BROKEN)["problems"]
    assert (edited[0]["kind"], edited[0]["seq"], edited[0]["case"]) == ("edited", 1, None)
    assert "录入日历" in bbc("verify", code=BROKEN).stdout
    sql(isolated, "UPDATE events SET detail = replace(detail, '春节', '元旦') WHERE seq = 1")
    assert bbc.json("verify")["ok"] is True
    sql(isolated, "DELETE FROM events WHERE seq = 3")
    kinds = {p["kind"] for p in bbc.json("verify", code=BROKEN)["problems"]}
    assert "deleted" in kinds
    # A store-level event moved onto a case (or a case's event off it) is an edit.
    sql(isolated, "UPDATE events SET case_id = 1 WHERE seq = 2")
    assert ("edited", 2) in {(p["kind"], p["seq"]) for p in bbc.json("verify", code=5)["problems"]}


def test_doctor_finds_stale_deadlines_and_fixes_them(bbc, isolated):
    """A calendar change that did not recompute (as before this release, when only
    provisional cases were): verify sees an honest history, doctor a stale deadline."""
    number = bbc(
        "register", "--name", "王五", "--phone", "13800000000", "--matter", "春节前",
        "--category", "应办未办", now="2027-02-05 10:00",
    ).stdout.strip()  # fmt: skip
    assert bbc.json("show", number)["due_date"] == "2027-02-12"
    store = Store(f"sqlite:///{isolated}")
    at = datetime(2027, 2, 5, 11, 0, tzinfo=BEIJING)
    with store.context(actor="旧版本", now=at) as ctx:
        rows = [
            CalendarDay(day=date(2027, 2, d), workday=False, name="春节", source="s",
                        entered_by="旧版本", entered_at=at)
            for d in range(6, 14)
        ]  # fmt: skip
        for row in rows:
            ctx.session.add(row)
        after = {"days": {r.day.isoformat(): day_state(r) for r in rows}}
        changes.record(ctx, "calendar_add", {}, after, source="s")
    store.close()
    assert bbc.json("verify")["ok"] is True
    report = bbc.json("doctor", now="2027-02-05 12:00", code=BROKEN)
    deadlines = {c["name"]: c for c in report["checks"]}["deadlines"]
    assert deadlines["status"] == "fail"
    assert (
        f"1 件案件的期限与现行日历和政策不符，如 {number}：到期日 2027-02-12 应为 2027-02-19"
        in (deadlines["message"])
    )
    fixed = bbc.json("doctor", "--fix", now="2027-02-05 12:00")
    assert {c["name"]: c for c in fixed["checks"]}["deadlines"]["message"].startswith("已重算 1 件")
    case = bbc.json("show", number)
    assert case["due_date"] == "2027-02-19"
    assert case["events"][-1]["action"] == "recompute" and "体检" in case["events"][-1]["text"]
    again = bbc.json("doctor", now="2027-02-05 12:00")
    assert {c["name"]: c for c in again["checks"]}["deadlines"]["status"] == "ok"
    assert bbc.json("verify")["ok"] is True


def test_show_labels_estimates_as_estimates(bbc):
    bbc("calendar", "add", "--holiday", "2027-01-01", "--name", "元旦", "--source", "通知")
    info = bbc.json("calendar", "show", "2027")
    assert info["coverage"] == "partial" and info["covered"] is False
    days = {d["date"]: d for d in info["days"]}
    assert days["2027-01-01"]["source"] == "通知"
    assert days["2027-10-01"]["source"] == "估算（固定日期的法定节日）"
    assert bbc.json("calendar", "show", "2026")["days"][0]["source"] == "chinese-calendar"


def test_cover_and_uncover(bbc):
    assert "还没有录入任何日历条目" in bbc.refused("calendar", "cover", "2027")
    assert "chinese-calendar" in bbc.refused("calendar", "cover", "2026")
    assert "没有确认过" in bbc.refused("calendar", "uncover", "2027")
    number = bbc(
        "register", "--name", "王五", "--phone", "13800000000", "--matter", "年底",
        "--category", "应办未办", now="2026-12-28 10:00",
    ).stdout.strip()  # fmt: skip
    out = bbc("calendar", "add", "--holiday", "2027-01-01..2027-01-04", "--name", "元旦",
              "--source", "通知")  # fmt: skip
    assert "1 件案件" in out.stdout and "bbc calendar cover 2027" in out.stderr
    assert bbc.json("show", number)["provisional"] is True
    assert "已确认 2027 年放假安排完整；1 件案件" in bbc("calendar", "cover", "2027").stdout
    assert bbc.json("show", number)["provisional"] is False
    assert "已确认完整" in bbc.refused("calendar", "cover", "2027")
    assert "1 件案件" in bbc("calendar", "uncover", "2027").stdout
    assert bbc.json("show", number)["provisional"] is True
    assert [e["action"] for e in bbc.json("calendar", "log")] == [
        "calendar_add",
        "calendar_cover",
        "calendar_uncover",
    ]
    assert bbc.json("verify")["ok"] is True
