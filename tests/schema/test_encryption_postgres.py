"""Encrypted personal data on a real PostgreSQL server (skipped without the server
binaries, failing in CI like test_postgres): register, reveal, lookups, rotation, and
a store without its key."""

from __future__ import annotations

from pathlib import Path

import test_postgres
from test_postgres import PgBbc

bbc = test_postgres.bbc

NOW = "2021-04-06 14:20"


def _connect(url: str):
    import psycopg

    return psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)


def test_personal_data_is_encrypted_on_postgres(bbc: PgBbc, pg_url: str, tmp_path: Path) -> None:
    first = bbc(
        "register", "--name", "李海清", "--phone", "13900001111", "--id-number",
        "11010519491231002X", "--matter", "社保卡未年检", now=NOW,
    )  # fmt: skip
    number = first.stdout.strip()
    assert "已新建这个数据库的密钥" in first.stderr
    with _connect(pg_url) as conn:
        row = conn.execute("SELECT * FROM cases").fetchone()
    assert not any(v in str(row) for v in ("李海清", "13900001111", "11010519491231002X"))
    assert bbc.json("show", number, "--reveal")["phone"] == "13900001111"
    assert [r["number"] for r in bbc.json("list", "--phone", "13900001111")] == [number]
    assert "k2" in bbc("key", "rotate").stdout
    assert bbc.json("key", "status")["cases_by_key"] == {"k2": 1}
    assert bbc.json("show", number, "--reveal")["citizen"] == "李海清"
    assert bbc.json("verify")["ok"] is True
    bbc.monkeypatch.setenv("BBC_KEY_DIR", str(tmp_path / "none"))
    assert bbc.json("list")[0]["phone"] == "139****1111"
    assert bbc("show", number, "--reveal", code=6).stdout == ""
