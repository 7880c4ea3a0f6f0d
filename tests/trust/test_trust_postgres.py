"""The tamper-evident chain, its upgrade step, reveal and import on a real PostgreSQL
server (skipped without the server binaries, failing in CI like test_postgres)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import test_postgres
from test_postgres import PgBbc

bbc = test_postgres.bbc

WORKER = Path(__file__).parents[1] / "bbc_worker.py"
NOW = "2026-11-23 09:00"


def _connect(url: str):
    import psycopg

    return psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)


def _register(bbc: PgBbc, matter: str) -> str:
    return bbc(
        "register", "--name", "霍某某", "--phone", "13712341111", "--matter", matter,
        "--category", "应办未办", now=NOW,
    ).stdout.strip()  # fmt: skip


def test_windows_writing_at_once_keep_one_unbroken_chain(bbc: PgBbc, pg_url: str) -> None:
    shared = _register(bbc, "共同督办")
    env = dict(os.environ, BBC_NOW=NOW)
    env.pop("BBC_DEBUG", None)
    workers = [
        subprocess.Popen(
            [sys.executable, str(WORKER), "lifecycle", pg_url, f"窗口{w}", "1", shared],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for w in range(3)
    ]
    for w in workers:
        out, err = w.communicate(timeout=300)
        assert w.returncode == 0, (out, err)
    report = bbc.json("verify")
    assert report["ok"], report["problems"]
    with _connect(pg_url) as conn:
        seqs = [r[0] for r in conn.execute("SELECT seq FROM events ORDER BY id")]
    assert seqs == list(range(1, len(seqs) + 1))
    # 2 + 3 workers x 1 case x 6 events, and the one unit they share (added once).
    assert report["events"] == len(seqs) == 2 + 3 * 1 * 6 + 1


def test_tampering_on_postgres_is_named(bbc: PgBbc, pg_url: str) -> None:
    number = _register(bbc, "事项")
    bbc("note", number, "进展", now=NOW)
    with _connect(pg_url) as conn:
        conn.execute("UPDATE events SET actor = '别人' WHERE action = 'note'")
        conn.execute("UPDATE cases SET due_date = '2030-01-01'")
    problems = bbc.json("verify", code=5)["problems"]
    assert {(p["kind"], p["case"]) for p in problems} == {("edited", number), ("state", number)}
    from sqlalchemy.engine import make_url

    diagnosis = bbc.json("doctor", code=5)
    password = make_url(pg_url).password
    assert password and password not in diagnosis["store"]  # never print the password
    checks = {c["name"]: c for c in diagnosis["checks"]}
    assert checks["chain"]["status"] == "fail" and checks["schema"]["status"] == "ok"
    assert "PostgreSQL" in checks["integrity"]["message"]


def test_the_fast_paths_on_postgres_find_what_the_careful_ones_find(
    bbc: PgBbc, pg_url: str, monkeypatch
) -> None:
    """As tests/trust/test_verify_split.py on SQLite: batches walked at once or event by
    event, the cases shared with a helper process, the rows' JSON made in SQL or
    read by their columns, the same findings."""
    from banbucheng.trust import integrity, rows

    numbers = [_register(bbc, f"事项{i}") for i in range(4)]
    for number in numbers:
        bbc("note", number, "进展", now=NOW)
    assert bbc.json("verify", "--full")["ok"]
    with _connect(pg_url) as conn:
        conn.execute("UPDATE events SET actor = '别人' WHERE id = 4")
        conn.execute("UPDATE cases SET due_date = '2030-01-01' WHERE number = %s", (numbers[1],))
        conn.execute("UPDATE cases SET phone_mask = '137****9999' WHERE number = %s", (numbers[3],))
        conn.execute("UPDATE cases SET matter = '事项0 ' WHERE number = %s", (numbers[0],))
        conn.execute("UPDATE cases SET provisional = NOT provisional WHERE number = %s",
                     (numbers[2],))  # fmt: skip
        conn.execute("INSERT INTO units (name, contact, created_at) VALUES ('协办', '', now())")
        conn.execute(
            "INSERT INTO case_helpers SELECT c.id, u.id FROM cases c, units u "
            "WHERE c.number = %s AND u.name = '协办'",
            (numbers[3],),
        )
    monkeypatch.setattr(rows, "FAST", False)  # every row read by its columns
    plain = bbc.json("verify", "--full", code=5)
    kinds = {(p["kind"], p["case"]) for p in plain["problems"]}
    assert {("state", numbers[1]), ("personal", numbers[3])} <= kinds
    assert {("state", numbers[0]), ("state", numbers[2]), ("state", numbers[3])} <= kinds
    monkeypatch.setattr(rows, "FAST", True)  # the rows' JSON made by PostgreSQL
    assert bbc.json("verify", "--full", code=5) == plain
    monkeypatch.setattr(integrity, "BATCH", 2)
    assert bbc.json("verify", "--full", code=5) == plain
    monkeypatch.setattr(integrity, "PARALLEL_FROM", 0)
    monkeypatch.setattr(integrity, "HELPER_START", 0)
    shares: list[int] = []
    result = integrity._Helper.result

    def seen(helper: integrity._Helper) -> dict | None:
        found = result(helper)
        assert found is not None and found["ok"] and found["head"] == helper.head
        shares.append(helper.high)
        return found

    monkeypatch.setattr(integrity._Helper, "result", seen)
    assert bbc.json("verify", "--full", code=5) == plain
    assert shares  # the helper did its share


def test_the_chain_step_upgrades_a_postgres_store(bbc: PgBbc, pg_url: str) -> None:
    """Turn a store back into what it was before m002 (no chain columns or anchors, the
    step not recorded), then let the upgrade seal its history."""
    numbers = [_register(bbc, f"事项{i}") for i in range(3)]
    bbc("note", numbers[0], "进展", now=NOW)  # (no dispatch: no unit, no store-level event)
    with _connect(pg_url) as conn:
        conn.execute("ALTER TABLE events DROP COLUMN seq, DROP COLUMN prev_hash, DROP COLUMN hash")
        conn.execute("DROP TABLE chain_head")
        conn.execute("DROP TABLE case_chain")
        conn.execute("DELETE FROM schema_migrations WHERE name = 'm002_event_chain'")
        conn.execute("COMMENT ON TABLE schema_migrations IS NULL")  # no release's stamp
    report = bbc.json("verify")
    assert report["ok"] and report["events"] == 7 and report["cases"] == 3
    bbc("note", numbers[1], "升级后", now=NOW)
    assert bbc.json("verify")["events"] == 8


def test_reveal_and_import_on_postgres(bbc: PgBbc, pg_url: str, tmp_path, monkeypatch) -> None:
    from banbucheng.core.errors import WrongState
    from banbucheng.domain import lifecycle

    number = _register(bbc, "事项")
    shown = bbc.json("show", number, "--reveal")
    assert shown["citizen"] == "霍某某" and shown["events"][-1]["action"] == "reveal"
    real_close = lifecycle.close

    def close(ctx, case, **kw):
        if case.matter == "拒绝办结":
            raise WrongState("模拟：不能办结")
        return real_close(ctx, case, **kw)

    monkeypatch.setattr(lifecycle, "close", close)
    sheet = tmp_path / "a.csv"
    sheet.write_text(
        "姓名,电话,反映事项,受理时间,分类,办结时间,办理结果\n"
        "王五,13800000000,拒绝办结,2026-11-20 09:00,应办未办,2026-11-21 10:00,结果\n"
        "赵六,13800000001,正常,2026-11-20 10:00,应办未办,2026-11-21 10:00,结果\n",
        encoding="gb18030",
    )
    out = bbc("import", str(sheet), "--skip-bad", now=NOW)
    assert out.stdout.split() == ["BB20261120-001"] and "第 2 行：模拟：不能办结" in out.stderr
    assert bbc.json("verify")["ok"]


# Texts no column written by the tool holds, each needing its own escape in JSON.
AWKWARD = ['a"b\\c', "\n\r\t\b\f", "\x01\x1f\x7f", "\u2028李海清😀", "", " ", "ä/é"]


def test_the_rows_json_made_by_postgres_is_the_canonical_text(bbc: PgBbc, pg_url: str) -> None:
    """Pass 3 on PostgreSQL hashes a case's canonical form made in SQL (trust/rows.py
    _state_json_pg): for every kind of column (text, number, flag, time, date, null,
    the joined names, helpers in code-point order) it is the very text sealed.digest
    hashes of the row read by its columns."""
    from banbucheng.schema import sealed
    from banbucheng.store import Store
    from banbucheng.trust import integrity, rows

    numbers = [_register(bbc, f"事项{i}") for i in range(len(AWKWARD) + 1)]
    bbc("dispatch", numbers[0], "--unit", "市场监管局", now=NOW)
    with _connect(pg_url) as conn:
        ids = [r[0] for r in conn.execute("SELECT id FROM cases ORDER BY id")]
        names = ["Zeta", "alpha", "李局", "a\tb", 'q"\\', "Äpfel", "😀组", "z"]
        for name in names:
            conn.execute("INSERT INTO units (name, contact, created_at) VALUES (%s, '', now())",
                         (name,))  # fmt: skip
        conn.execute(
            "INSERT INTO case_helpers SELECT %s, id FROM units WHERE name = ANY(%s)",
            (ids[1], names),
        )
        for case_id, text in zip(ids[1:], AWKWARD, strict=True):
            conn.execute(
                "UPDATE cases SET matter = %s, result = %s, limit_days = %s, on_time = %s, "
                "provisional = %s, due_date = %s, closed_at = %s, repeat_of_id = %s, "
                "unit_id = (SELECT id FROM units WHERE name = %s) WHERE id = %s",
                (text, text * 3, -7 if case_id % 2 else 2**31 - 1,
                 None if case_id % 3 == 0 else case_id % 2 == 1, case_id % 2 == 0,
                 "0999-01-02", "2026-02-03 04:05:06.000007", ids[0],
                 names[case_id % len(names)], case_id),
            )  # fmt: skip
    store = Store(pg_url)
    try:
        with store.session(write=False) as session:
            sql = integrity._Sql(session)
            helpers = rows._helpers(sql, [(ids[0],), (ids[-1],)])
            fast = {
                case_id: rows._state(bytes(head), helpers.get(case_id, b"[]"), bytes(repeat))
                for case_id, head, repeat in sql.all(
                    f"SELECT c.id, {rows._state_json_pg()} " + _FROM
                )
            }
            careful = sql.all(
                "SELECT c.id, "
                + ", ".join(sql.sealed(f"c.{n}", k) for n, k in sealed.COLUMNS)
                + f", u.name, (SELECT {sql.names('h2.name')} FROM case_helpers h JOIN units h2 "
                "ON h2.id = h.unit_id WHERE h.case_id = c.id), r.number " + _FROM
            )
    finally:
        store.close()
    assert len(careful) == len(ids)
    width = len(sealed.COLUMNS)
    for row in careful:
        names_of = row[2 + width]
        helpers = names_of.split("\x1f") if names_of else ()
        state = sealed.canonical(row[1 : 1 + width], row[1 + width], helpers, row[3 + width])
        text = sealed._compact_text([sealed.FORMAT, *state]).encode("utf-8")
        assert fast[row[0]] == text


_FROM = (
    "FROM cases c LEFT JOIN units u ON u.id = c.unit_id "
    "LEFT JOIN cases r ON r.id = c.repeat_of_id ORDER BY c.id"
)
