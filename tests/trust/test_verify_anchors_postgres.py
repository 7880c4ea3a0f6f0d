"""As tests/trust/test_verify_anchors.py on a real PostgreSQL server: pass 2's
per-case anchor checks made in pass 3's query (trust/rows.py, FUSED) find exactly what
pass 2 apart found, in the same order, with or without the helper process."""

from __future__ import annotations

import pytest
import test_postgres
from test_postgres import PgBbc
from test_verify_anchors import _modes

bbc = test_postgres.bbc

PG_NOW = "2026-11-23 09:00"


def test_the_fused_anchor_checks_on_postgres_find_what_pass_2_found(
    bbc: PgBbc, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import psycopg

    numbers = []
    for i in range(6):
        number = bbc(
            "register", "--name", "霍某某", "--phone", f"1371234{i:04d}", "--matter",
            f"事项{i}", "--category", "应办未办", now=PG_NOW,
        ).stdout.strip()  # fmt: skip
        numbers.append(number)
        if i % 2:
            bbc("note", number, "进展", now=PG_NOW)
    assert bbc.json("verify", "--full")["ok"]
    url = pg_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url, autocommit=True) as conn:

        def case_id(number: str) -> int:
            row = conn.execute("SELECT id FROM cases WHERE number = %s", (number,)).fetchone()
            assert row is not None
            return row[0]

        ids = [case_id(n) for n in numbers]
        for statement in (
            f"UPDATE case_chain SET last_hash = 'x' WHERE case_id = {ids[5]}",
            f"DELETE FROM case_chain WHERE case_id = {ids[1]}",
            f"UPDATE case_chain SET events = events + 1 WHERE case_id = {ids[0]}",
            f"UPDATE case_chain SET number = 'BB1' WHERE case_id = {ids[4]}",
            f"DELETE FROM events WHERE id = (SELECT max(id) FROM events WHERE case_id = {ids[3]})",
            f"UPDATE cases SET phone_mask = '137****9999' WHERE id = {ids[2]}",
            f"UPDATE cases SET matter = '改' WHERE id = {ids[2]}",
            # a token edited, another moved from one case to another
            f"UPDATE cases SET citizen_enc = left(citizen_enc, -6) || 'AAAAAA' WHERE id = {ids[5]}",
            f"UPDATE cases SET phone_enc = (SELECT phone_enc FROM cases WHERE id = {ids[5]}) "
            f"WHERE id = {ids[4]}",
        ):
            conn.execute(statement)
        # a deleted case between the others (its dependants first: foreign keys)
        for table in ("case_terms", "citizen_keys", "case_helpers", "mechanism_cases"):
            conn.execute(f"DELETE FROM {table} WHERE case_id = {ids[3]}")
        conn.execute(f"UPDATE events SET case_id = NULL WHERE case_id = {ids[3]}")
        conn.execute(f"DELETE FROM cases WHERE id = {ids[3]}")
    plain = _modes(bbc, monkeypatch)
    found = [(p["kind"], p["case"]) for p in plain["problems"] if not p.get("seq")]
    assert found[:5] == [
        ("deleted", numbers[0]),
        ("case_deleted", numbers[3]),
        ("edited", numbers[4]),
        ("edited", numbers[5]),
        ("inserted", numbers[1]),
    ]
    assert ("state", numbers[2]) in found and ("personal", numbers[2]) in found
    assert ("personal", numbers[4]) in found and ("personal", numbers[5]) in found
