"""`bbc doctor` and the store's file permissions."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import pytest

from banbucheng.deadlines import WorkCalendar
from banbucheng.schema.migrations import MIGRATIONS

PROBLEM = 5
LAST_COVERED = max(WorkCalendar().package_years)  # whatever chinese-calendar knows


def _register(bbc, now: str = f"{LAST_COVERED}-03-02 09:00") -> str:
    return bbc(
        "register",
        "--name",
        "霍某某",
        "--phone",
        "13712341111",
        "--matter",
        "两证名称不一致",
        "--category",
        "应办未办",
        now=now,
    ).stdout.strip()


def _checks(report: dict) -> dict[str, dict]:
    return {c["name"]: c for c in report["checks"]}


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_sound_store_is_healthy(bbc, isolated):
    _register(bbc)
    report = bbc.json("doctor", now=f"{LAST_COVERED}-06-01 09:00")
    assert report["ok"] is True
    checks = _checks(report)
    assert set(checks) == {
        "permissions",
        "integrity",
        "schema",
        "calendar",
        "deadlines",
        "totals",
        "chain",
    }
    assert all(c["status"] == "ok" for c in checks.values()), checks
    assert report["schema_version"] == MIGRATIONS[-1][0]
    assert MIGRATIONS[-1][0] in checks["schema"]["message"]
    assert "2 条事件、1 件案件" in checks["chain"]["message"]
    out = bbc("doctor")
    assert "[正常] 表结构：版本" in out.stdout and str(isolated) in out.stdout


def test_from_november_it_warns_that_next_years_schedule_is_missing(bbc):
    _register(bbc)
    october = _checks(bbc.json("doctor", now=f"{LAST_COVERED}-10-31 17:00"))["calendar"]
    assert october["status"] == "ok"
    november = bbc.json("doctor", now=f"{LAST_COVERED}-11-01 09:00")
    calendar = _checks(november)["calendar"]
    assert calendar["status"] == "warn" and f"{LAST_COVERED + 1} 年" in calendar["message"]
    assert november["ok"] is True  # a warning: exit 0, unless --strict
    bbc("doctor", "--strict", code=PROBLEM)
    assert "[注意] 日历" in bbc("doctor").stdout
    # Part of next year's notice is not enough; once the center says it is complete, the
    # warning goes.
    bbc("calendar", "add", "--holiday", f"{LAST_COVERED + 1}-01-01", "--source", "国办发明电")
    assert _checks(bbc.json("doctor"))["calendar"]["status"] == "warn"
    bbc("calendar", "cover", str(LAST_COVERED + 1), "--source", "国办发明电")
    assert _checks(bbc.json("doctor"))["calendar"]["status"] == "ok"


def test_a_year_without_any_schedule_is_a_warning(bbc):
    _register(bbc)
    calendar = _checks(bbc.json("doctor", now=f"{LAST_COVERED + 1}-03-01 09:00"))["calendar"]
    assert calendar["status"] == "warn" and "尚未载入" in calendar["message"]


def test_store_files_are_owner_only_even_with_a_loose_umask(bbc, isolated):
    old = os.umask(0o022)
    try:
        _register(bbc)
        # Keep a writer's -wal and -shm in place while we look at them.
        con = sqlite3.connect(isolated)
        con.execute("BEGIN IMMEDIATE")
        con.execute("UPDATE settings SET value = value")
        con.execute("INSERT INTO counters (key, value) VALUES ('probe', 0)")
        con.commit()
        con.execute("BEGIN")
        con.execute("SELECT count(*) FROM cases").fetchall()
        files = [Path(f"{isolated}{s}") for s in ("", "-wal", "-shm")]
        assert all(f.exists() for f in files)
        assert [mode(f) for f in files] == [0o600, 0o600, 0o600]
        con.rollback()
        con.close()
    finally:
        os.umask(old)


def test_loose_permissions_are_a_problem_and_can_be_fixed(bbc, isolated):
    _register(bbc)
    os.chmod(isolated, 0o644)
    report = bbc.json("doctor", code=PROBLEM)
    permissions = _checks(report)["permissions"]
    assert permissions["status"] == "fail" and "644" in permissions["message"]
    out = bbc("doctor", "--fix")
    assert "已改为仅所有者可读写" in out.stderr
    assert mode(isolated) == 0o600


def test_a_broken_chain_is_a_problem(bbc, isolated):
    _register(bbc)
    con = sqlite3.connect(isolated)
    con.execute("UPDATE events SET actor = '别人' WHERE id = 1")
    con.commit()
    con.close()
    report = bbc.json("doctor", code=PROBLEM)
    chain = _checks(report)["chain"]
    assert chain["status"] == "fail" and "被修改" in chain["message"]
    assert "[问题] 事件链" in bbc("doctor", code=PROBLEM).stdout


def test_a_corrupted_file_is_reported_not_a_crash(bbc, isolated):
    for i in range(15):
        _register(bbc, now=f"{LAST_COVERED}-03-02 09:{i:02d}")
    size = isolated.stat().st_size
    with isolated.open("r+b") as f:  # scribble over the middle pages, keep the header
        f.seek(size // 3)
        f.write(os.urandom(size // 3))
    result = bbc("doctor", code=PROBLEM)
    assert "[问题] 完整性" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


@pytest.mark.parametrize(
    "garbage", [b"not a database at all" * 100, b"SQLite format 3\x00" + b"\xff" * 500]
)
def test_a_file_that_is_no_database(bbc, isolated, garbage):
    isolated.write_bytes(garbage)
    os.chmod(isolated, 0o600)
    assert "[问题] 完整性" in bbc("doctor", code=PROBLEM).stdout
