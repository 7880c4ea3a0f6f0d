"""`verify`'s chain pass on PostgreSQL, checked by the server a range of events at a
time (trust/walk_db.py): it is the path taken there, and whatever is done to an event
in a large range, the findings are exactly those of the Python walk (walk_db.SERVER
False), which walks a range that is not clean again and names each finding. Values
that the server's canonical text could spell otherwise than Python's are rewritten
with a hash the server's way, which must never pass for clean unless the Python walk
agrees. Skipped without PostgreSQL (conftest.pg_server)."""

from __future__ import annotations

from typing import Any

import bulkgen
import pytest
import test_postgres
from test_postgres import PgBbc
from walk_paths import Paths, both

from banbucheng.cli import app
from banbucheng.schema.chain import event_mac, pads
from banbucheng.trust import integrity, walk_db

bbc = test_postgres.bbc
BROKEN = 5
RANGE = 400  # events per server query here: the ~1,100 events make three ranges
PART = 100  # a range that is not clean is checked again in parts of this many events
MIDDLE = 555  # an event in the middle of the second range


def _connect(url: str) -> Any:
    import psycopg

    return psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)


def _key(url: str) -> bytes:
    from banbucheng.store import Store

    store = Store(url)
    try:
        assert store.seal_key is not None
        return store.seal_key
    finally:
        store.close()


@pytest.fixture
def store(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """250 cases (about 1,100 events, all sealed with the store's key), walked by
    the server in ranges of RANGE; one process (the helper's share is tested apart)."""
    bulkgen.build(pg_url, 250)
    monkeypatch.setattr(walk_db, "RANGE", RANGE)
    monkeypatch.setattr(walk_db, "PART", PART)
    monkeypatch.setattr(integrity, "PARALLEL_FROM", 10**9)
    return pg_url


def _both(bbc: PgBbc, monkeypatch: pytest.MonkeyPatch, paths: Paths | None = None) -> dict:
    return both(bbc, monkeypatch, paths, BROKEN)


def test_the_server_walks_a_clean_chain_and_python_reads_none_of_it(
    bbc: PgBbc, store: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = Paths(monkeypatch)
    report = bbc.json("verify", "--full")
    assert report["ok"] and report["sealed"] == "checked"
    assert report["walked"] == report["events"] > 2 * RANGE
    ranges = [(1, RANGE), (RANGE + 1, 2 * RANGE), (2 * RANGE + 1, None)]
    assert [r[:2] for r in paths.ranges] == ranges
    assert all(r[2] for r in paths.ranges) and paths.python == 0
    # An anchor inside a range: its hash taken from the server's answer.
    with _connect(store) as conn:
        hash_ = conn.execute("SELECT hash FROM events WHERE seq = %s", (MIDDLE,)).fetchone()[0]
    anchored = bbc.json("verify", "--full", "--anchor", f"{MIDDLE}:{hash_[:16]}")
    assert anchored["ok"] and anchored["anchor_checked"] == f"{MIDDLE}:{hash_[:16]}"
    wrong = bbc.json("verify", "--full", "--anchor", f"{MIDDLE}:{'0' * 16}", code=BROKEN)
    assert [p["kind"] for p in wrong["problems"]] == ["anchor"]
    # Incremental: only the new events, from where the last clean run stopped.
    paths.clear()
    again = bbc.json("verify")
    assert again["ok"] and again["walked"] == 0 and paths.python == 0


def _duplicate(conn: Any, seq: int, in_order: bool = False) -> None:
    """A copy of the event at `seq`, with a new id (`in_order`: one between its id and
    the next event's, the later ids moved up to make room)."""
    conn.execute("DROP INDEX ix_events_seq")  # as someone with the database could
    if in_order:
        conn.execute("UPDATE events SET id = id + 100000 WHERE seq > %s", (seq,))
    conn.execute(
        "INSERT INTO events (id, case_id, at, actor, action, detail, seq, prev_hash, hash, "
        "mac) SELECT CASE WHEN %s THEN id + 50000 ELSE (SELECT max(id) + 1 FROM events) END, "
        "case_id, at, actor, action, detail, seq, prev_hash, hash, mac FROM events "
        "WHERE seq = %s",
        (in_order, seq),
    )


EDITS: dict[str, Any] = {
    "detail": f"UPDATE events SET detail = detail || ' ' WHERE seq = {MIDDLE}",
    "detail quoted": (
        "UPDATE events SET detail = replace(detail, '\"', '\\\"') WHERE seq = " + str(MIDDLE)
    ),
    # A MAC edited on its own is named on the last event, whose MAC is computed (every
    # event's then, to name them); on another it is no finding (test_a_mac_edited_...).
    "mac": "UPDATE events SET mac = repeat('0', 64) WHERE seq = (SELECT max(seq) FROM events)",
    "mac of another event": (
        "UPDATE events SET mac = (SELECT mac FROM events WHERE seq = 3) "
        "WHERE seq = (SELECT max(seq) FROM events)"
    ),
    "mac removed": f"UPDATE events SET mac = NULL WHERE seq = {MIDDLE}",
    "relinked": f"UPDATE events SET prev_hash = repeat('0', 64) WHERE seq = {MIDDLE}",
    "deleted": f"DELETE FROM events WHERE seq = {MIDDLE}",
    "deleted at a range's end": f"DELETE FROM events WHERE seq IN ({RANGE - 1}, {RANGE})",
    "deleted at a range's start": f"DELETE FROM events WHERE seq = {RANGE + 1}",
    "duplicate seq": lambda conn: _duplicate(conn, MIDDLE),
    "duplicate with ids in order": lambda conn: _duplicate(conn, MIDDLE, in_order=True),
    "duplicate at a range's start": lambda conn: _duplicate(conn, RANGE + 1),
    "duplicate at a range's end": lambda conn: _duplicate(conn, RANGE, in_order=True),
    "reordered ids": (
        f"UPDATE events SET id = (SELECT max(id) + 100 FROM events) WHERE seq = {MIDDLE}"
    ),
    "an id lower at a range's start": f"UPDATE events SET id = -id WHERE seq = {RANGE + 1}",
    "NULL hash": f"UPDATE events SET hash = NULL WHERE seq = {MIDDLE}",
    "short hash": f"UPDATE events SET hash = left(hash, 63) WHERE seq = {MIDDLE}",
    "NULL prev_hash": f"UPDATE events SET prev_hash = NULL WHERE seq = {MIDDLE}",
    "moved beyond the head": f"UPDATE events SET seq = 99999 WHERE seq = {MIDDLE}",
    "moved out of the chain": f"UPDATE events SET seq = NULL WHERE seq = {MIDDLE}",
    "another case": (
        f"UPDATE events SET case_id = (SELECT min(id) FROM cases) WHERE seq = {MIDDLE}"
    ),
    "made store-level": f"UPDATE events SET case_id = NULL WHERE seq = {MIDDLE}",
    "actor": f"UPDATE events SET actor = '窗口乙' WHERE seq = {MIDDLE}",
    "actor with a control character": (
        f"UPDATE events SET actor = E'窗口\\x01乙' WHERE seq = {MIDDLE}"
    ),
    "action": f"UPDATE events SET action = 'note' WHERE seq = {MIDDLE}",
    "time a microsecond later": (
        f"UPDATE events SET at = at + interval '1 microsecond' WHERE seq = {MIDDLE}"
    ),
    "time a quarter second later": (
        f"UPDATE events SET at = at + interval '0.25 second' WHERE seq = {MIDDLE}"
    ),
    "time in year 10000": f"UPDATE events SET at = '10000-01-01 08:00' WHERE seq = {MIDDLE}",
    "case number": (
        "UPDATE cases SET number = number || 'X' WHERE id = "
        f"(SELECT case_id FROM events WHERE seq = {MIDDLE})"
    ),
    "last event": "DELETE FROM events WHERE seq = (SELECT max(seq) FROM events)",
}


@pytest.mark.parametrize("edit", list(EDITS))
def test_a_tampered_event_in_a_large_range_is_named_as_the_python_walk_names_it(
    bbc: PgBbc, store: str, monkeypatch: pytest.MonkeyPatch, edit: str
) -> None:
    with _connect(store) as conn:
        change = EDITS[edit]
        if callable(change):
            change(conn)
        else:
            conn.execute(change)
    paths = Paths(monkeypatch)
    report = _both(bbc, monkeypatch, paths)
    assert report["problems"]
    paths.only_what_was_not_clean(report, PART)


def test_a_mac_edited_on_its_own_in_the_middle_is_no_finding_on_either_path(
    bbc: PgBbc, store: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The last event's MAC authenticates the chain before it (trust/walk.py): a MAC
    edited alone on an earlier event changes no record, and neither walk computes it;
    both pass the chain, the server without the Python walk reading any of it."""
    with _connect(store) as conn:
        conn.execute(f"UPDATE events SET mac = repeat('0', 64) WHERE seq = {MIDDLE}")
    for server in (False, True):
        monkeypatch.setattr(walk_db, "SERVER", server)
        paths = Paths(monkeypatch)
        report = bbc.json("verify", "--full")
        assert report["ok"] and report["sealed"] == "checked"
        assert paths.python == (0 if server else report["events"])


def _rehash(url: str, seq: int, actor: str = "to_json(e.actor)::text") -> None:
    """The events from `seq` on given new links, hashes (over the server's canonical
    text, its actor spelt `actor`) and MACs, and the anchors moved to match: what a
    forger who trusted the server's canonical form would write."""
    key = _key(url)
    actor = f"CASE WHEN e.seq = {seq} THEN {actor} ELSE to_json(e.actor)::text END"
    canonical = walk_db._CANONICAL.replace("to_json(e.actor)::text", actor)
    with _connect(url) as conn:
        last = conn.execute("SELECT max(seq) FROM events").fetchone()[0]
        prev = conn.execute("SELECT prev_hash FROM events WHERE seq = %s", (seq,)).fetchone()[0]
        for s in range(seq, last + 1):
            conn.execute("UPDATE events SET prev_hash = %s WHERE seq = %s", (prev, s))
            prev = conn.execute(
                f"SELECT encode(sha256(convert_to({canonical}, 'UTF8')), 'hex') FROM events e "
                "LEFT JOIN cases c ON c.id = e.case_id WHERE e.seq = %s",
                (s,),
            ).fetchone()[0]
            conn.execute(
                "UPDATE events SET hash = %s, mac = %s WHERE seq = %s",
                (prev, event_mac(key, prev), s),
            )
        conn.execute("UPDATE chain_head SET hash = %s", (prev,))
        conn.execute(
            "UPDATE case_chain a SET last_hash = e.hash FROM events e WHERE e.seq = a.last_seq"
        )
        conn.execute("DELETE FROM chain_verified")


ODD = [
    # (the event's new values, the actor as the forger spelt it in the hashed text,
    # whether the Python walk passes it: None, not asserted beyond the two agreeing)
    ("actor = '窗口乙'", None, True),  # an ordinary rewrite: the honest limit
    ("actor = E'窗\"口\\\\乙\\n\\t\\r\\b\\f'", None, True),
    ("actor = E'窗口\\x01乙\\x1f'", None, True),
    ("actor = E'窗口\\x1f'", "'\"窗口\\u001F\"'", False),  # JSON's escape in capitals
    ("actor = E'窗口\\x1f'", "'\"窗口\\u001f\"'", True),
    ("actor = E'窗口\\x7f\\u2028'", None, None),
    ('detail = E\'{"text": "一\\\\u4e8c\\n"}\'', None, None),
    ("at = '10000-01-01 08:00'", None, False),  # _Walker._row spells it otherwise
    ("at = '0999-01-01 08:00'", None, None),
    ("at = '0044-03-15 08:00 BC'", None, None),
    ("at = at + interval '0.123 second'", None, True),
]


def _verify(bbc: PgBbc) -> tuple[int, str]:
    result = bbc.runner.invoke(app, ["--db", bbc.url, "verify", "--full", "--json"])
    assert result.exit_code in (0, BROKEN), (result.stdout, result.stderr, result.exception)
    return result.exit_code, result.stdout


@pytest.mark.parametrize(("change", "actor", "passes"), ODD)
def test_values_spelt_otherwise_by_the_server_are_decided_by_the_python_walk(
    bbc: PgBbc,
    store: str,
    monkeypatch: pytest.MonkeyPatch,
    change: str,
    actor: str | None,
    passes: bool | None,
) -> None:
    """Never a false "clean": an event whose odd value the server's canonical text
    might spell otherwise than chain.digest_bytes, rehashed the server's way (with
    every later event and the anchors), is found exactly as the Python walk finds it."""
    with _connect(store) as conn:
        last = conn.execute("SELECT max(seq) FROM events").fetchone()[0]
        seq = last - 30  # inside the last range: the rest of the chain rehashed after it
        conn.execute(f"UPDATE events SET {change} WHERE seq = %s", (seq,))
    _rehash(store, seq, actor or "to_json(e.actor)::text")
    monkeypatch.setattr(walk_db, "SERVER", False)
    reference = _verify(bbc)
    if passes is not None:
        assert reference[0] == (0 if passes else BROKEN), reference[1]
    monkeypatch.setattr(walk_db, "SERVER", True)
    assert _verify(bbc) == reference


def test_the_mac_from_the_key_pads_is_the_event_mac(pg_url: str) -> None:
    """walk_db.pads as the server uses them: HMAC-SHA256 as chain.event_mac, for keys
    shorter and longer than SHA-256's block."""
    hashes = ["0" * 64, "9f2c01ab33d4e5f6" * 4]
    with _connect(pg_url) as conn:
        for key in (b"k" * 16, bytes(range(32)), b"\xff" * 64, b"\x01" * 65, b"long" * 40):
            ipad, opad = pads(key)
            for hash_ in hashes:
                found = conn.execute(
                    "SELECT encode(sha256(%s::bytea || sha256(%s::bytea || "
                    "convert_to(%s, 'UTF8'))), 'hex')",
                    (opad, ipad, hash_),
                ).fetchone()[0]
                assert found == event_mac(key, hash_)


def test_the_helper_walks_its_share_on_the_server_too(
    bbc: PgBbc, store: str, split_taken: list[bool], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Split between two processes (integrity._Helper): the helper's walk of the later
    events is taken when clean; after an edit in its share, the findings are the
    same as one process's."""
    taken = split_taken
    paths = Paths(monkeypatch)
    clean = bbc.json("verify", "--full")
    assert clean["ok"] and clean["walked"] == clean["events"] and taken == [True]
    assert paths.ranges and all(r[2] for r in paths.ranges) and paths.python == 0
    with _connect(store) as conn:
        last = conn.execute("SELECT max(seq) FROM events").fetchone()[0]
        conn.execute("UPDATE events SET actor = '窗口乙' WHERE seq = %s", (last - 5,))
    taken.clear()
    split = bbc.json("verify", "--full", code=BROKEN)
    assert taken == [False]
    monkeypatch.setattr(integrity, "PARALLEL_FROM", 10**9)
    assert _both(bbc, monkeypatch) == split
