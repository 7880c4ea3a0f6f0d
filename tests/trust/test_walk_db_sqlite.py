"""`verify`'s chain pass on SQLite, checked by SQLite a range of events at a time with
each event's hash from a function registered on the connection (trust/walk_db.py): it
is the path taken there, and whatever is done to an event in a large range, the
findings are exactly those of the Python walk (walk_db.SERVER False), which walks a
range that is not clean again and names each finding. Values of odd type or form,
with the chain rehashed after them, must never pass for clean unless the Python walk
agrees. The PostgreSQL twin: test_walk_db_postgres.py."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import bulkgen
import pytest
from walk_paths import Paths, both

from banbucheng.cli import app
from banbucheng.schema.chain import digest_bytes, event_mac
from banbucheng.trust import integrity, walk, walk_db

BROKEN = 5
RANGE = 400  # events per query here: the ~1,100 events make three ranges
PART = 100  # a range that is not clean is checked again in parts of this many events
MIDDLE = 555  # an event in the middle of the second range
ZEROS = "substr(hex(zeroblob(32)), 1, 64)"  # 64 zeros


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """250 cases (about 1,100 events, all sealed with the store's key), built once."""
    path = tmp_path_factory.mktemp("walk") / "built.sqlite3"
    bulkgen.build(f"sqlite:///{path}", 250)
    return path


@pytest.fixture
def store(built: Path, isolated: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the built store as this test's, walked by SQLite in ranges of RANGE;
    one process (the helper's share is tested apart)."""
    shutil.copyfile(built, isolated)
    monkeypatch.setattr(walk_db, "SQLITE_RANGE", RANGE)
    monkeypatch.setattr(walk_db, "SQLITE_PART", PART)
    monkeypatch.setattr(integrity, "PARALLEL_FROM", 10**9)
    return isolated


def _run(db: Path, change: str | Callable[[sqlite3.Connection], None], *params: Any) -> None:
    con = sqlite3.connect(db)
    try:
        if callable(change):
            change(con)
        else:
            con.execute(change, params)
        con.commit()
    finally:
        con.close()


def _both(
    bbc: Any, monkeypatch: pytest.MonkeyPatch, paths: Paths | None = None, code: int = BROKEN
) -> dict:
    return both(bbc, monkeypatch, paths, code)


def test_sqlite_walks_a_clean_chain_and_python_reads_none_of_it(
    bbc: Any, store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = Paths(monkeypatch)
    report = bbc.json("verify", "--full")
    assert report["ok"] and report["sealed"] == "checked"
    assert report["walked"] == report["events"] > 2 * RANGE
    ranges = [(1, RANGE), (RANGE + 1, 2 * RANGE), (2 * RANGE + 1, None)]
    assert [r[:2] for r in paths.ranges] == ranges
    assert all(r[2] for r in paths.ranges) and paths.python == 0
    # An anchor inside a range: its hash taken from SQLite's answer.
    con = sqlite3.connect(store)
    hash_ = con.execute("SELECT hash FROM events WHERE seq = ?", (MIDDLE,)).fetchone()[0]
    con.close()
    anchored = bbc.json("verify", "--full", "--anchor", f"{MIDDLE}:{hash_[:16]}")
    assert anchored["ok"] and anchored["anchor_checked"] == f"{MIDDLE}:{hash_[:16]}"
    wrong = bbc.json("verify", "--full", "--anchor", f"{MIDDLE}:{'0' * 16}", code=BROKEN)
    assert [p["kind"] for p in wrong["problems"]] == ["anchor"]
    # Incremental: only the new events, from where the last clean run stopped.
    paths.clear()
    again = bbc.json("verify")
    assert again["ok"] and again["walked"] == 0 and paths.python == 0


def _duplicate(seq: int, in_order: bool = False) -> Callable[[sqlite3.Connection], None]:
    """A copy of the event at `seq`, with a new id (`in_order`: one between its id and
    the next event's, the later ids moved up to make room)."""

    def change(con: sqlite3.Connection) -> None:
        con.execute("DROP INDEX ix_events_seq")  # as someone with the database could
        if in_order:
            con.execute("UPDATE events SET id = id + 100000 WHERE seq > ?", (seq,))
        con.execute(
            "INSERT INTO events (id, case_id, at, actor, action, detail, seq, prev_hash, "
            "hash, mac) SELECT CASE WHEN ? THEN id + 50000 ELSE "
            "(SELECT max(id) + 1 FROM events) END, case_id, at, actor, action, detail, seq, "
            "prev_hash, hash, mac FROM events WHERE seq = ?",
            (in_order, seq),
        )

    return change


LAST = "(SELECT max(seq) FROM events)"
EDITS: dict[str, Any] = {
    "detail": f"UPDATE events SET detail = detail || ' ' WHERE seq = {MIDDLE}",
    "detail quoted": (
        "UPDATE events SET detail = replace(detail, '\"', '\\\"') WHERE seq = " + str(MIDDLE)
    ),
    "detail a number": f"UPDATE events SET detail = 7 WHERE seq = {MIDDLE}",
    "detail with a NUL": (
        f"UPDATE events SET detail = detail || char(0) || 'x' WHERE seq = {MIDDLE}"
    ),
    # A MAC edited on its own is named on the last event, whose MAC is computed (every
    # event's then, to name them); on another it is no finding (test_a_mac_edited_...).
    "mac": f"UPDATE events SET mac = {ZEROS} WHERE seq = {LAST}",
    "mac of another event": (
        f"UPDATE events SET mac = (SELECT mac FROM events WHERE seq = 3) WHERE seq = {LAST}"
    ),
    "mac removed": f"UPDATE events SET mac = NULL WHERE seq = {MIDDLE}",
    "mac short": f"UPDATE events SET mac = substr(mac, 2) WHERE seq = {MIDDLE}",
    "mac a BLOB": f"UPDATE events SET mac = CAST(mac AS BLOB) WHERE seq = {MIDDLE}",
    "relinked": f"UPDATE events SET prev_hash = {ZEROS} WHERE seq = {MIDDLE}",
    "deleted": f"DELETE FROM events WHERE seq = {MIDDLE}",
    "deleted at a range's end": f"DELETE FROM events WHERE seq IN ({RANGE - 1}, {RANGE})",
    "deleted at a range's start": f"DELETE FROM events WHERE seq = {RANGE + 1}",
    "duplicate seq": _duplicate(MIDDLE),
    "duplicate with ids in order": _duplicate(MIDDLE, in_order=True),
    "duplicate at a range's start": _duplicate(RANGE + 1),
    "duplicate at a range's end": _duplicate(RANGE, in_order=True),
    "reordered ids": (
        f"UPDATE events SET id = (SELECT max(id) + 100 FROM events) WHERE seq = {MIDDLE}"
    ),
    "an id lower at a range's start": f"UPDATE events SET id = -id WHERE seq = {RANGE + 1}",
    "NULL hash": f"UPDATE events SET hash = NULL WHERE seq = {MIDDLE}",
    "short hash": f"UPDATE events SET hash = substr(hash, 1, 63) WHERE seq = {MIDDLE}",
    "hash a BLOB": f"UPDATE events SET hash = CAST(hash AS BLOB) WHERE seq = {MIDDLE}",
    "hash in capitals": f"UPDATE events SET hash = upper(hash) WHERE seq = {MIDDLE}",
    "NULL prev_hash": f"UPDATE events SET prev_hash = NULL WHERE seq = {MIDDLE}",
    "seq as text": f"UPDATE events SET seq = '{MIDDLE}a' WHERE seq = {MIDDLE}",
    "moved beyond the head": f"UPDATE events SET seq = 99999 WHERE seq = {MIDDLE}",
    "moved out of the chain": f"UPDATE events SET seq = NULL WHERE seq = {MIDDLE}",
    "another case": (
        f"UPDATE events SET case_id = (SELECT min(id) FROM cases) WHERE seq = {MIDDLE}"
    ),
    "made store-level": f"UPDATE events SET case_id = NULL WHERE seq = {MIDDLE}",
    "orphaned": (f"DELETE FROM cases WHERE id = (SELECT case_id FROM events WHERE seq = {MIDDLE})"),
    "actor": f"UPDATE events SET actor = '窗口乙' WHERE seq = {MIDDLE}",
    "actor with a control character": (
        f"UPDATE events SET actor = '窗口' || char(1) || '乙' WHERE seq = {MIDDLE}"
    ),
    "action": f"UPDATE events SET action = 'note' WHERE seq = {MIDDLE}",
    "time a microsecond later": (
        "UPDATE events SET at = substr(at, 1, 25) || "
        f"CASE substr(at, 26) WHEN '0' THEN '1' ELSE '0' END WHERE seq = {MIDDLE}"
    ),
    "time in year 10000": (
        f"UPDATE events SET at = '10000-01-01 08:00:00.000000' WHERE seq = {MIDDLE}"
    ),
    "case number": (
        "UPDATE cases SET number = number || 'X' WHERE id = "
        f"(SELECT case_id FROM events WHERE seq = {MIDDLE})"
    ),
    "last event": f"DELETE FROM events WHERE seq = {LAST}",
}


@pytest.mark.parametrize("edit", list(EDITS))
def test_a_tampered_event_in_a_large_range_is_named_as_the_python_walk_names_it(
    bbc: Any, store: Path, monkeypatch: pytest.MonkeyPatch, edit: str
) -> None:
    _run(store, EDITS[edit])
    paths = Paths(monkeypatch)
    report = _both(bbc, monkeypatch, paths)
    assert report["problems"]
    paths.only_what_was_not_clean(report, PART)


# The same record in another form: no finding. The Python walk reads every hashed value
# as bytes, so a BLOB of the same bytes hashes the same (SQLite compares a link to a
# BLOB as not equal and hands the range to the Python walk, which passes it); a time
# written with a "T", or without its zero microseconds, is the same time.
SAME = {
    "prev_hash a BLOB": "UPDATE events SET prev_hash = CAST(prev_hash AS BLOB) WHERE seq = ?",
    "detail a BLOB": "UPDATE events SET detail = CAST(detail AS BLOB) WHERE seq = ?",
    "time with a T": "UPDATE events SET at = replace(at, ' ', 'T') WHERE seq = ?",
    "time without microseconds": (
        "UPDATE events SET at = substr(at, 1, 19) WHERE seq = ? AND at LIKE '%.000000'"
    ),
}


@pytest.mark.parametrize("edit", list(SAME))
def test_the_same_record_in_another_form_is_no_finding_on_either_path(
    bbc: Any, store: Path, monkeypatch: pytest.MonkeyPatch, edit: str
) -> None:
    _run(store, SAME[edit], MIDDLE)
    paths = Paths(monkeypatch)
    report = _both(bbc, monkeypatch, paths, code=0)
    assert report["ok"] and paths.python <= PART + 2


def test_a_mac_edited_on_its_own_in_the_middle_is_no_finding_on_either_path(
    bbc: Any, store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The last event's MAC authenticates the chain before it (trust/walk.py): a MAC
    edited alone on an earlier event changes no record, and neither walk computes it;
    both pass the chain, SQLite without the Python walk reading any of it."""
    _run(store, f"UPDATE events SET mac = {ZEROS} WHERE seq = {MIDDLE}")
    for server in (False, True):
        monkeypatch.setattr(walk_db, "SERVER", server)
        paths = Paths(monkeypatch)
        report = bbc.json("verify", "--full")
        assert report["ok"] and report["sealed"] == "checked"
        assert paths.python == (0 if server else report["events"])


def _fields(con: sqlite3.Connection, seq: int) -> tuple[Any, ...]:
    return con.execute(
        f"SELECT {walk_db._FIELDS} FROM events e LEFT JOIN cases c ON c.id = e.case_id "
        "WHERE e.seq = ?",
        (seq,),
    ).fetchone()


def _rehash(db: Path, seq: int, sqlite_way: bool) -> None:
    """The events from `seq` on given new links, hashes and MACs, and the anchors moved
    to match: what a forger would write who hashed each event as the Python walk's
    careful path does (chain.digest_bytes) or, where it takes the event, as SQLite's
    function does (`sqlite_way`)."""
    from banbucheng.store import Store

    store = Store(f"sqlite:///{db}")
    key = store.seal_key
    store.close()
    assert key is not None
    made = walk.event_hash(walk._Actors())
    con = sqlite3.connect(db)
    try:
        last = con.execute("SELECT max(seq) FROM events").fetchone()[0]
        prev = con.execute("SELECT prev_hash FROM events WHERE seq = ?", (seq,)).fetchone()[0]
        for s in range(seq, last + 1):
            con.execute("UPDATE events SET prev_hash = ? WHERE seq = ?", (prev, s))
            fields = _fields(con, s)
            hashed = made(*fields) if sqlite_way else None
            if hashed is None:
                number, at, actor, action, detail, prev_b = fields[1:]
                hashed = digest_bytes(s, number, walk._at(at), actor, action, detail, prev_b)
            prev = hashed
            con.execute(
                "UPDATE events SET hash = ?, mac = ? WHERE seq = ?",
                (prev, event_mac(key, prev), s),
            )
        con.execute("UPDATE chain_head SET hash = ?", (prev,))
        con.execute(
            "UPDATE case_chain SET last_hash = "
            "(SELECT e.hash FROM events e WHERE e.seq = case_chain.last_seq)"
        )
        con.execute("DELETE FROM chain_verified")
        con.commit()
    finally:
        con.close()


ODD = [
    "actor = '窗口乙'",  # an ordinary rewrite: the honest limit
    "actor = '窗\"口\\乙' || char(10, 9, 13, 8, 12)",
    "actor = '窗口' || char(1) || '乙' || char(31)",
    "actor = '窗口' || char(0) || '乙'",
    "actor = '窗口' || char(127, 8232)",
    "actor = CAST('窗口' AS BLOB)",
    "actor = x'e7aa97ff'",  # not UTF-8
    "action = CAST(action AS BLOB)",
    "detail = '{\"text\": \"一\\u4e8c' || char(10) || '\"}'",
    "detail = detail || char(0)",
    "detail = 12.5",
    "at = '10000-01-01 08:00:00.000000'",
    "at = substr(at, 1, 19)",
    "at = replace(at, ' ', 'T')",
    "at = substr(at, 1, 10) || '一' || substr(at, 14)",
    "at = 20210101",
    "seq = seq || ' '",
]


@pytest.mark.parametrize("sqlite_way", [False, True])
@pytest.mark.parametrize("change", ODD)
def test_odd_values_are_decided_as_the_python_walk_decides(
    bbc: Any, store: Path, monkeypatch: pytest.MonkeyPatch, change: str, sqlite_way: bool
) -> None:
    """Never a false "clean": an event given an odd value and the chain rehashed after
    it (either way, _rehash) is found exactly as the Python walk finds it."""
    con = sqlite3.connect(store)
    last = con.execute("SELECT max(seq) FROM events").fetchone()[0]
    con.close()
    seq = last - 30  # inside the last range: the rest of the chain rehashed after it
    _run(store, f"UPDATE events SET {change} WHERE seq = ?", seq)
    if not change.startswith("seq"):  # an event out of its place: nothing to rehash
        _rehash(store, seq, sqlite_way)
    monkeypatch.setattr(walk_db, "SERVER", False)
    reference = _verify(bbc)
    monkeypatch.setattr(walk_db, "SERVER", True)
    assert _verify(bbc) == reference


def _verify(bbc: Any) -> tuple[int, str]:
    result = bbc.runner.invoke(app, ["verify", "--full", "--json"])
    assert result.exit_code in (0, BROKEN), (result.stdout, result.stderr, result.exception)
    return result.exit_code, result.stdout


def test_the_mac_function_is_the_event_mac() -> None:
    """walk_db.register's MAC, as SQLite calls it when every MAC is checked."""
    from banbucheng.schema.chain import EventMac

    con = sqlite3.connect(":memory:")

    class Sql:
        dbapi = con

    key = bytes(range(32))
    walk_db.register(Sql(), lambda *values: None, EventMac(key))
    for hash_ in ("0" * 64, "9f2c01ab33d4e5f6" * 4, "é"):
        found = con.execute("SELECT bbc_event_mac(?)", (hash_,)).fetchone()[0]
        assert found == event_mac(key, hash_)
    assert con.execute("SELECT bbc_event_mac(x'00')").fetchone()[0] is None


def test_the_helper_walks_its_share_in_sqlite_too(
    bbc: Any, store: Path, split_taken: list[bool], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Split between two processes (integrity._Helper): the helper's walk of the later
    events is taken when clean; after an edit in its share, the findings are the
    same as one process's."""
    taken = split_taken
    paths = Paths(monkeypatch)
    clean = bbc.json("verify", "--full")
    assert clean["ok"] and clean["walked"] == clean["events"] and taken == [True]
    assert paths.ranges and all(r[2] for r in paths.ranges) and paths.python == 0
    _run(store, f"UPDATE events SET actor = '窗口乙' WHERE seq = {LAST} - 5")
    taken.clear()
    split = bbc.json("verify", "--full", code=BROKEN)
    assert taken == [False]
    monkeypatch.setattr(integrity, "PARALLEL_FROM", 10**9)
    assert _both(bbc, monkeypatch) == split
