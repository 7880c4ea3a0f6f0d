"""The running totals per day (schema/totals.py): every close and 回访 counts on the day
it names, as it is written, so the table always equals a recount of the events, and
the daily roll-up's totals read from it equal counting every event."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from banbucheng.schema import totals


def _register(bbc, matter: str, now: str) -> str:
    return bbc(
        "register",
        "--name",
        "李海清",
        "--phone",
        "13900001111",
        "--matter",
        matter,
        "--category",
        "应办未办",
        now=now,
    ).stdout.strip()


def _store(isolated: Path) -> tuple[dict, dict]:
    engine = create_engine(f"sqlite:///{isolated}")
    try:
        with Session(engine) as session:
            return dict(totals.stored(session)), dict(totals.recount(session))
    finally:
        engine.dispose()


def test_closures_and_visits_count_on_the_day_they_name(bbc, isolated):
    first = _register(bbc, "社保卡未年检，养老金停发", "2021-04-06 14:20")
    second = _register(bbc, "诊所两证名称不一致", "2021-04-06 15:00")
    bbc("close", first, "--result", "已补发", now="2021-04-08 10:00")
    # Recorded on the 9th, dated the 7th (补录 with --at): counts on the 7th.
    at = ("--at", "2021-04-07 16:00")
    bbc("close", second, "--result", "已出具证明", *at, now="2021-04-09 09:00")
    bbc("visit", first, "--satisfaction", "非常满意", now="2021-04-09 10:00")
    bbc("reopen", first, "--reason", "群众不满意", now="2021-04-12 09:00")
    bbc("close", first, "--result", "再次办结", now="2021-04-13 09:00")

    stored, recounted = _store(isolated)
    assert stored == recounted
    assert stored == {
        (date(2021, 4, 8), "closed"): 1,
        (date(2021, 4, 8), "closed_on_time"): 1,
        (date(2021, 4, 8), "resolved"): 1,
        (date(2021, 4, 7), "closed"): 1,
        (date(2021, 4, 7), "closed_on_time"): 1,
        (date(2021, 4, 7), "resolved"): 1,
        (date(2021, 4, 9), "visits"): 1,
        (date(2021, 4, 9), "very_satisfied"): 1,
        (date(2021, 4, 13), "closed"): 1,
        (date(2021, 4, 13), "closed_on_time"): 1,
        (date(2021, 4, 13), "resolved"): 1,
    }

    # The roll-up's totals: days before from the table, the day itself from its events.
    running = bbc.json("daily-report", "--date", "2021-04-08", now="2021-04-20 09:00")["running"]
    assert (running["closed"], running["visits"]) == (2, 0)
    running = bbc.json("daily-report", now="2021-04-13 18:00")["running"]
    assert (running["closed"], running["closed_on_time"], running["visits"]) == (3, 3, 1)
    assert running["very_satisfied"] == 1


def test_doctor_finds_totals_out_of_step_and_fix_recounts(bbc, isolated):
    number = _register(bbc, "社保卡未年检", "2021-04-06 14:20")
    bbc("close", number, "--result", "已补发", now="2021-04-08 10:00")
    with sqlite3.connect(isolated) as con:
        con.execute("UPDATE running_totals SET n = n + 5 WHERE metric = 'closed'")
    report = bbc.json("doctor", now="2021-04-20 09:00", code=5)
    totals_check = {c["name"]: c for c in report["checks"]}["totals"]
    assert totals_check["status"] == "fail"
    bbc("doctor", "--fix", now="2021-04-20 09:00")
    stored, recounted = _store(isolated)
    assert stored == recounted and stored[(date(2021, 4, 8), "closed")] == 1
