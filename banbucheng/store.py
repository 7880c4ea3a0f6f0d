"""The only module that knows about engines, transactions and SQL dialects."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlmodel import Session, SQLModel, create_engine, select

from .deadlines import CalendarEntry, WorkCalendar
from .errors import StoreError
from .models import CalendarDay, Counter, Setting
from .policy import Policy, build_policy

BUSY_TIMEOUT_S = 30


def default_db_path() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("banbucheng", appauthor=False)) / "bbc.sqlite3"


def resolve_url(db: str | None) -> str:
    """--db, else BBC_DB, else the user's data directory; a path or an SQLAlchemy URL."""
    db = db or os.environ.get("BBC_DB") or str(default_db_path())
    if "://" in db:
        return db
    path = Path(db).expanduser().resolve()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            # Owner-only from the start: the file holds citizens' personal data.
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    except OSError as exc:
        raise StoreError(f"无法创建数据文件 {path}：{exc.strerror}") from None
    return f"sqlite:///{path}"


def _sqlite_setup(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: object, record: object) -> None:
        # Let us emit BEGIN ourselves (pysqlite's own BEGIN is deferred and late).
        dbapi_connection.isolation_level = None  # type: ignore[attr-defined]
        cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_S * 1000}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(conn: object) -> None:
        # A writer takes the lock at BEGIN, so two windows never both read the same
        # counter or case and then collide; readers stay deferred.
        write = conn.get_execution_options().get("bbc_write", False)  # type: ignore[attr-defined]
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")  # type: ignore[attr-defined]


@dataclass
class Ctx:
    """What an action needs: a session in a transaction, the rules, the actor and the time."""

    session: Session
    policy: Policy
    calendar: WorkCalendar
    actor: str
    now: datetime
    store: Store


class Store:
    def __init__(self, url: str) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        kwargs: dict[str, object] = {}
        if self.is_sqlite:
            kwargs["connect_args"] = {"timeout": BUSY_TIMEOUT_S}
        try:
            self.engine = create_engine(url, **kwargs)
        except (SQLAlchemyError, ImportError, ValueError) as exc:
            raise StoreError(
                f"无法打开数据库（{type(exc).__name__}），请检查 --db / BBC_DB"
            ) from None
        if self.is_sqlite:
            _sqlite_setup(self.engine)
        try:
            SQLModel.metadata.create_all(self.engine)
        except DBAPIError as exc:
            raise StoreError(_db_message(exc)) from None

    @contextmanager
    def session(self, *, write: bool) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back on any error."""
        try:
            with self.engine.connect() as conn:
                if write:
                    conn = conn.execution_options(bbc_write=True)
                with conn.begin(), Session(bind=conn, expire_on_commit=False) as session:
                    yield session
                    session.flush()
        except DBAPIError as exc:
            raise StoreError(_db_message(exc)) from None

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


def _db_message(exc: DBAPIError) -> str:
    # Never echo the statement or its parameters: they can hold personal data.
    text = str(exc.orig).lower()
    if "locked" in text or "busy" in text:
        return f"数据库正忙（{BUSY_TIMEOUT_S}秒内未能写入），请稍后重试"
    if "unable to open" in text or "readonly" in text or "read-only" in text:
        return "无法打开或写入数据库文件，请检查路径和权限"
    return f"数据库错误（{type(exc.orig).__name__}），操作未保存"


def load_policy(session: Session) -> Policy:
    rows = session.exec(select(Setting)).all()
    return build_policy({r.key: r.value for r in rows})


def load_calendar(session: Session) -> WorkCalendar:
    rows = session.exec(select(CalendarDay)).all()
    return WorkCalendar(
        CalendarEntry(day=r.day, workday=r.workday, name=r.name, source=r.source) for r in rows
    )


def next_case_number(session: Session, prefix: str, day: date) -> str:
    """Readable and sortable: PREFIX + YYYYMMDD + '-' + a per-day sequence, taken under
    a row lock in the registering transaction so concurrent windows never collide."""
    key = f"case:{day.isoformat()}"
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    session.exec(insert(Counter).values(key=key, value=0).on_conflict_do_nothing())  # type: ignore[call-overload]
    counter = session.exec(select(Counter).where(Counter.key == key).with_for_update()).one()
    counter.value += 1
    session.add(counter)
    return f"{prefix}{day:%Y%m%d}-{counter.value:03d}"
