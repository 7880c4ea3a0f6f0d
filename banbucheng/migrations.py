"""Schema migrations: a list of named steps, each applied once and recorded in the same
transaction as its change (in the style of llm's migrations.py); DDL is transactional
on both SQLite and PostgreSQL, so a failed upgrade leaves the store as it was.

A new store gets the current schema from the models in one go and every step is
recorded as applied. An existing store gets only the steps it has not had. A step
is never renamed or edited once released: add a new one instead.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection, inspect, text

MIGRATIONS: list[tuple[str, Callable[[Connection], None]]] = []


def migration(fn: Callable[[Connection], None]) -> Callable[[Connection], None]:
    MIGRATIONS.append((fn.__name__, fn))
    return fn


@migration
def m001_initial(conn: Connection) -> None:
    """The schema of release 0.1.0 (stores made before migrations existed have it)."""
    raise RuntimeError("m001_initial is the baseline and never runs on its own")


def _applied(conn: Connection) -> set[str]:
    conn.execute(
        text(
            "CREATE TABLE IF NOT EXISTS schema_migrations "
            "(name VARCHAR(100) PRIMARY KEY, applied_at VARCHAR(40) NOT NULL)"
        )
    )
    return {row[0] for row in conn.execute(text("SELECT name FROM schema_migrations"))}


def _record(conn: Connection, name: str) -> None:
    conn.execute(
        text("INSERT INTO schema_migrations (name, applied_at) VALUES (:n, CURRENT_TIMESTAMP)"),
        {"n": name},
    )


def upgrade(conn: Connection) -> list[str]:
    """Bring the store to the current schema inside the caller's transaction (which
    holds the write lock). Returns the names of the steps applied now."""
    from sqlmodel import SQLModel

    from . import models  # noqa: F401  (registers the tables)

    applied = _applied(conn)
    if not inspect(conn).has_table("cases"):
        SQLModel.metadata.create_all(conn)
        for name, _ in MIGRATIONS:
            _record(conn, name)
        return []
    if not applied:
        _record(conn, "m001_initial")  # a 0.1.0 store, made before this table existed
        applied.add("m001_initial")
    done = []
    for name, step in MIGRATIONS:
        if name not in applied:
            step(conn)
            _record(conn, name)
            done.append(name)
    # Tables added by later releases that need no data step are created here.
    SQLModel.metadata.create_all(conn)
    return done


def schema_version(conn: Connection) -> str:
    """The last applied step's name, e.g. 'm001_initial'."""
    names = _applied(conn)
    ordered = [name for name, _ in MIGRATIONS if name in names]
    return ordered[-1] if ordered else "none"
