"""A case number once given to a citizen is never given to another, across restores;
and restore refuses a backup whose chain was rewritten, when an anchor is given."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from banbucheng.schema.chain import GENESIS, digest, stored_at

DAY = "2026-11-23"
SURNAMES = "赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦尤许何吕施张孔曹严华金魏陶姜"


def _register(bbc, citizen: str, now: str = f"{DAY} 09:00") -> str:
    return bbc(
        "register",
        "--name",
        citizen,
        "--phone",
        "13712341111",
        "--matter",
        f"{citizen}反映的事项",
        now=now,
    ).stdout.strip()


def _issue(bbc, given: set[tuple[str, str]], stage: str, n: int, now: str = f"{DAY} 09:00"):
    for i in range(n):
        citizen = f"{SURNAMES[len(given) % len(SURNAMES)]}{stage}{i}"
        given.add((_register(bbc, citizen, now=now), citizen))


def _numbers(given: set[tuple[str, str]]) -> list[str]:
    return [number for number, _ in given]


def test_no_number_is_ever_given_to_two_citizens_across_restores(bbc, tmp_path, isolated):
    given: set[tuple[str, str]] = set()
    _issue(bbc, given, "甲", 3)
    first = tmp_path / "first.sqlite3"
    bbc("backup", str(first))
    _issue(bbc, given, "乙", 4)
    _issue(bbc, given, "乙", 2, now="2026-11-24 09:00")  # another day's counter too
    second = tmp_path / "second.sqlite3"
    bbc("backup", str(second))
    _issue(bbc, given, "丙", 2)

    info = bbc.json("restore", str(first), "--yes", now="2026-11-24 10:00")
    assert info["numbering_kept"] == {"case:2026-11-23": 9, "case:2026-11-24": 2}
    _issue(bbc, given, "丁", 3)
    _issue(bbc, given, "丁", 1, now="2026-11-24 11:00")
    # Restoring a newer backup after an older one, and the side copy, still never
    # brings a lower mark back.
    bbc("restore", str(second), "--yes", now="2026-11-24 12:00")
    _issue(bbc, given, "戊", 2)
    bbc("restore", str(info["side_copy"]), "--yes", now="2026-11-24 13:00")
    _issue(bbc, given, "己", 2)

    numbers = _numbers(given)
    assert len(numbers) == len(set(numbers)) == 3 + 4 + 2 + 2 + 3 + 1 + 2 + 2
    assert sorted(n for n in numbers if "20261123" in n)[-1] == "BB20261123-016"
    assert bbc.json("verify")["ok"]


def test_the_restore_is_recorded_in_the_chain(bbc, tmp_path, isolated):
    given: set[tuple[str, str]] = set()
    _issue(bbc, given, "甲", 1)
    backup = tmp_path / "b.sqlite3"
    bbc("backup", str(backup))
    _issue(bbc, given, "乙", 2)
    bbc("restore", str(backup), "--yes", now=f"{DAY} 10:00")
    con = sqlite3.connect(isolated)
    try:
        action, actor, case_id, detail = con.execute(
            "SELECT action, actor, case_id, detail FROM events ORDER BY seq DESC LIMIT 1"
        ).fetchone()
    finally:
        con.close()
    detail = json.loads(detail)
    assert (action, actor, case_id) == ("restore", "窗口甲", None)
    assert detail["after"] == {"counters": {f"case:{DAY}": 3}}
    assert detail["before"] == {"counters": {f"case:{DAY}": 1}}
    assert detail["replaced"]["cases"] == 3 and detail["backup"]["cases"] == 1
    assert len(detail["backup"]["sha256"]) == 64
    # no personal data in the record of the restore
    assert not any(name in json.dumps(detail, ensure_ascii=False) for _, name in given)


def test_a_counter_lowered_by_hand_is_no_excuse(bbc, tmp_path, isolated):
    """The mark is also read from the numbers the live store holds."""
    given: set[tuple[str, str]] = set()
    _issue(bbc, given, "甲", 1)
    backup = tmp_path / "b.sqlite3"
    bbc("backup", str(backup))
    _issue(bbc, given, "乙", 3)
    con = sqlite3.connect(isolated)
    con.execute("DELETE FROM counters")
    con.commit()
    con.close()
    bbc("restore", str(backup), "--yes")
    _issue(bbc, given, "丙", 1)
    assert len(set(_numbers(given))) == 5


def _rewrite_consistently(path: Path) -> None:
    """What someone who knows the scheme and holds the key can do: change an event, then
    recompute every hash, seal and both anchors, so verify alone finds nothing."""
    from banbucheng.schema.chain import event_mac
    from banbucheng.store import Store

    opened = Store(f"sqlite:///{path}")
    key = opened.seal_key
    opened.close()
    con = sqlite3.connect(path)
    con.execute("UPDATE events SET actor = '别人' WHERE seq = 1")
    numbers = dict(con.execute("SELECT id, number FROM cases"))
    prev = GENESIS
    rows = con.execute(
        "SELECT id, case_id, seq, at, actor, action, detail FROM events ORDER BY seq"
    ).fetchall()
    for event_id, case_id, seq, at, actor, action, detail in rows:
        number = numbers.get(case_id, "") if case_id is not None else ""
        new = digest(seq, number, stored_at(at)[1], actor, action, detail, prev)
        mac = event_mac(key, new) if key else None
        con.execute(
            "UPDATE events SET prev_hash = ?, hash = ?, mac = ? WHERE id = ?",
            (prev, new, mac, event_id),
        )
        con.execute(
            "UPDATE case_chain SET last_hash = ? WHERE case_id = ? AND last_seq = ?",
            (new, case_id, seq),
        )
        prev = new
    con.execute("UPDATE chain_head SET hash = ? WHERE id = 1", (prev,))
    con.execute("DELETE FROM chain_verified")  # and forget where verify got to
    con.commit()
    con.close()


def test_restore_checks_an_anchor_that_a_consistent_rewrite_cannot_pass(
    bbc, tmp_path, isolated, snapshot
):
    given: set[tuple[str, str]] = set()
    _issue(bbc, given, "甲", 2)
    anchor = bbc.json("verify")["anchor"]
    backup = tmp_path / "b.sqlite3"
    bbc("backup", str(backup))
    _rewrite_consistently(backup)
    assert bbc.json("--db", str(backup), "verify")["ok"]  # verify alone cannot tell

    check = snapshot()
    message = bbc.refused("restore", str(backup), "--yes", "--anchor", anchor)
    assert "锚点" in message and "改写" in message
    # --force does not override an anchor that does not match
    bbc.refused("restore", str(backup), "--yes", "--force", "--anchor", anchor)
    assert "锚点格式不正确" in bbc.refused("restore", str(backup), "--yes", "--anchor", "x")
    later = f"{int(anchor.split(':')[0]) + 50}:{anchor.split(':')[1]}"
    assert "不存在" in bbc.refused("restore", str(backup), "--yes", "--anchor", later)
    check()

    good = tmp_path / "good.sqlite3"
    bbc("backup", str(good))
    out = bbc("restore", str(good), "--yes", "--anchor", anchor)
    assert f"与锚点 {anchor} 一致" in out.stdout


WORKER = Path(__file__).parents[1] / "bbc_worker.py"


def test_restores_under_load_never_reissue_a_number(bbc, tmp_path, isolated):
    """Two windows keep registering while the store is restored twice: every number a
    window was given (printed after its commit) belongs to one matter only."""
    import os
    import subprocess
    import sys
    import time

    given: set[tuple[str, str]] = set()
    _issue(bbc, given, "甲", 2)
    backup = tmp_path / "b.sqlite3"
    bbc("backup", str(backup))
    env = dict(os.environ, BBC_NOW=f"{DAY} 09:00")
    windows = [
        subprocess.Popen(
            [sys.executable, str(WORKER), "register", str(isolated), tag, "25"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for tag in ("窗口乙", "窗口丙")
    ]

    def cases() -> int:
        con = sqlite3.connect(isolated, timeout=30)
        try:
            return con.execute("SELECT count(*) FROM cases").fetchone()[0]
        finally:
            con.close()

    try:
        for _ in range(2):  # each time the windows have registered some since the backup
            deadline = time.monotonic() + 120
            while cases() < 2 + 6 and time.monotonic() < deadline:
                time.sleep(0.05)
            bbc("restore", str(backup), "--yes")
    finally:
        outputs = [w.communicate(timeout=180) for w in windows]
    for window, (out, err) in zip(windows, outputs, strict=True):
        assert window.returncode == 0, (out, err)
        for line in out.splitlines():
            _, _, number, matter = line.split(" ", 3)
            given.add((number, matter))
    numbers = _numbers(given)
    assert len(given) == 2 + 50
    assert len(numbers) == len(set(numbers)), sorted(numbers)
    assert bbc.json("verify")["ok"]
