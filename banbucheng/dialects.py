"""How each database is driven, set up on the engine store.py makes: SQLite's
pragmas, WAL and BEGIN IMMEDIATE for writers; PostgreSQL's snapshot for readers, the
advisory lock writers queue on, and SQLAlchemy's first-connect probes answered from
what psycopg already holds. A writer waiting for the lock says so (_Wait).

`store` below is the store.Store being opened (its `waiting` callback, `writer()`
and `doing`), not imported here: store.py imports this module."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from banbucheng.core.errors import StoreError

BUSY_TIMEOUT_S = 30
# PostgreSQL: the advisory lock every writer takes first (an arbitrary, fixed key).
PG_WRITE_LOCK = 0x62626301
# How long a writer waits for another one to finish (a long import, say) before it
# gives up; it says that it waits, and Ctrl-C stops it at any time. Readers never wait.
WRITE_WAIT_S = 30 * 60
# session(write=IF_FREE): write only if no other writer holds the lock right now
# (bookkeeping a reader may skip, such as verify recording how far it got).
IF_FREE = "if_free"


def sqlite_setup(engine: Engine, store: Any) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: object, record: object) -> None:
        # Let us emit BEGIN ourselves (pysqlite's own BEGIN is deferred and late).
        dbapi_connection.isolation_level = None  # type: ignore[attr-defined]
        cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_S * 1000}")
        _enable_wal(cursor)
        cursor.execute("PRAGMA foreign_keys = ON")
        # Deleted or overwritten content (an old token, a dropped clear value) is
        # zeroed rather than left in free space of the file.
        cursor.execute("PRAGMA secure_delete = ON")
        # ANALYZE and PRAGMA optimize sample at most this many rows per index, so
        # keeping statistics stays cheap at a million cases.
        cursor.execute("PRAGMA analysis_limit = 1000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(conn: Any) -> None:
        # A writer takes the lock at BEGIN, so two windows never both read the same
        # counter or case and then collide; readers stay deferred (and, in WAL mode,
        # never wait for a writer).
        write = conn.get_execution_options().get("bbc_write", False)
        if not write:
            conn.exec_driver_sql("BEGIN")
            return
        # Wait for another writer a second at a time, saying so, up to WRITE_WAIT_S;
        # IF_FREE does not wait at all (busy: the DBAPIError becomes a StoreError).
        conn.exec_driver_sql("PRAGMA busy_timeout = " + ("0" if write == IF_FREE else "1000"))
        try:
            if write == IF_FREE:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
                return
            wait = _Wait(store)
            while True:
                try:
                    conn.exec_driver_sql("BEGIN IMMEDIATE")
                    return
                except DBAPIError as exc:
                    if "locked" not in str(exc.orig) and "busy" not in str(exc.orig):
                        raise
                wait.another_second()
        finally:
            conn.exec_driver_sql(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_S * 1000}")


class _Wait:
    """A writer waiting for the write lock: told to the store's `waiting` callback
    (after a second, then every few seconds) with what the other writer is doing."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.started = time.monotonic()
        self.told = 0.0

    def another_second(self, pause: float = 0.0) -> None:
        if pause:
            time.sleep(pause)
        waited = time.monotonic() - self.started
        if waited > WRITE_WAIT_S:
            raise StoreError(
                f"数据库正忙：另一项写入 {WRITE_WAIT_S // 60} 分钟仍未结束，操作未保存，请稍后重试"
            )
        if self.store.waiting is None or waited < 1 or (self.told and waited - self.told < 5):
            return
        self.told = waited
        self.store.waiting(waited, self.store.writer())


def with_driver(url: str) -> str:
    """A plain postgresql:// (or postgres://) URL means psycopg 3, so users need not
    know SQLAlchemy's driver names."""
    for scheme in ("postgresql://", "postgres://"):
        if url.startswith(scheme):
            return "postgresql+psycopg://" + url.removeprefix(scheme)
    return url


def postgres_setup(engine: Engine, store: Any) -> None:
    # psycopg (3), which plain postgresql:// URLs use: what it already knows saves
    # round trips. Another driver named in the URL gets SQLAlchemy's own ways.
    psycopg3 = engine.dialect.driver == "psycopg"
    if psycopg3:
        from psycopg import IsolationLevel

        _answer_probes(engine.dialect)

    @event.listens_for(engine, "begin")
    def on_begin(conn: Any) -> None:
        write = conn.get_execution_options().get("bbc_write")
        # A reader sees one snapshot, as on SQLite, so a report's counts agree.
        if psycopg3:
            raw = conn.connection.dbapi_connection
            if not raw.autocommit:
                # psycopg begins the transaction with the first statement: the level
                # goes into that BEGIN (SET TRANSACTION would be one more round trip);
                # every other transaction has the server's default.
                raw.isolation_level = IsolationLevel.REPEATABLE_READ if write is False else None
        elif write is False:
            conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        if write:
            # What BEGIN IMMEDIATE gives on SQLite: writers queue on one lock first, so
            # two windows never both read and then collide (the same new unit or
            # setting, the same provisional case recomputed twice, the schema). Tried
            # without blocking, so a writer waiting for another can say so; the lock
            # timeout of the statements after it is set in the same round trip.
            lock = f"SELECT pg_try_advisory_xact_lock({PG_WRITE_LOCK})"
            first = f"{lock}, set_config('lock_timeout', '{BUSY_TIMEOUT_S}s', true)"
            got = conn.exec_driver_sql(first).scalar()
            if write == IF_FREE and not got:
                raise StoreError("数据库正忙：另一项写入正在进行")
            wait = _Wait(store)
            while not got:
                wait.another_second(pause=0.2)
                got = conn.exec_driver_sql(lock).scalar()
            if store.doing:  # what other writers waiting for this one are told
                conn.exec_driver_sql(f"SET LOCAL application_name = 'bbc:{store.doing}'")


def _answer_probes(dialect: Any) -> None:
    """SQLAlchemy's first connection to PostgreSQL asks the server, one round trip
    each, for its version, the current schema, the default isolation level and
    standard_conforming_strings, and looks up the hstore type (in a savepoint), all in
    a transaction of their own: nine round trips before bbc's first statement, in every
    process. The version and standard_conforming_strings the server already sent as
    the connection was made (libpq keeps them); the schema and the isolation level
    are read together in one statement, outside a transaction; hstore is never used
    (use_native_hstore=False where the engine is made). Same answers, one round trip."""
    known: dict[str, str] = {}

    def server_version(connection: Any) -> tuple[int, ...]:
        number = connection.connection.dbapi_connection.info.server_version
        # 150010 is 15.10; before version 10, 90624 was 9.6.24.
        if number >= 100000:
            return (number // 10000, number % 10000)
        return (number // 10000, number // 100 % 100, number % 100)

    def default_schema(connection: Any) -> str:
        raw = connection.connection.dbapi_connection
        autocommit, raw.autocommit = raw.autocommit, True
        try:
            schema, isolation = raw.execute(
                "SELECT current_schema(), current_setting('transaction_isolation')"
            ).fetchone()
        finally:
            raw.autocommit = autocommit
        known["isolation"] = isolation.upper()
        return schema

    def default_isolation(dbapi_connection: Any) -> str:
        return known.get("isolation") or original_isolation(dbapi_connection)

    def backslash_escapes(connection: Any) -> None:
        info = connection.connection.dbapi_connection.info
        dialect._backslash_escapes = info.parameter_status("standard_conforming_strings") == "off"

    original_isolation = dialect.get_default_isolation_level
    dialect._get_server_version_info = server_version
    dialect._get_default_schema_name = default_schema
    dialect.get_default_isolation_level = default_isolation
    dialect._set_backslash_escapes = backslash_escapes


def _enable_wal(cursor: Any) -> None:
    """WAL lets windows read while one writes. Switching a new file into WAL needs an
    exclusive lock and SQLite does not wait for it, so retry for the busy timeout."""
    import sqlite3

    if cursor.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal":
        return
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


@contextmanager
def time_limit(conn: Any, seconds: float) -> Iterator[None]:
    """Statements on `conn` stopped (an error) once `seconds` have passed: on SQLite all
    of them together (a progress handler), on PostgreSQL each (statement_timeout, for
    the transaction only). For a look that must not keep the user waiting."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SET LOCAL statement_timeout = {max(1, int(seconds * 1000))}")
        yield
        return
    raw = conn.connection.dbapi_connection
    deadline = time.monotonic() + seconds
    raw.set_progress_handler(lambda: time.monotonic() > deadline, 10_000)
    try:
        yield
    finally:
        raw.set_progress_handler(None, 0)
