"""The only module that knows about engines and transactions (and, through
dialects.py, how each database is driven)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlmodel import Session, create_engine

from banbucheng.core.errors import BbcError, StoreError, Unreadable
from banbucheng.core.files import create_empty, path_problem
from banbucheng.core.keyring import KeyProblem, Keyring
from banbucheng.core.paths import default_db_path
from banbucheng.core.policy import Policy, build_policy
from banbucheng.deadlines import CalendarEntry, WorkCalendar
from banbucheng.dialects import (
    BUSY_TIMEOUT_S,
    IF_FREE,
    PG_WRITE_LOCK,
    postgres_setup,
    sqlite_setup,
    time_limit,
    with_driver,
)
from banbucheng.schema import totals
from banbucheng.schema.migrations import PERSONAL_STEP, is_current, read_stamp, stamp, upgrade
from banbucheng.schema.models import Case, Event

# What a long writer is doing, as other writers waiting for it are told.
WRITERS = {"import": "导入"}


@dataclass(frozen=True)
class Location:
    """Where the store is: its URL, what to call it for people (the file, or the URL
    without its password), whether it is the default one and whether it was just made."""

    url: str
    label: str
    is_default: bool
    created: bool = False


# How far locate() may go when the store's file does not exist yet.
NEVER, FILE, DIRECTORIES = "never", "file", "directories"


def locate(db: str | None, *, create: str = NEVER, make: bool = True) -> Location:
    """--db, else BBC_DB, else the user's data directory; a path or an SQLAlchemy URL.

    A mistyped path must not quietly become a new, empty store. So a store is made
    only as a visible act: the default file on first use; a given file when
    `create` allows it (commands that write: FILE; restore and demo: DIRECTORIES,
    which may also make the folder). A given file that does not exist is an error
    otherwise, and so is a given folder that does not exist (unless DIRECTORIES).
    With make=False nothing is made: only what would be refused is refused.
    """
    given = db or os.environ.get("BBC_DB")
    default = default_db_path()
    text = given or str(default)
    if text.startswith("sqlite:///"):
        text = text.removeprefix("sqlite:///")
    elif "://" in text:
        return Location(url=text, label=_without_password(text), is_default=False)
    problem = path_problem(text)
    if problem:
        raise StoreError(f"数据库路径不能使用（请检查 --db 或 BBC_DB）：{problem}")
    path = Path(text).expanduser().resolve()
    is_default = path == default.expanduser().resolve()
    if path.is_dir():
        raise StoreError(
            f"数据库路径是一个文件夹：{path}（请给出文件名，如 {path / 'bbc.sqlite3'}）"
        )
    created = False
    if not path.exists():
        allowed = DIRECTORIES if is_default else create
        if allowed == NEVER:
            raise StoreError(
                f"数据库文件不存在：{path}（请检查 --db 或 BBC_DB 是否写错；"
                "新的数据库在第一次登记时建立）"
            )
        if allowed == FILE and not path.parent.is_dir():
            raise StoreError(
                f"数据库所在的文件夹不存在：{path.parent}（请检查 --db 或 BBC_DB 是否写错）"
            )
        if not make:
            return Location(url=f"sqlite:///{path}", label=str(path), is_default=is_default)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Owner-only from the start (or BBC_FILE_MODE): it holds personal data.
            create_empty(path)
            created = True
        except FileExistsError:
            pass  # another window made it just now
        except OSError as exc:
            raise StoreError(f"无法创建数据文件 {path}：{exc.strerror}") from None
    return Location(
        url=f"sqlite:///{path}", label=str(path), is_default=is_default, created=created
    )


def _without_password(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if not at or ":" not in credentials:
        return url
    user = credentials.split(":", 1)[0]
    return f"{scheme}{sep}{user}:***@{host}"


def _store_id(conn: Any) -> str | None:
    from banbucheng.schema.personal import store_id

    return store_id(conn)


UNREADABLE = "数据库中有无法读取的值（可能被直接改动），请运行 bbc verify 查看是哪一条"
# How long a failed command looks for such values before it says what it failed with:
# every case and event of 10^5 cases; of 10^6, the newest 3 × 10^5 or so cases (a full
# look there, events too, takes 20–30 s).
UNREADABLE_LOOK_S = 3.0

# Where SQLAlchemy turns a stored value into a Python one (a time, a date) as rows are
# read; its compiled modules name the frame with its module ("sqlalchemy.engine.
# _result_cy._apply_processors"), the pure-Python ones without.
_CONVERTING = ("_apply_processors", "process_result_value")


def _unreadable_value(exc: BaseException) -> bool:
    """A row read had a value its column's type cannot hold (on SQLite, which keeps
    any type anywhere: closed_at = x'00' typed in by hand). Not a bug of ours, but a
    store changed behind the tool's back."""
    import traceback

    return any(
        frame.f_code.co_name.rpartition(".")[2] in _CONVERTING
        for frame, _ in traceback.walk_tb(exc.__traceback__)
    )


def _stamp_if_free(conn: Any) -> None:
    """A current store made by an earlier release gets this release's stamp, so the
    next command reads one number instead of checking every table. Only if the write
    lock is free and the file writable: otherwise it is simply checked in full again
    next time (a reader never waits for a writer)."""
    from banbucheng.schema.migrations import write_stamp

    try:
        with conn.execution_options(bbc_write=IF_FREE).begin():
            write_stamp(conn)
    except DBAPIError:
        pass


@dataclass
class Ctx:
    """What an action needs: a session in a transaction, the rules, the actor and the time."""

    session: Session
    policy: Policy
    calendar: WorkCalendar
    actor: str
    now: datetime
    store: Store
    # A bulk batch (domain/batch.py): new cases and their events are kept in memory
    # and written together, instead of one statement at a time (bbc import).
    batch: Any = None

    @property
    def keyring(self) -> Keyring | None:
        """The store's keys (core/keyring.py), None when they are not available."""
        return self.store.keyring

    def require_keyring(self, what: str) -> Keyring:
        return self.store.require_keyring(what)


class Store:
    # The keys outside the store: loaded once as it opens (_load_keys). key_problem is
    # why they are missing when a key file exists but may not be used; key_created is
    # the key file made just now, for a new or upgraded store (the user is told).
    store_id: str | None = None
    keyring: Keyring | None = None
    key_problem: KeyProblem | None = None
    key_created: Path | None = None

    def __init__(self, url: str, *, waiting: Callable[[float, str | None], None] | None = None):
        """`waiting(seconds, what)`: told while a write waits for another writer (what
        it is doing, from WRITERS, when known)."""
        self.waiting = waiting
        self.doing: str | None = None
        self.url = url = with_driver(url)
        self.is_sqlite = url.startswith("sqlite")
        kwargs: dict[str, object] = {}
        if self.is_sqlite:
            kwargs["connect_args"] = {"timeout": BUSY_TIMEOUT_S}
        elif url.startswith("postgresql+psycopg"):
            # hstore is never used: not looking it up saves three round trips per process.
            kwargs["use_native_hstore"] = False
        try:
            self.engine = create_engine(url, **kwargs)
        except (SQLAlchemyError, ImportError, ValueError) as exc:
            if isinstance(exc, ImportError) and url.startswith("postgresql+psycopg"):
                raise StoreError(
                    "未安装 PostgreSQL 驱动 psycopg：pip install 'banbucheng[postgres]'"
                ) from None
            raise StoreError(
                f"无法打开数据库（{type(exc).__name__}），请检查 --db / BBC_DB"
            ) from None
        if self.is_sqlite:
            sqlite_setup(self.engine, self)
        elif self.engine.dialect.name == "postgresql":
            postgres_setup(self.engine, self)
        try:
            # Usually the store is current: it carries this release's stamp, one number
            # read without a lock, so opening never waits for a writer (a long import,
            # say); the store's id (for its keys) is read with it. Otherwise the full
            # check, and an upgrade (or just the stamp) under a write lock from the
            # start: a deferred transaction that reads the schema and then creates
            # tables deadlocks with another window doing the same.
            with self.engine.connect() as conn:
                if not self.is_sqlite:
                    # Two single reads: no transaction begun and ended around them, two
                    # round trips fewer for every command.
                    conn.execution_options(isolation_level="AUTOCOMMIT")
                current = read_stamp(conn) == stamp()
                if current:
                    self.store_id = _store_id(conn)
                conn.rollback()  # end the read's implicit transaction (SQLite)
            if not current:
                self._check_and_upgrade()
            self._load_keys()
        except DBAPIError as exc:
            raise StoreError(_db_message(exc)) from None

    def _check_and_upgrade(self) -> None:
        """A store without this release's stamp: checked in full, upgraded if need be."""
        with self.engine.connect() as conn:
            with conn.execution_options(bbc_write=False).begin():
                current = is_current(conn)
            if current and self.is_sqlite:
                _stamp_if_free(conn)
        if not current:
            with self.engine.connect() as conn:
                conn = conn.execution_options(bbc_write=True)
                with conn.begin():
                    done = upgrade(conn)
                self.key_created = conn.info.pop("bbc_key_created", None)
            if self.is_sqlite and PERSONAL_STEP in done:
                self._compact()
        with self.engine.connect() as conn, conn.execution_options(bbc_write=False).begin():
            self.store_id = _store_id(conn)

    def _load_keys(self) -> None:
        """The keys of the store whose id was read as it opened."""
        from banbucheng.core import keyring as keys

        if self.store_id is None:
            return
        try:
            self.keyring = keys.load(self.store_id)
        except KeyProblem as exc:
            self.keyring, self.key_problem = None, exc

    @property
    def seal_key(self) -> bytes | None:
        """The key that seals new events with a MAC (schema/chain.py): the keyring's,
        kept outside the store with the other keys; None without them."""
        return self.keyring.seal_key if self.keyring is not None else None

    def require_keyring(self, what: str) -> Keyring:
        """The keys, or one Chinese line (exit 6) on why the action cannot be done.

        A store that has never encrypted anything gets its key here, on first need (its
        first case): made and written to the key folder, announced by the command
        (key_created); or read, when another window made it meanwhile."""
        if self.keyring is None and self.key_problem is not None:
            raise self.key_problem
        from banbucheng.schema.personal import any_encrypted, require

        if self.keyring is None and self.store_id is not None:
            from banbucheng.core import keyring as keys

            self.keyring = keys.load(self.store_id)
            if self.keyring is None:
                with self.engine.connect() as conn, conn.execution_options(bbc_write=False).begin():
                    used = any_encrypted(conn)
                if not used:
                    ring = keys.generate(self.store_id)
                    try:
                        self.key_created = keys.write(ring, keys.key_path(self.store_id))
                        self.keyring = ring
                    except BbcError:  # made by another window just now
                        self.keyring = keys.load(self.store_id)
        return require(self.keyring, what)

    def _compact(self) -> None:
        """After the clear personal values were dropped (m006): rewrite the file so no
        page of it still holds them, and fold the WAL into it. Best effort: another
        window may hold the file open (secure_delete has already zeroed them)."""
        import sqlite3

        raw = self.engine.raw_connection()  # autocommit: VACUUM runs outside a transaction
        try:
            cursor = raw.cursor()
            cursor.execute("VACUUM")
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            cursor.close()
        except sqlite3.Error:
            pass
        finally:
            raw.close()

    @contextmanager
    def session(self, *, write: bool | str) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back on any error.
        write=IF_FREE: a write transaction only if the lock is free now, else StoreError."""
        try:
            with self.engine.connect() as conn:
                conn = conn.execution_options(bbc_write=write)
                with conn.begin(), Session(bind=conn, expire_on_commit=False) as session:
                    session.info["bbc_store"] = self  # its seal key, read as events are sealed
                    event.listen(session, "before_flush", _seal_new_events)
                    yield session
                    session.flush()
                    if write and self.is_sqlite:
                        # Statistics for the planner, refreshed only when stale; the
                        # write lock is already ours, so this never waits.
                        session.connection().exec_driver_sql("PRAGMA optimize")
        except DBAPIError as exc:
            if "could not decode to utf-8" in str(exc.orig).lower():  # SQLite, text edited
                raise Unreadable(self.unreadable() or UNREADABLE) from None
            raise StoreError(_db_message(exc)) from None
        except (TypeError, ValueError) as exc:
            if isinstance(exc, BbcError) or not _unreadable_value(exc):
                raise
            raise Unreadable(self.unreadable() or UNREADABLE) from None

    def unreadable(self, seconds: float = UNREADABLE_LOOK_S) -> str | None:
        """After a command failed on the store's data: which values it holds that no
        command can read (schema/readable.py), as the message to give; None if none
        is found within `seconds` (the newest cases first), or the store cannot be
        read to look."""
        from banbucheng.schema.readable import places

        try:
            with self.engine.connect() as conn, conn.begin(), time_limit(conn, seconds):
                found = places(conn)
        except SQLAlchemyError:
            return None
        if not found:
            return None
        return (
            f"数据库中有无法读取的值：{'；'.join(found)}（可能被直接改动），请运行 bbc verify 查看"
        )

    @contextmanager
    def context(self, *, actor: str, now: datetime, write: bool = True) -> Iterator[Ctx]:
        with self.session(write=write) as session:
            yield Ctx(
                session=session,
                policy=load_policy(session),
                calendar=load_calendar(session),
                actor=actor,
                now=now,
                store=self,
            )

    def close(self) -> None:
        self.engine.dispose()

    # ---------------------------------------------------------------- long writes

    def _note_path(self) -> Path | None:
        if not self.is_sqlite:
            return None
        return Path(self.engine.url.database + "-writer") if self.engine.url.database else None

    @contextmanager
    def announce(self, doing: str) -> Iterator[None]:
        """A long write (WRITERS key): writers that wait for it are told what it is. On
        SQLite a small note beside the store file names it (and this process, so a
        note left by a killed process is ignored); on PostgreSQL the session's
        application_name."""
        assert doing in WRITERS
        self.doing = doing
        note = self._note_path()
        try:
            if note is not None:
                with contextlib.suppress(OSError):
                    fd = os.open(note, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                    with os.fdopen(fd, "w") as out:
                        out.write(f"{os.getpid()} {doing}\n")
            yield
        finally:
            self.doing = None
            if note is not None:
                with contextlib.suppress(OSError):
                    note.unlink()

    def writer(self) -> str | None:
        """What the writer holding the lock is doing (Chinese), when it said so."""
        try:
            if self.is_sqlite:
                note = self._note_path()
                pid, doing = note.read_text().split() if note is not None else ("", "")
                if not _WINDOWS:  # there os.kill(pid, 0) would end it (TerminateProcess)
                    os.kill(int(pid), 0)  # ProcessLookupError: a note left by a killed import
            else:
                with self.engine.connect() as conn:
                    name = conn.exec_driver_sql(
                        "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a"
                        " ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted"
                        f" AND l.classid = 0 AND l.objid = {PG_WRITE_LOCK}"
                    ).scalar()
                    conn.rollback()
                doing = (name or "").removeprefix("bbc:")
        except (OSError, ValueError, DBAPIError):
            return None
        return WRITERS.get(doing)


_WINDOWS = os.name == "nt"


def _seal_new_events(session: Session, flush_context: object, instances: object) -> None:
    """Every event gets its place in the hash chain as it is written, whoever wrote it
    (schema/chain.py), in the order the events were added, and counts in the running
    totals of its day (schema/totals.py)."""
    from sqlalchemy import inspect

    # Imported here: only a command that records events defines the chain's tables.
    from banbucheng.schema.chain import seal

    new = [obj for obj in session.new if isinstance(obj, Event)]
    store = session.info.get("bbc_store")
    key = store.seal_key if store is not None else None
    for ev in sorted(new, key=lambda obj: inspect(obj).insert_order):
        case = session.get(Case, ev.case_id) if ev.case_id is not None else None
        seal(session, ev, case, key)
    totals.count(session, new)  # the running totals move with the events (totals.py)


def _db_message(exc: DBAPIError) -> str:
    # Never echo the statement or its parameters: they can hold personal data.
    text = str(exc.orig).lower()
    if "locked" in text or "busy" in text or "lock timeout" in text:
        return f"数据库正忙（{BUSY_TIMEOUT_S}秒内未能完成），操作未保存，请稍后重试"
    if "connection failed" in text or "could not connect" in text:
        return "无法连接数据库服务器，请检查 --db / BBC_DB 中的地址、端口、用户名和密码"
    if "unable to open" in text or "readonly" in text or "read-only" in text:
        return "无法打开或写入数据库文件，请检查路径和权限"
    if "permission denied" in text:
        return "数据库用户权限不足（首次使用须由数据库所有者运行以建表），操作未保存"
    return f"数据库错误（{type(exc.orig).__name__}），操作未保存"


def refresh_statistics(session: Session) -> None:
    """The planner's statistics, after bulk work (an import, a migration). SQLite
    samples (analysis_limit); PostgreSQL's autovacuum would get there later."""
    session.connection().exec_driver_sql("ANALYZE")


def load_policy(session: Session) -> Policy:
    # Plain statements, here and in load_calendar: every command runs them, and
    # building an ORM statement costs more than running it.
    rows = session.connection().exec_driver_sql("SELECT key, value FROM settings")
    return build_policy(dict(rows.all()))


def any_provisional(session: Session) -> bool:
    """Whether any case has a provisional deadline: usually none, found by one small
    statement before lifecycle.pending_recompute loads them. Plain SQL: every command
    asks it first, and as the first ORM statement of the process it also paid for
    configuring the mappers and the ORM's compiler (about 10 ms), which a command that
    reads only through plain tables (daily-report) then never needs."""
    return session.execute(_PROVISIONAL, {"yes": True}).first() is not None


_PROVISIONAL = text("SELECT 1 FROM cases WHERE provisional = :yes LIMIT 1")


def load_calendar(session: Session) -> WorkCalendar:
    """The package's calendar with the center's entries; the years the center declared
    complete (calendar_years) are covered, other entered years stay estimates."""
    conn = session.connection()
    rows = conn.exec_driver_sql("SELECT day, workday, name, source FROM calendar_days")
    entries = [
        CalendarEntry(day=_date(day), workday=bool(workday), name=name, source=source)
        for day, workday, name, source in rows
    ]
    covered = conn.exec_driver_sql("SELECT year FROM calendar_years").scalars().all()
    return WorkCalendar(entries, covered=covered)


def _date(value: Any) -> date:
    """A DATE column as the driver returns it (SQLite: ISO text; PostgreSQL: a date)."""
    if isinstance(value, datetime):
        return value.date()
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def counter_key(day: date) -> str:
    return f"case:{day.isoformat()}"


def case_number(prefix: str, day: date, seq: int) -> str:
    return f"{prefix}{day.year:04d}{day.month:02d}{day.day:02d}-{seq:03d}"


def next_case_number(session: Session, prefix: str, day: date) -> str:
    """Readable and sortable: PREFIX + YYYYMMDD + '-' + a per-day sequence, bumped in
    the registering transaction so concurrent windows never collide: the upsert takes
    the row's lock (PostgreSQL) or runs under the write lock (SQLite, BEGIN IMMEDIATE)
    until the transaction ends. Plain SQL, the same on both: no class to define for
    the counters, no statement to compile beyond its text, no flush."""
    key = counter_key(day)
    session.execute(_BUMP, {"key": key})
    value = session.execute(_COUNTER, {"key": key}).scalar_one()
    return case_number(prefix, day, value)


_BUMP = text(
    'INSERT INTO counters ("key", value) VALUES (:key, 1) '
    'ON CONFLICT ("key") DO UPDATE SET value = counters.value + 1'
)
_COUNTER = text('SELECT value FROM counters WHERE "key" = :key')
