"""Calendar and policy history on a real PostgreSQL server: the notice imported as one
act, tampering found, and the m004 upgrade of a store made before it (skipped without
the server binaries, failing in CI like test_postgres)."""

from __future__ import annotations

import json
from pathlib import Path

import test_postgres
from test_postgres import PgBbc

bbc = test_postgres.bbc

EXAMPLE = Path(__file__).parents[1] / "data" / "calendar" / "2027-example.txt"


def _connect(url: str):
    import psycopg

    return psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)


def test_import_recompute_and_tampering(bbc: PgBbc, pg_url: str) -> None:
    number = bbc(
        "register", "--name", "王五", "--phone", "13800000000", "--matter", "春节前",
        "--category", "应办未办", now="2027-02-05 10:00",
    ).stdout.strip()  # fmt: skip
    result = bbc.json("calendar", "import", str(EXAMPLE))
    assert [c["number"] for c in result["recomputed"]] == [number]
    case = bbc.json("show", number)
    assert case["due_date"] == "2027-02-19" and case["provisional"] is False
    bbc("config", "set", "closing_time", "18:00")
    assert bbc.json("show", number)["due_at"] == "2027-02-19T18:00:00+08:00"
    assert [e["action"] for e in bbc.json("calendar", "log")] == ["calendar_import"]
    assert bbc.json("verify")["ok"] is True
    with _connect(pg_url) as conn:
        conn.execute("UPDATE calendar_days SET workday = true WHERE day = '2027-02-12'")
        conn.execute("UPDATE settings SET value = '17:00' WHERE key = 'closing_time'")
    kinds = sorted(p["kind"] for p in bbc.json("verify", code=5)["problems"])
    assert kinds == ["calendar", "settings"]


def test_m004_upgrades_a_store_made_before_it(bbc: PgBbc, pg_url: str) -> None:
    number = bbc(
        "register", "--name", "王五", "--phone", "13800000000", "--matter", "年底",
        "--category", "应办未办", now="2026-12-28 10:00",
    ).stdout.strip()  # fmt: skip
    bbc("close", number, "--result", "已办结", now="2026-12-30 10:00")
    # Back to the shape of m003, with an entry and a setting written as it wrote them.
    with _connect(pg_url) as conn:
        conn.execute("DELETE FROM schema_migrations WHERE name = 'm004_store_history'")
        conn.execute("COMMENT ON TABLE schema_migrations IS NULL")  # no release's stamp
        conn.execute("DROP TABLE calendar_years")
        conn.execute("ALTER TABLE cases DROP COLUMN closed_provisional")
        conn.execute("ALTER TABLE events ALTER COLUMN case_id SET NOT NULL")
        conn.execute(
            "INSERT INTO calendar_days VALUES ('2027-01-04', false, '元旦', '旧通知', '窗口甲', "
            "'2026-11-05 09:00')"
        )
        conn.execute("INSERT INTO settings VALUES ('limit.hard', '10')")
    report = bbc.json("verify")  # opening the store upgrades it
    assert report["ok"] is True and report["events"] == 4
    info = bbc.json("calendar", "show", "2027")
    assert info["coverage"] == "entered" and info["declared"]["source"] == "旧通知"
    with _connect(pg_url) as conn:
        closed_provisional = conn.execute("SELECT closed_provisional FROM cases").fetchone()[0]
        nullable = conn.execute(
            "SELECT is_nullable FROM information_schema.columns "
            "WHERE table_name = 'events' AND column_name = 'case_id'"
        ).fetchone()[0]
        adopted = conn.execute("SELECT detail FROM events WHERE case_id IS NULL").fetchone()[0]
    assert closed_provisional is True  # closed while 2027 was an estimate
    assert nullable == "YES"
    after = json.loads(adopted)["after"]
    assert after["settings"] == {"limit.hard": "10"} and list(after["years"]) == ["2027"]
    # From now on the case's deadline follows the calendar, and changes are recorded.
    bbc("calendar", "remove", "2027-01-04")
    assert bbc.json("show", number)["provisional"] is True
    assert bbc.json("verify")["ok"] is True
