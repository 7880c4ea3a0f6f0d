"""Many windows at once, and processes killed in the middle of writing."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

WORKER = Path(__file__).parents[1] / "bbc_worker.py"
BBC = [sys.executable, "-c", "from banbucheng.cli import run; run()"]
NOW = "2026-11-23 09:00"


def _env(db: Path, **extra: str) -> dict[str, str]:
    return dict(os.environ, BBC_DB=str(db), BBC_NOW=NOW, **extra)


def _integrity(db: Path) -> str:
    con = sqlite3.connect(db)
    try:
        return con.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        con.close()


def _rows(db: Path, statement: str) -> list[tuple]:
    con = sqlite3.connect(db)
    try:
        return con.execute(statement).fetchall()
    finally:
        con.close()


def test_eight_windows_register_dispatch_and_close_at_once(bbc, isolated):
    shared = bbc(
        "register",
        "--name",
        "李海清",
        "--phone",
        "13900001111",
        "--matter",
        "共同督办的案件",
        "--category",
        "应办未办",
        now=NOW,
    ).stdout.strip()
    bbc("dispatch", shared, "--unit", "省农保中心")
    per_window = 2
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                str(WORKER),
                "lifecycle",
                str(isolated),
                f"窗口{w}",
                str(per_window),
                shared,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(isolated),
        )
        for w in range(8)
    ]
    results = [w.communicate(timeout=300) for w in workers]
    for w, (out, err) in zip(workers, results, strict=True):
        assert w.returncode == 0, (out, err)
        assert "locked" not in out + err and "正忙" not in out + err
    total = 8 * per_window
    # No duplicate number, no hole.
    numbers = sorted(r[0] for r in _rows(isolated, "SELECT number FROM cases"))
    assert numbers == [f"BB20261123-{k:03d}" for k in range(1, total + 2)]
    cases = json.loads(bbc("list", "--json").stdout)
    own = [c for c in cases if c["number"] != shared]
    assert len(own) == total and all(c["status"] == "closed" for c in own)
    assert {c["unit"] for c in own} == {f"单位{i % 3}" for i in range(per_window)}
    # No lost update: every window's read-modify-write of the shared case counted.
    events = bbc.json("show", shared)["events"]
    extensions = [e["after"]["extension_days"] for e in events if e["action"] == "extend"]
    assert sorted(extensions) == list(range(1, total + 1))
    assert sum(e["action"] == "note" for e in events) == total
    report = bbc.json("verify")
    assert report["ok"], report["problems"]
    assert _integrity(isolated) == "ok"


def _wait_for_lines(stream, count: int, timeout: float = 60) -> list[str]:
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while len(lines) < count and time.monotonic() < deadline:
        line = stream.readline()
        if not line:
            break
        lines.append(line)
    return lines


def test_a_window_killed_mid_write_loses_only_its_uncommitted_work(bbc, isolated):
    bbc("list")
    worker = subprocess.Popen(
        [sys.executable, str(WORKER), "register", str(isolated), "窗口甲", "500"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(isolated),
    )
    seen = _wait_for_lines(worker.stdout, 15)
    worker.send_signal(signal.SIGKILL)
    rest, _ = worker.communicate(timeout=30)
    committed = [line.split()[2] for line in seen + rest.splitlines() if line.startswith("ok")]
    assert worker.returncode == -signal.SIGKILL
    assert len(committed) >= 15
    assert _integrity(isolated) == "ok"
    present = {r[0] for r in _rows(isolated, "SELECT number FROM cases")}
    assert set(committed) <= present
    assert len(present) - len(committed) <= 1  # at most the one in flight got committed
    report = bbc.json("verify")
    assert report["ok"], report["problems"]
    bbc("register", "--name", "张三", "--phone", "13800000000", "--matter", "之后", now=NOW)


def test_an_import_killed_midway_leaves_the_store_as_it_was(bbc, isolated, tmp_path):
    bbc(
        "register",
        "--name",
        "霍某某",
        "--phone",
        "13712341111",
        "--matter",
        "已有案件",
        "--category",
        "应办未办",
        now=NOW,
    )
    lines = ["姓名,电话,反映事项,受理时间,分类,主办单位,办结时间,办理结果"]
    for i in range(20000):  # long enough to be killed in the middle, even when fast
        day = 2 + i % 20
        lines.append(
            f"群众{i},13800000000,台账第{i}件,2026-11-{day:02d} 09:00,应办未办,单位{i % 7},"
            f"2026-11-{day:02d} 16:00,已办结"
        )
    sheet = tmp_path / "台账.csv"
    sheet.write_text("\n".join(lines) + "\n", encoding="gb18030")
    before = _rows(isolated, "SELECT number FROM cases")
    importer = subprocess.Popen(
        [*BBC, "import", str(sheet)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(isolated),
    )
    progress = _wait_for_lines(importer.stderr, 1, timeout=120)
    assert progress and "已处理" in progress[0], progress
    importer.send_signal(signal.SIGKILL)  # in the middle of the one import transaction
    importer.communicate(timeout=30)
    assert importer.returncode == -signal.SIGKILL
    assert _integrity(isolated) == "ok"
    assert _rows(isolated, "SELECT number FROM cases") == before
    assert _rows(isolated, "SELECT count(*) FROM units") == [(0,)]
    assert bbc.json("verify")["ok"]
