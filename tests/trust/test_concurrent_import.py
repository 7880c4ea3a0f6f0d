"""Readers are never blocked and a writer waits: while one process imports 20,000
rows (one long transaction), others list, report, export, verify and back up the
store, and a clerk's registration waits for the import, saying so, then succeeds."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

BBC = [sys.executable, "-c", "from banbucheng.cli import run; run()"]
NOW = "2026-11-23 09:00"
ROWS = 20_000


def _sheet(path: Path) -> Path:
    lines = ["姓名,电话,反映事项,受理时间,分类,主办单位,办结时间,办理结果"]
    for i in range(ROWS):
        day = 2 + i % 20
        lines.append(
            f"群众{i},139{i:08d},台账第{i}件：营业执照住所变更登记一直不予受理,"
            f"2026-11-{day:02d} 09:{i % 60:02d},应办未办,单位{i % 20},"
            f"2026-11-{day:02d} 16:00,已办结"
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_readers_run_during_an_import_and_a_registration_waits_for_it(bbc, isolated, tmp_path):
    bbc("register", "--name", "霍某某", "--phone", "13712341111", "--matter", "已有案件", now=NOW)
    env = dict(os.environ, BBC_DB=str(isolated), BBC_NOW=NOW)
    importer = subprocess.Popen(
        [*BBC, "import", str(_sheet(tmp_path / "台账.csv"))],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    first = importer.stderr.readline()  # the first rows are written: the lock is held
    assert "已处理" in first, first
    commands = {
        "list": ["list", "--json"],
        "daily-report": ["daily-report"],
        "export": ["export", "--dir", str(tmp_path / "exports")],
        "verify": ["verify"],
        "backup": ["backup", str(tmp_path / "backup.sqlite3")],
        "register": ["register", "--name", "李海清", "--phone", "13900001111",
                     "--matter", "窗口登记"],
    }  # fmt: skip
    running = {
        name: subprocess.Popen(
            [*BBC, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
        )
        for name, args in commands.items()
    }
    finished: dict[str, float] = {}
    output: dict[str, tuple[str, str]] = {}
    deadline = time.monotonic() + 900
    while len(finished) < len(running) + 1 and time.monotonic() < deadline:
        for name, process in running.items():
            if name not in finished and process.poll() is not None:
                finished[name] = time.monotonic()
                output[name] = process.communicate()
        if "import" not in finished and importer.poll() is not None:
            finished["import"] = time.monotonic()
        time.sleep(0.02)
    rest = importer.communicate()[1]
    assert importer.returncode == 0, rest
    assert f"已导入 {ROWS} 件案件" in rest
    for name, process in running.items():
        assert process.returncode == 0, (name, output[name])
        assert "Traceback" not in output[name][1]
    for name in ("list", "daily-report", "export", "verify", "backup"):
        assert finished[name] < finished["import"], f"{name} waited for the import"
    # The readers saw the store as it was: the import had not committed yet.
    assert [c["matter"] for c in json.loads(output["list"][0])] == ["已有案件"]
    waited = output["register"][1]
    assert "另一项写入正在进行（导入），等待中… 已等" in waited, waited
    con = sqlite3.connect(isolated)
    assert con.execute("SELECT count(*) FROM cases").fetchone() == (ROWS + 2,)
    # The registration was written after the import committed: its case and its event
    # come last (the import's process may still be printing its numbers and exiting).
    assert con.execute("SELECT matter FROM cases ORDER BY id DESC LIMIT 1").fetchone() == (
        "窗口登记",
    )
    last = "SELECT c.matter FROM events e JOIN cases c ON c.id = e.case_id ORDER BY e.seq DESC"
    assert con.execute(last).fetchone() == ("窗口登记",)
    con.close()
    assert bbc.json("verify")["ok"]


def test_a_writer_names_itself_and_a_note_left_by_a_killed_one_is_ignored(tmp_path):
    from banbucheng.store import Store

    store = Store(f"sqlite:///{tmp_path / 'a.sqlite3'}")
    note = tmp_path / "a.sqlite3-writer"
    with store.announce("import"):
        assert note.stat().st_mode & 0o777 == 0o600
        assert store.writer() == "导入"
    assert not note.exists() and store.writer() is None
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()  # fmt: skip
    note.write_text(f"{gone} import\n")
    assert store.writer() is None  # its process is gone: nobody is importing
    store.close()


def test_on_windows_the_writer_s_process_is_not_probed(tmp_path, monkeypatch):
    """os.kill(pid, 0) ends the process on Windows (TerminateProcess): a writer that
    waits must not kill the import it waits for. There the note is believed."""
    import os

    from banbucheng import store as store_module

    store = store_module.Store(f"sqlite:///{tmp_path / 'a.sqlite3'}")
    monkeypatch.setattr(store_module, "_WINDOWS", True)

    def kill(pid: int, sig: int) -> None:
        raise AssertionError("os.kill called on Windows")

    monkeypatch.setattr(os, "kill", kill)
    with store.announce("import"):
        assert store.writer() == "导入"
    store.close()


def test_a_writer_waits_saying_so_and_gives_up_at_the_bound(bbc, isolated, monkeypatch):
    from banbucheng import dialects

    bbc("register", "--name", "霍某某", "--phone", "13712341111", "--matter", "已有案件", now=NOW)
    monkeypatch.setattr(dialects, "WRITE_WAIT_S", 3)
    holder = sqlite3.connect(isolated, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another writer, for longer than the bound
    try:
        result = bbc("register", "--name", "李海清", "--phone", "13900001111",
                     "--matter", "等待中的登记", now=NOW, code=3)  # fmt: skip
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    lines = result.stderr.strip().splitlines()
    assert re.fullmatch(r"另一项写入正在进行，等待中… 已等 [12] 秒（按 Ctrl-C 放弃）", lines[0])
    assert lines[-1] == "错误：数据库正忙：另一项写入 0 分钟仍未结束，操作未保存，请稍后重试"
    assert [c["matter"] for c in bbc.json("list")] == ["已有案件"]
