"""`bbc backup` and `bbc restore`: consistent copies while windows write, and restoring
one without losing anyone's work."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

V010 = Path(__file__).parents[1] / "data" / "store-v0.1.0.sqlite3"
WORKER = Path(__file__).parents[1] / "bbc_worker.py"


def _register(bbc, matter: str, now: str = "2026-11-23 09:00") -> str:
    return bbc(
        "register",
        "--name",
        "霍某某",
        "--phone",
        "13712341111",
        "--matter",
        matter,
        "--category",
        "应办未办",
        now=now,
    ).stdout.strip()


def _matters(db: Path) -> list[str]:
    con = sqlite3.connect(db)
    try:
        return sorted(r[0] for r in con.execute("SELECT matter FROM cases"))
    finally:
        con.close()


def _integrity(db: Path) -> str:
    con = sqlite3.connect(db)
    try:
        return con.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        con.close()


def test_backup_is_a_checked_owner_only_copy(bbc, tmp_path):
    for i in range(3):
        _register(bbc, f"事项{i}")
    target = tmp_path / "copy.sqlite3"
    old = os.umask(0o022)
    try:
        out = bbc("backup", str(target))
    finally:
        os.umask(old)
    assert out.stdout.strip() == str(target)
    assert "3 件案件、6 条事件" in out.stderr
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert _integrity(target) == "ok"
    assert not Path(f"{target}-wal").exists()  # one self-contained file
    assert _matters(target) == ["事项0", "事项1", "事项2"]
    report = bbc.json("--db", str(target), "verify")
    assert report["ok"] and report["events"] == 6
    assert list(tmp_path.glob(".*.tmp")) == []


def test_backup_refuses_to_overwrite_unless_forced(bbc, tmp_path, snapshot):
    _register(bbc, "事项")
    target = tmp_path / "copy.sqlite3"
    target.write_bytes(b"precious")
    check = snapshot()
    assert "已存在" in bbc.refused("backup", str(target))
    assert target.read_bytes() == b"precious"
    check()
    info = bbc.json("backup", str(target), "--force")
    assert info["cases"] == 1 and info["path"] == str(target)
    assert _matters(target) == ["事项"]


def test_backup_into_a_directory_is_named_by_time(bbc, tmp_path):
    _register(bbc, "事项")
    folder = tmp_path / "备份"
    folder.mkdir()
    out = bbc("backup", str(folder), now="2026-11-23 18:05:09")
    assert out.stdout.strip() == str(folder / "bbc-20261123-180509.sqlite3")


def test_backup_refusals(bbc, tmp_path, isolated, snapshot):
    _register(bbc, "事项")
    check = snapshot()
    assert "不能是数据库本身" in bbc.refused("backup", str(isolated))
    assert "不能是数据库本身" in bbc.refused("backup", f"{isolated}-wal")
    assert "目录不存在" in bbc.refused("backup", str(tmp_path / "nope" / "x.sqlite3"))
    check()
    message = bbc.refused("--db", "postgresql://bbc@localhost:1/bbc", "backup", "x.dump")
    assert "pg_dump" in message
    assert "pg_restore" in bbc.refused("--db", "postgresql://bbc@localhost:1/bbc", "restore", "x")


def test_backups_taken_while_windows_write_are_consistent(bbc, tmp_path, isolated):
    """Two processes keep registering while backups are taken; every backup is one
    consistent moment: integrity ok, the chain and its anchors agree, each case has all
    its events, the numbers have no holes."""
    _register(bbc, "起始")
    env = dict(os.environ, BBC_NOW="2026-11-23 09:00")
    writers = [
        subprocess.Popen(
            [sys.executable, str(WORKER), "register", str(isolated), f"窗口{w}", "20"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for w in range(2)
    ]
    counts = []
    try:
        deadline = time.monotonic() + 60
        while len(_matters(isolated)) < 4 and time.monotonic() < deadline:
            time.sleep(0.05)  # both writers are under way
        for i in range(3):
            time.sleep(0.3)
            target = tmp_path / f"during-{i}.sqlite3"
            bbc("backup", str(target))
            assert _integrity(target) == "ok"
            report = bbc.json("--db", str(target), "verify")
            assert report["ok"], report["problems"]
            con = sqlite3.connect(target)
            numbers = sorted(r[0] for r in con.execute("SELECT number FROM cases"))
            per_case = {r[0] for r in con.execute("SELECT count(*) FROM events GROUP BY case_id")}
            con.close()
            assert numbers == [f"BB20261123-{k:03d}" for k in range(1, len(numbers) + 1)]
            assert per_case == {2}  # register + classify, never half a registration
            counts.append(len(numbers))
    finally:
        outputs = [w.communicate(timeout=120) for w in writers]
    for w, (out, err) in zip(writers, outputs, strict=True):
        assert w.returncode == 0, (out, err)
    assert counts == sorted(counts) and counts[-1] > counts[0] > 1, counts
    assert len(_matters(isolated)) == 41


def test_restore_replaces_the_store_and_keeps_a_side_copy(bbc, tmp_path, isolated, snapshot):
    _register(bbc, "备份前")
    target = tmp_path / "b.sqlite3"
    bbc("backup", str(target))
    _register(bbc, "备份后")
    check = snapshot()
    message = bbc.refused("restore", str(target))
    assert "1 件案件" in message and "2 件案件" in message and "--yes" in message
    check()
    out = bbc("restore", str(target), "--yes", now="2026-11-24 08:00")
    assert "已恢复：1 件案件、2 条事件" in out.stdout
    side = Path(out.stderr.split("另存为 ")[1].strip())
    assert side.name == "bbc.before-restore-20261124-080000.sqlite3"
    assert stat.S_IMODE(side.stat().st_mode) == 0o600
    assert _matters(side) == ["备份前", "备份后"]
    assert _matters(isolated) == ["备份前"]
    assert bbc.json("verify")["ok"]
    # The store works on; BB20261123-002 was given to "备份后" before the restore, so
    # the numbering continues after it (the restore itself is an event in the chain).
    assert "编号接续" in out.stderr
    assert _register(bbc, "恢复后") == "BB20261123-003"
    assert bbc.json("verify")["events"] == 2 + 1 + 2


def test_restore_into_a_missing_store(bbc, tmp_path, isolated):
    _register(bbc, "事项")
    target = tmp_path / "b.sqlite3"
    bbc("backup", str(target))
    fresh = tmp_path / "new" / "bbc.sqlite3"
    info = bbc.json("--db", str(fresh), "restore", str(target), "--yes")
    assert info["side_copy"] is None and info["cases"] == 1
    assert _matters(fresh) == ["事项"]
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o600


def test_restoring_a_0_1_0_backup_upgrades_it(bbc, isolated):
    info = bbc.json("restore", str(V010), "--yes")
    assert "m002_event_chain" in info["upgraded"]
    # 15 events of its cases, and m004's record of its calendar entry and setting
    assert info["cases"] == 3 and info["events"] == 20
    assert bbc.json("show", "BB20210401-001")["working_days_used"] == 2
    assert bbc.json("verify")["ok"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "不是 SQLite"),
        (b"hello world" * 50, "不是 SQLite"),
        (b"SQLite format 3\x00" + b"\x00" * 2000, "恢复未完成"),
    ],
)
def test_restore_refuses_what_is_not_a_good_backup(bbc, tmp_path, snapshot, content, message):
    _register(bbc, "事项")
    bad = tmp_path / "bad.sqlite3"
    bad.write_bytes(content)
    check = snapshot()
    assert message in bbc.refused("restore", str(bad), "--yes")
    check()
    assert "找不到" in bbc.refused("restore", str(tmp_path / "none.sqlite3"), "--yes")
    assert list(tmp_path.glob(".bbc-restore-*")) == []


def test_restore_refuses_a_foreign_or_newer_database(bbc, tmp_path, snapshot):
    _register(bbc, "事项")
    other = tmp_path / "other.sqlite3"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE t (x)")
    con.commit()
    con.close()
    check = snapshot()
    assert "不是 bbc 的数据库" in bbc.refused("restore", str(other), "--yes")
    newer = tmp_path / "newer.sqlite3"
    bbc("backup", str(newer))
    con = sqlite3.connect(newer)
    con.execute("INSERT INTO schema_migrations VALUES ('m999_from_the_future', 'x')")
    con.commit()
    con.close()
    assert "更新版本" in bbc.refused("restore", str(newer), "--yes")
    check()


def test_restore_refuses_a_tampered_backup_unless_forced(bbc, tmp_path, isolated, snapshot):
    _register(bbc, "事项")
    target = tmp_path / "b.sqlite3"
    bbc("backup", str(target))
    con = sqlite3.connect(target)
    con.execute("UPDATE events SET actor = '别人'")
    con.commit()
    con.close()
    _register(bbc, "之后")
    check = snapshot()
    assert "事件链有" in bbc.refused("restore", str(target), "--yes")
    check()
    out = bbc("restore", str(target), "--yes", "--force")
    assert "事件链有问题" in out.stderr
    bbc("verify", code=5)


def test_restore_while_another_window_writes_loses_nothing(bbc, tmp_path, isolated):
    """A window keeps registering during the restore: each of its cases is either in
    the side copy (written before the restore) or in the restored store (after)."""
    _register(bbc, "起始")
    target = tmp_path / "b.sqlite3"
    bbc("backup", str(target))
    env = dict(os.environ, BBC_NOW="2026-11-23 09:00")
    writer = subprocess.Popen(
        [sys.executable, str(WORKER), "register", str(isolated), "窗口乙", "40"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    time.sleep(0.8)
    info = bbc.json("restore", str(target), "--yes")
    out, err = writer.communicate(timeout=120)
    assert writer.returncode == 0, (out, err)
    written = [line.split(" ", 3)[3] for line in out.splitlines() if line.startswith("ok")]
    assert len(written) == 40
    side = set(_matters(Path(info["side_copy"])))
    final = set(_matters(isolated))
    assert all(m in side or m in final for m in written)
    assert bbc.json("verify")["ok"]
    assert "locked" not in err and "正忙" not in err
    assert json.loads(json.dumps(info))["cases"] == 1


def test_restored_content_is_exactly_the_backups(bbc, tmp_path, isolated):
    """Every table, full-text indexes included, and file names that are awkward in URIs."""
    from conftest import dump_store

    for i in range(3):
        _register(bbc, f"诊所两证名称不一致{i}")
    target = tmp_path / "备份 #1?%.sqlite3"
    bbc("backup", str(target))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    bbc("backup", str(elsewhere / f"{isolated.name}-wal"))  # only beside the store is it refused
    _register(bbc, "备份之后")
    bbc("restore", str(target), "--yes")
    restored, backup = dump_store(isolated), dump_store(target)
    # Every table is the backup's, except what the restore adds: its own event at the
    # end of the chain, and the counter that keeps "备份之后"'s number from reuse.
    assert restored["events"][:-1] == backup["events"]
    assert restored["events"][-1][4] == "restore"
    assert restored["counters"] == [("case:2026-11-23", 4)]
    assert backup["counters"] == [("case:2026-11-23", 3)]
    for table in set(restored) - {"events", "counters", "chain_head"}:
        assert restored[table] == backup[table], table
    con = sqlite3.connect(isolated)
    virtual = [
        r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE sql LIKE 'CREATE VIRTUAL%'")
    ]
    for table in virtual:
        con.execute(f"INSERT INTO {table}({table}) VALUES ('integrity-check')")
    con.close()
    assert "[正常] 完整性" in bbc("doctor").stdout


@pytest.mark.parametrize("name", ["李" * 200, "\ud800.sqlite3", "a\x00b", " ", "nope/x.sqlite3"])
def test_unusable_paths_are_one_clear_line(bbc, tmp_path, snapshot, name):
    bbc("list")
    check = snapshot()
    path = str(tmp_path / name) if name.strip() else name
    # A name no file system takes is refused as the command line is read (exit 2, like
    # any bad option value); a missing folder when the command looks for it (exit 1).
    code, start = (1, "错误：") if name == "nope/x.sqlite3" else (2, "用法错误：")
    for args in (["backup", path], ["restore", path, "--yes"], ["import", path]):
        message = bbc.refused(*args, code=code)
        assert message.startswith(start) and "Error" not in message, message
    assert "是目录" in bbc.refused("import", str(tmp_path))
    assert "是目录" in bbc.refused("restore", str(tmp_path), "--yes")
    check()
