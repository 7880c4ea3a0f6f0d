"""Schema migrations: a list of named steps, each applied once and recorded in the same
transaction as its change (in the style of llm's migrations.py); DDL is transactional
on both SQLite and PostgreSQL, so a failed upgrade leaves the store as it was.

A new store gets the current schema from the models in one go and every step is
recorded as applied. An existing store gets only the steps it has not had. A step
is never renamed or edited once released: add a new one instead.
"""

from __future__ import annotations

import secrets
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

    from banbucheng.schema import models, totals  # noqa: F401  (registers the tables)

    models.define_all()
    applied = _applied(conn)
    if not inspect(conn).has_table("cases"):
        from banbucheng.schema.personal import establish

        SQLModel.metadata.create_all(conn)
        for name, _ in MIGRATIONS:
            _record(conn, name)
        establish(conn, make_key=False)  # its id; the key comes with the first case
        write_stamp(conn)
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
    write_stamp(conn)
    return done


def stamp() -> int:
    """One number for the schema this release makes: a checksum of the steps' names and
    the tables' names (a positive 31-bit integer, so SQLite's user_version can hold it).
    A store carrying it is current; any other number (0 on a store never stamped) means
    the full check (is_current) and, if that finds work, an upgrade."""
    import zlib

    from banbucheng.schema import models, totals

    # The tables' names as listed, not as defined so far (models_extra.py's are defined
    # only when used): the same number in every process.
    tables = [*models.TABLE_NAMES, totals.running_totals.name]
    names = [name for name, _ in MIGRATIONS] + sorted(tables)
    return zlib.crc32("\n".join(names).encode()) & 0x7FFFFFFF


def read_stamp(conn: Connection) -> int | None:
    """The stamp the store carries, read with one statement and no write lock: SQLite's
    user_version in the file header; on PostgreSQL the comment on schema_migrations
    (NULL, without an error, when that table does not exist)."""
    if conn.dialect.name == "sqlite":
        return int(conn.exec_driver_sql("PRAGMA user_version").scalar() or 0)
    value = conn.exec_driver_sql(
        "SELECT obj_description(to_regclass('schema_migrations'), 'pg_class')"
    ).scalar()
    return int(value) if value and str(value).isdigit() else None


def write_stamp(conn: Connection) -> None:
    """Mark the store current, in the upgrade's transaction (both writes are
    transactional, so a failed upgrade leaves the old number)."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(f"PRAGMA user_version = {stamp()}")
    else:
        conn.exec_driver_sql(f"COMMENT ON TABLE schema_migrations IS '{stamp()}'")


def is_current(conn: Connection) -> bool:
    """Whether every step is applied and every table exists: then there is nothing to
    upgrade. The full check, for a store whose stamp is not this release's; stores
    that carry it are known current from the stamp alone (read_stamp)."""
    from sqlmodel import SQLModel

    from banbucheng.schema import models, totals  # noqa: F401  (registers the tables)

    models.define_all()
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
    # The citizens' hashes need one key for the run only: m006 rehashes them with the
    # keyring's lookup key (before m006 this was a secret kept in the settings table).
    citizens.backfill(conn, secrets.token_bytes(32))


@migration
def m004_store_history(conn: Connection) -> None:
    """Calendar and policy changes in the history (schema/history.py): an event may
    belong to no case (events.case_id becomes nullable; SQLite rebuilds the table),
    a case remembers whether it was closed on a provisional deadline, and
    calendar_years records the years whose notice the center declared complete.

    What the store holds keeps its meaning: a year with an entered holiday counted as
    covered, so it is declared complete here; a closed case that was provisional when
    it closed is found by replaying its events. The calendar entries, covered years
    and policy settings found at the upgrade are recorded in one store-level event,
    trusted as they are (as m002 trusted the events it sealed), so that verify checks
    them from now on."""
    if conn.dialect.name == "sqlite":
        _rebuild_events_sqlite(conn)
    else:
        conn.execute(text("ALTER TABLE events ALTER COLUMN case_id DROP NOT NULL"))
    false = "0" if conn.dialect.name == "sqlite" else "false"
    conn.execute(
        text(f"ALTER TABLE cases ADD COLUMN closed_provisional BOOLEAN NOT NULL DEFAULT {false}")
    )
    conn.execute(text("CREATE INDEX ix_cases_closed_provisional ON cases (closed_provisional)"))
    _closed_provisional(conn)
    _declare_entered_years(conn)
    _adopt_store_state(conn)


@migration
def m005_reply_template_basis(conn: Connection) -> None:
    """Reply templates say what the 告知书 cites (basis) and offers (alternative)
    for such matters (issue 11). A store that got its reply_templates table from a
    newer m003 already has the columns."""
    have = {c["name"] for c in inspect(conn).get_columns("reply_templates")}
    for column in ("basis", "alternative"):
        if column not in have:
            conn.execute(
                text(f"ALTER TABLE reply_templates ADD COLUMN {column} TEXT NOT NULL DEFAULT ''")
            )


PERSONAL_STEP = "m006_personal_encrypted"
_LEGACY_PERSONAL = ("citizen_name", "phone", "id_number")


@migration
def m006_personal_encrypted(conn: Connection) -> None:
    """Names, phones and ID numbers encrypted at rest (schema/personal.py). The store
    gets its id and its key (made and written to the key folder when none is found),
    every case's clear values become AES-GCM tokens plus masked forms, the citizens'
    hashes are recomputed with the keyring's lookup key (the secret kept in the
    settings table goes), and the clear columns are dropped. SQLite keeps deleted
    content in free pages: secure_delete zeroes it here, and Store compacts the file
    (VACUUM) once this step is committed. PostgreSQL keeps the old row versions until
    `VACUUM FULL cases` (docs/security.md)."""
    from sqlalchemy import column, delete, select, table

    from banbucheng.schema import citizens, personal
    from banbucheng.schema.models import CitizenKey, Setting

    sqlite = conn.dialect.name == "sqlite"
    if sqlite:
        conn.exec_driver_sql("PRAGMA secure_delete = ON")
    _, ring, _ = personal.establish(conn)
    for name in personal.PERSONAL_COLUMNS:
        nullable = name.startswith("id_")
        kind = "VARCHAR" if nullable else "VARCHAR NOT NULL DEFAULT ''"
        conn.execute(text(f"ALTER TABLE cases ADD COLUMN {name} {kind}"))
    legacy = table("cases", *(column(c) for c in ("id", "number", *_LEGACY_PERSONAL)))
    keys_table = CitizenKey.__table__  # type: ignore[attr-defined]
    conn.execute(delete(keys_table))
    rows = conn.execute(select(*legacy.c).order_by(legacy.c.id)).all()
    for i in range(0, len(rows), 500):
        key_rows = []
        for cid, number, name, phone, id_number in rows[i : i + 500]:
            values = personal.personal_columns(number, name, phone, id_number, ring)
            conn.execute(text(_update_personal()), {"id": cid, **values})
            found = citizens.lookup_keys(ring, phone=phone, id_number=id_number, name=name)
            key_rows += [{"key": k, "case_id": cid} for k in dict.fromkeys(found)]
        if key_rows:
            conn.execute(keys_table.insert(), key_rows)
    settings = Setting.__table__  # type: ignore[attr-defined]
    conn.execute(delete(settings).where(settings.c.key == citizens.SECRET_SETTING))
    for name in _LEGACY_PERSONAL:
        conn.execute(text(f"ALTER TABLE cases DROP COLUMN {name}"))


def _update_personal() -> str:
    from banbucheng.schema.personal import PERSONAL_COLUMNS

    values = ", ".join(f"{c} = :{c}" for c in PERSONAL_COLUMNS)
    return f"UPDATE cases SET {values} WHERE id = :id"


@migration
def m007_sealed_record(conn: Connection) -> None:
    """The whole record in the history (schema/sealed.py): events get a keyed MAC
    column and an index by case in chain order, `chain_verified` remembers how far
    verify got, and the state older releases kept outside the history is sealed as
    found (trusted as it is, as m002 and m004 did): each case gets a `case_adopt`
    event carrying the digest of its row and the fields its events did not record
    (a receipt time before the registration, a repeat found by m003...), and one
    store-level event records the units and any settings not yet in the history."""
    from banbucheng.schema.models import ChainVerified

    have = {c["name"] for c in inspect(conn).get_columns("events")}
    if "mac" not in have:
        conn.execute(text("ALTER TABLE events ADD COLUMN mac VARCHAR"))
    indexes = {i["name"] for i in inspect(conn).get_indexes("events")}
    if "ix_events_case_seq" not in indexes:
        conn.execute(text("CREATE INDEX ix_events_case_seq ON events (case_id, seq)"))
    ChainVerified.__table__.create(conn, checkfirst=True)  # type: ignore[attr-defined]
    from banbucheng.schema.adopt import adopt_cases, adopt_store

    adopt_cases(conn, LEGACY_ACTOR)
    adopt_store(conn, LEGACY_ACTOR)


@migration
def m008_running_totals(conn: Connection) -> None:
    """Closures and 回访 per day (schema/totals.py), counted from the events so far, so
    the daily roll-up's running totals no longer read every closure and visit."""
    from banbucheng.schema import totals

    totals.running_totals.create(conn, checkfirst=True)
    totals.rebuild(conn)


@migration
def m009_events_by_case_seq(conn: Connection) -> None:
    """ix_events_case_id goes: ix_events_case_seq (case_id, seq), which m007 made,
    begins with the same column and serves every look-up by case (reports/timeline.py
    names it in its hint), so the narrower index only cost time on every event written
    (`bbc import` writes five or six a row)."""
    conn.execute(text("DROP INDEX IF EXISTS ix_events_case_id"))


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


_EVENTS_DDL = """CREATE TABLE events (
    id INTEGER NOT NULL,
    case_id INTEGER,
    at DATETIME NOT NULL,
    actor VARCHAR NOT NULL,
    action VARCHAR NOT NULL,
    detail TEXT NOT NULL,
    seq INTEGER,
    prev_hash VARCHAR,
    hash VARCHAR,
    PRIMARY KEY (id),
    FOREIGN KEY(case_id) REFERENCES cases (id)
)"""
_EVENTS_INDEXES = (
    "CREATE INDEX ix_events_action ON events (action)",
    "CREATE INDEX ix_events_at ON events (at)",
    "CREATE INDEX ix_events_case_id ON events (case_id)",
    "CREATE UNIQUE INDEX ix_events_seq ON events (seq)",
)


def _rebuild_events_sqlite(conn: Connection) -> None:
    """SQLite cannot drop a NOT NULL: make the table anew and copy every row as it is
    (ids, sequence, hashes), inside the upgrade's transaction."""
    indexes = conn.execute(
        text(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events' "
            "AND sql IS NOT NULL"
        )
    ).scalars()
    for name in list(indexes):
        conn.execute(text(f'DROP INDEX "{name}"'))
    conn.execute(text("ALTER TABLE events RENAME TO events_m004"))
    conn.execute(text(_EVENTS_DDL))
    columns = "id, case_id, at, actor, action, detail, seq, prev_hash, hash"
    conn.execute(text(f"INSERT INTO events ({columns}) SELECT {columns} FROM events_m004"))
    conn.execute(text("DROP TABLE events_m004"))
    for statement in _EVENTS_INDEXES:
        conn.execute(text(statement))


def _closed_provisional(conn: Connection) -> None:
    """A closed case still provisional closed so; one finalised since was provisional
    at its last close if its events say so (a recompute after the close)."""
    import json

    from sqlalchemy import select

    from banbucheng.schema.models import Case, Event

    cases, events = Case.__table__, Event.__table__  # type: ignore[attr-defined]
    closed = cases.c.status == "closed"
    conn.execute(
        cases.update().where(closed, cases.c.provisional.is_(True)).values(closed_provisional=True)
    )
    recomputed = select(events.c.case_id).where(events.c.action == "recompute")
    ids = list(
        conn.execute(
            select(cases.c.id).where(
                closed, cases.c.provisional.is_(False), cases.c.id.in_(recomputed)
            )
        ).scalars()
    )
    for i in range(0, len(ids), 500):
        batch = ids[i : i + 500]
        state: dict[int, tuple[bool, bool]] = {}  # case: (provisional, at its last close)
        rows = conn.execute(
            select(events.c.case_id, events.c.action, events.c.detail)
            .where(events.c.case_id.in_(batch))
            .order_by(events.c.seq, events.c.id)
        )
        for case_id, action, detail in rows:
            provisional, at_close = state.get(case_id, (False, False))
            try:
                after = json.loads(detail).get("after", {})
                provisional = bool(after.get("provisional", provisional))
            except (ValueError, TypeError, AttributeError):
                pass
            if action == "close":
                at_close = provisional
            elif action == "reopen":
                at_close = False
            state[case_id] = (provisional, at_close)
        yes = [case_id for case_id, (_, at_close) in state.items() if at_close]
        if yes:
            conn.execute(cases.update().where(cases.c.id.in_(yes)).values(closed_provisional=True))


def _declare_entered_years(conn: Connection) -> None:
    """Before this step, a year with an entered holiday was covered: keep it so."""
    from sqlalchemy import insert, select

    from banbucheng.schema.models import CalendarDay, CalendarYear

    CalendarYear.__table__.create(conn, checkfirst=True)  # type: ignore[attr-defined]
    days = CalendarDay.__table__  # type: ignore[attr-defined]
    years: dict[int, tuple[Any, str]] = {}
    rows = conn.execute(
        select(days.c.day, days.c.source, days.c.entered_at)
        .where(days.c.workday.is_(False))
        .order_by(days.c.entered_at)
    )
    for day, source, entered_at in rows:
        years[day.year] = (entered_at, source)  # the latest entry of the year
    for year, (entered_at, source) in sorted(years.items()):
        conn.execute(
            insert(CalendarYear.__table__).values(  # type: ignore[attr-defined]
                year=year, source=source, covered_by=LEGACY_ACTOR, covered_at=entered_at
            )
        )


STORE_ADOPT = "store_adopt"  # the action of the event recording the state found at m004


def _adopt_store_state(conn: Connection) -> None:
    import json

    from sqlalchemy import insert

    from banbucheng.core.clock import now
    from banbucheng.schema.adopt import Chain
    from banbucheng.schema.history import stored_state
    from banbucheng.schema.models import Event

    state = stored_state(conn, as_of_m004=True)
    if not any(state.values()):
        return
    detail = json.dumps(
        {
            "before": {},
            "after": state,
            "source": "",
            "text": "升级时载入已有的日历条目、已确认的年份与政策设置（此前不在事件链中）",
        },
        ensure_ascii=False,
        sort_keys=True,
    )
    # Sealed as m007 seals its events (with the key, on a store already past m006).
    chain = Chain(conn)
    row = chain.event(None, "", now(), LEGACY_ACTOR, STORE_ADOPT, detail)
    conn.execute(insert(Event.__table__), [row])  # type: ignore[attr-defined]
    chain.save()


# ---------------------------------------------------------------- reply templates

# What a template may leave to the case; never personal data (names, phones).
