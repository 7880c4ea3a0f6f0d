"""Opening the store: a current store is opened with one read and no lock, so a
reader is never held up by a writer (a long import, say)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy.exc import DBAPIError

BBC = [sys.executable, "-c", "from banbucheng.cli import run; run()"]


def test_a_reader_opens_the_store_while_a_writer_holds_the_lock(bbc, isolated: Path) -> None:
    bbc("register", "--name", "张三", "--phone", "13800000000", "--matter", "事项")
    writer = sqlite3.connect(isolated, isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")  # what an import holds for its whole run
        writer.execute("UPDATE settings SET value = value WHERE 0")
        started = time.monotonic()
        listed = subprocess.run(
            [*BBC, "list", "--json"], capture_output=True, text=True, timeout=60
        )
        waited = time.monotonic() - started
    finally:
        writer.rollback()
        writer.close()
    assert listed.returncode == 0, listed.stderr
    assert '"number"' in listed.stdout
    assert waited < 20  # the busy timeout is 30 s: nothing waited for the lock


def test_a_store_missing_a_step_is_not_current(bbc, isolated: Path) -> None:
    from sqlalchemy import create_engine

    from banbucheng.schema.migrations import MIGRATIONS, is_current

    bbc("list")  # made and upgraded
    engine = create_engine(f"sqlite:///{isolated}")
    try:
        with engine.connect() as conn, conn.begin():
            assert is_current(conn)
            last = MIGRATIONS[-1][0]
            conn.exec_driver_sql("DELETE FROM schema_migrations WHERE name = ?", (last,))
            assert not is_current(conn)
            conn.exec_driver_sql("DROP TABLE schema_migrations")
            assert not is_current(conn)  # a 0.1.0 store had no such table
    finally:
        engine.dispose()


def test_a_current_store_is_known_by_one_number(bbc, isolated: Path) -> None:
    """The store carries this release's schema stamp (user_version); a store without
    it is checked in full and stamped, one missing a step is upgraded first."""
    from banbucheng.schema.migrations import MIGRATIONS, stamp

    def user_version() -> int:
        with sqlite3.connect(isolated) as con:
            return con.execute("PRAGMA user_version").fetchone()[0]

    bbc("list")  # made and upgraded
    assert user_version() == stamp() != 0
    with sqlite3.connect(isolated) as con:
        con.execute("PRAGMA user_version = 0")  # as a store of an earlier release
    bbc("list")
    assert user_version() == stamp()
    last = MIGRATIONS[-1][0]
    with sqlite3.connect(isolated) as con:
        con.execute("DELETE FROM schema_migrations WHERE name = ?", (last,))
        con.execute("PRAGMA user_version = 0")
    bbc("list")
    with sqlite3.connect(isolated) as con:
        names = {r[0] for r in con.execute("SELECT name FROM schema_migrations")}
    assert last in names and user_version() == stamp()


# A query that runs for minutes unless stopped.
_ENDLESS = (
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000000000) "
    "SELECT count(*) FROM c"
)


def _stopped_within(url: str, seconds: float) -> float:
    """How long the endless query ran under dialects.time_limit(seconds) before it was
    stopped (it must be)."""
    from banbucheng.dialects import time_limit
    from banbucheng.store import Store

    store = Store(url)
    try:
        with store.engine.connect() as conn, conn.begin():
            started = time.monotonic()
            with pytest.raises(DBAPIError), time_limit(conn, seconds):
                conn.exec_driver_sql(_ENDLESS).all()
            return time.monotonic() - started
    finally:
        store.close()


def test_a_look_at_the_store_is_stopped_in_time(bbc, isolated: Path) -> None:
    """What a failed command does before it says so (store.Store.unreadable: at 10^6
    cases a full look takes 20–30 s) never keeps the user waiting past its limit."""
    bbc("units", "add", "协调科")
    assert _stopped_within(f"sqlite:///{isolated}", 0.3) < 3
