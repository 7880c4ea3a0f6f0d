"""Schema migrations: a list of named steps, each applied once and recorded in the same
transaction as its change (in the style of llm's migrations.py); DDL is transactional
on both SQLite and PostgreSQL, so a failed upgrade leaves the store as it was.

A new store gets the current schema from the models in one go and every step is
recorded as applied. An existing store gets only the steps it has not had. A step
is never renamed or edited once released: add a new one instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

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

    from banbucheng.schema import models  # noqa: F401  (registers the tables)

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
    if done:
        conn.exec_driver_sql("ANALYZE")  # the planner's statistics for the new shape
    return done


def is_current(conn: Connection) -> bool:
    """Whether every step is applied and every table exists: then there is nothing to
    upgrade, which every command can find out by reading, without the write lock."""
    from sqlmodel import SQLModel

    from banbucheng.schema import models  # noqa: F401  (registers the tables)

    names = set(inspect(conn).get_table_names())
    if "schema_migrations" not in names or not set(SQLModel.metadata.tables) <= names:
        return False
    applied = {row[0] for row in conn.execute(text("SELECT name FROM schema_migrations"))}
    return all(name in applied for name, _ in MIGRATIONS)


def schema_version(conn: Connection) -> str:
    """The last applied step's name, e.g. 'm001_initial'."""
    names = _applied(conn)
    ordered = [name for name, _ in MIGRATIONS if name in names]
    return ordered[-1] if ordered else "none"


@migration
def m002_event_chain(conn: Connection) -> None:
    """The tamper-evident history (integrity.py): events get seq, prev_hash and hash,
    and the anchors chain_head and case_chain are made. Existing events are sealed in
    the order they were written, so an upgraded store verifies clean (the history
    found at the upgrade is trusted as it is)."""
    from sqlalchemy import select

    from banbucheng.schema.chain import GENESIS, event_hash
    from banbucheng.schema.models import Case, CaseChain, ChainHead, Event

    for column in ("seq INTEGER", "prev_hash VARCHAR", "hash VARCHAR"):
        conn.execute(text(f"ALTER TABLE events ADD COLUMN {column}"))
    conn.execute(text("CREATE UNIQUE INDEX ix_events_seq ON events (seq)"))
    head_table, case_table = ChainHead.__table__, CaseChain.__table__  # type: ignore[attr-defined]
    head_table.create(conn, checkfirst=True)
    case_table.create(conn, checkfirst=True)

    events = Event.__table__  # type: ignore[attr-defined]
    numbers = dict(conn.execute(select(Case.id, Case.number)).all())  # type: ignore[call-overload]
    columns = ("id", "case_id", "at", "actor", "action", "detail")
    rows = conn.execute(select(*(events.c[n] for n in columns)).order_by(events.c.id)).all()
    seq, prev = 0, GENESIS
    anchors: dict[int, dict[str, object]] = {}
    for row in rows:
        seq += 1
        number = numbers.get(row.case_id, "")
        digest = event_hash(
            seq=seq,
            number=number,
            at=row.at,
            actor=row.actor,
            action=row.action,
            detail=row.detail,
            prev_hash=prev,
        )
        conn.execute(
            events.update()
            .where(events.c.id == row.id)
            .values(seq=seq, prev_hash=prev, hash=digest)
        )
        count = int(anchors.get(row.case_id, {}).get("events", 0))  # type: ignore[call-overload]
        anchors[row.case_id] = {
            "case_id": row.case_id,
            "number": number,
            "events": count + 1,
            "last_seq": seq,
            "last_hash": digest,
        }
        prev = digest
    conn.execute(head_table.insert().values(id=1, seq=seq, hash=prev))
    if anchors:
        conn.execute(case_table.insert(), list(anchors.values()))


@migration
def m003_knowledge(conn: Connection) -> None:
    """Mechanisms, reply templates, the similar-case index and repeats (issue 5).
    Existing cases are indexed for search, their citizens hashed and their repeats
    flagged, and each free-text mechanism of 0.1 becomes a mechanism record."""
    from banbucheng.schema import citizens, index
    from banbucheng.schema.models import (
        CaseTerms,
        CitizenKey,
        Mechanism,
        MechanismCase,
        ReplyTemplate,
        SearchTerm,
    )

    conn.execute(text("ALTER TABLE cases ADD COLUMN repeat_of_id INTEGER REFERENCES cases (id)"))
    conn.execute(text("CREATE INDEX ix_cases_repeat_of_id ON cases (repeat_of_id)"))
    for model in (Mechanism, MechanismCase, ReplyTemplate, CaseTerms, SearchTerm, CitizenKey):
        model.__table__.create(conn, checkfirst=True)  # type: ignore[attr-defined]
    _adopt_legacy(conn)
    index.rebuild(conn)
    citizens.backfill(conn)


LEGACY_ACTOR = "升级整理"  # created_by of mechanisms made from 0.1 free-text mechanisms


def _adopt_legacy(conn: Any) -> int:
    """Migration: make a mechanism of each distinct free-text `cases.mechanism` written
    before mechanisms were records, linked to the earliest closed case that gave it
    (source) and to later ones with the same text (served). Returns how many."""
    from sqlalchemy import insert, select

    from banbucheng.core.validate import MECHANISM_NAME_MAX, mechanism_name
    from banbucheng.schema.models import Case, Mechanism, MechanismCase

    cases = Case.__table__  # type: ignore[attr-defined]
    mechanisms = Mechanism.__table__  # type: ignore[attr-defined]
    links = MechanismCase.__table__  # type: ignore[attr-defined]
    rows = conn.execute(
        select(cases.c.id, cases.c.mechanism, cases.c.closed_at, cases.c.registered_by)
        .where(cases.c.mechanism.is_not(None), cases.c.mechanism != "")
        .order_by(cases.c.closed_at, cases.c.id)
    ).all()
    made: dict[str, int] = {}
    names: set[str] = set()
    for case_id, text_value, closed_at, _by in rows:
        text_value = text_value.strip()
        if not text_value:
            continue
        role = "served"
        if text_value not in made:
            name = mechanism_name(text_value)
            base, n = name, 1
            while name in names:
                n += 1
                name = f"{base[: MECHANISM_NAME_MAX - 5]}（{n}）"
            names.add(name)
            result = conn.execute(
                insert(mechanisms).values(
                    name=name,
                    check_text="",
                    decider="",
                    issued="",
                    description=text_value,
                    created_at=closed_at,
                    created_by=LEGACY_ACTOR,
                )
            )
            made[text_value] = result.inserted_primary_key[0]
            role = "source"
        conn.execute(
            insert(links).values(
                case_id=case_id,
                mechanism_id=made[text_value],
                role=role,
                linked_at=closed_at,
                linked_by=LEGACY_ACTOR,
            )
        )
    return len(made)


# ---------------------------------------------------------------- reply templates

# What a template may leave to the case; never personal data (names, phones).
