"""Backups of an SQLite store while other windows keep writing, and restoring one.

`backup` uses SQLite's online backup API in one step: the copy is one consistent
snapshot of the store (in WAL mode writers carry on meanwhile), written to a temporary
file that only the owner can read, checked, and renamed into place.

`restore` never swaps files under running windows. The backup is copied aside,
checked (integrity_check, a bbc store, not from a newer release, its event chain, and
an anchor noted earlier when one is given) and upgraded to the current schema; then,
in ONE write transaction on the live store, the current content is saved as a side
copy, every table is replaced from the backup, the live store's case-number
high-water marks are kept (a number once issued is never issued again: marks.py) and
the restore is recorded as an event in the chain.
Other windows wait for that transaction like for any other writer; a crash in the
middle leaves the store as it was.

PostgreSQL stores are backed up with the server's own tools (pg_dump / pg_restore).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from banbucheng.core.errors import InvalidInput, StoreError
from banbucheng.core.files import create_empty, os_reason
from banbucheng.core.timeutil import BEIJING

SQLITE_MAGIC = b"SQLite format 3\x00"
BUSY_MS = 30_000
PG_HINT = (
    "PostgreSQL 数据库请用服务器自带的工具备份与恢复："
    "pg_dump -Fc -f bbc.dump 数据库地址；pg_restore --clean -d 数据库地址 bbc.dump"
)


def sqlite_path(url: str) -> Path:
    """The file behind an sqlite:/// URL; anything else is PostgreSQL (or unsupported)."""
    if not url.startswith("sqlite"):
        raise InvalidInput(PG_HINT)
    from sqlalchemy.engine import make_url

    database = make_url(url).database
    if not database or database == ":memory:":
        raise InvalidInput("内存数据库无法备份或恢复")
    return Path(database)


def owner_only_file(path: Path) -> None:
    """Create an empty file only the owner can read and write (refuses an existing one):
    the checked copy of a backup, which is deleted again."""
    create_empty(path, 0o600)


def _fsync(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _connect(path: Path, *, readonly: bool = False) -> sqlite3.Connection:
    if readonly:
        # immutable: read a file on a read-only medium without making -wal/-shm files
        # (unless it is a live store with a -wal file, whose content must be read too)
        live = Path(f"{path}-wal").exists()
        uri = f"file:{quote(path.as_posix())}?mode=ro" + ("" if live else "&immutable=1")
        con = sqlite3.connect(uri, uri=True, timeout=BUSY_MS / 1000, isolation_level=None)
    else:
        con = sqlite3.connect(path, timeout=BUSY_MS / 1000, isolation_level=None)
    con.execute(f"PRAGMA busy_timeout = {BUSY_MS}")
    return con


def _summary(con: sqlite3.Connection) -> dict[str, Any]:
    def scalar(sql: str) -> Any:
        try:
            return con.execute(sql).fetchone()[0]
        except sqlite3.Error:
            return None

    head = None
    with contextlib.suppress(sqlite3.Error):
        head = con.execute("SELECT seq, hash FROM chain_head WHERE id = 1").fetchone()
    from banbucheng.trust.integrity import anchor_text

    return {
        "cases": scalar("SELECT count(*) FROM cases") or 0,
        "events": scalar("SELECT count(*) FROM events") or 0,
        "anchor": anchor_text(head[0], head[1]) if head else None,
    }


def _integrity_ok(con: sqlite3.Connection) -> bool:
    rows = con.execute("PRAGMA integrity_check").fetchall()
    return rows == [("ok",)]


# ---------------------------------------------------------------- backup


@dataclass
class BackupInfo:
    path: str
    bytes: int
    sha256: str
    cases: int
    events: int
    anchor: str | None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def backup_target(target: Path, now: datetime) -> Path:
    """A directory means a dated file inside it, so cron can run `bbc backup DIR`."""
    target = target.expanduser()
    if target.is_dir():
        return target / f"bbc-{now.astimezone(BEIJING):%Y%m%d-%H%M%S}.sqlite3"
    return target


def backup(url: str, target: Path, *, now: datetime, force: bool = False) -> BackupInfo:
    try:
        return _backup(url, target, now=now, force=force)
    except OSError as exc:  # the path itself: too long, not accessible...
        raise InvalidInput(f"无法使用备份路径：{os_reason(exc)}") from None


def _backup(url: str, target: Path, *, now: datetime, force: bool) -> BackupInfo:
    source = sqlite_path(url)
    target = backup_target(target, now)
    if not target.parent.is_dir():
        raise InvalidInput(f"备份目录不存在：{target.parent}")
    companions = {f"{source.name}{s}" for s in ("-wal", "-shm", "-journal")}
    beside = target.parent.resolve() == source.parent.resolve()
    if _same_file(source, target) or (beside and target.name in companions):
        raise InvalidInput("备份文件不能是数据库本身（或其 -wal、-shm 文件）")
    if target.exists() and not force:
        raise InvalidInput(f"备份文件已存在：{target}；覆盖请加 --force")
    if target.exists() and not target.is_file():
        raise InvalidInput(f"{target} 不是普通文件，不能写入备份")
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    try:
        create_empty(tmp)  # 0600, or BBC_FILE_MODE: it becomes the backup
        src, dst = _connect(source), _connect(tmp)
        try:
            # One step: a single consistent snapshot; WAL lets writers continue meanwhile.
            src.backup(dst)
            dst.execute("PRAGMA journal_mode = DELETE")  # one self-contained file
            if not _integrity_ok(dst):
                raise StoreError("备份副本未通过完整性检查，已放弃；请运行 bbc doctor 检查数据库")
            info = _summary(dst)
        finally:
            dst.close()
            src.close()
        _fsync(tmp)
        os.replace(tmp, target)
        _fsync(target.parent)
    except sqlite3.Error as exc:
        raise StoreError(_sqlite_message(exc, "备份")) from None
    except OSError as exc:
        raise StoreError(f"无法写入备份文件 {target}：{os_reason(exc)}") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return BackupInfo(
        path=str(target),
        bytes=target.stat().st_size,
        sha256=_sha256(target),
        cases=info["cases"],
        events=info["events"],
        anchor=info["anchor"],
    )


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (b.exists() and os.path.samefile(a, b))
    except OSError:
        return False


def _sqlite_message(exc: sqlite3.Error, what: str) -> str:
    text = str(exc).lower()
    if "locked" in text or "busy" in text:
        return f"数据库正忙，{what}未完成，请稍后重试"
    if "not a database" in text or "malformed" in text or "corrupt" in text:
        return f"文件不是有效的 SQLite 数据库或已损坏，{what}未完成"
    return f"{what}失败（{type(exc).__name__}），数据库保持原样"


# ---------------------------------------------------------------- restore


@dataclass
class RestoreInfo:
    source: str
    side_copy: str | None
    cases: int
    events: int
    anchor: str | None
    replaced_cases: int
    replaced_events: int
    chain_ok: bool
    upgraded: list[str]
    anchor_checked: str | None = None
    # counter key -> the number the next registration of that day continues after
    numbering_kept: dict[str, int] = field(default_factory=dict)
    store_anchor: str | None = None  # the chain's head after the restore's own event

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _check_backup_file(path: Path) -> None:
    path = path.expanduser()
    if path.is_dir():
        raise InvalidInput(f"{path} 是目录，请给出备份文件")
    if not path.is_file():
        raise InvalidInput(f"找不到备份文件：{path}")
    with path.open("rb") as f:
        if f.read(16) != SQLITE_MAGIC:
            raise InvalidInput("备份文件不是 SQLite 数据库（文件头不符）")


def prepare(source: Path, workdir: Path) -> tuple[Path, list[str]]:
    """Copy the backup aside, check it and upgrade it to the current schema.
    Returns the checked copy (the caller deletes it) and the migration steps applied."""
    from sqlalchemy.exc import SQLAlchemyError

    from banbucheng.schema.migrations import MIGRATIONS
    from banbucheng.store import Store

    _check_backup_file(source)
    copy = workdir / f".bbc-restore-{os.getpid()}.sqlite3"
    for suffix in ("", "-wal", "-shm", "-journal"):
        with contextlib.suppress(FileNotFoundError):
            Path(f"{copy}{suffix}").unlink()
    owner_only_file(copy)
    try:
        src, dst = _connect(source.expanduser(), readonly=True), _connect(copy)
        try:
            src.backup(dst)
            if not _integrity_ok(dst):
                raise InvalidInput("备份文件未通过完整性检查（PRAGMA integrity_check），不能恢复")
            tables = {
                r[0] for r in dst.execute("SELECT name FROM sqlite_master WHERE type='table'")
            }
            if not {"cases", "events"} <= tables:
                raise InvalidInput("备份文件不是 bbc 的数据库（没有案件表）")
            known = {name for name, _ in MIGRATIONS}
            applied: set[str] = set()
            if "schema_migrations" in tables:
                applied = {r[0] for r in dst.execute("SELECT name FROM schema_migrations")}
            if applied - known:
                raise InvalidInput("备份由更新版本的 bbc 写入，请先升级 bbc 再恢复")
        finally:
            dst.close()
            src.close()
        applied = applied or {"m001_initial"}  # 0.1.0 had no schema_migrations table
        pending = [name for name, _ in MIGRATIONS if name not in applied]
        store = Store(f"sqlite:///{copy}")  # upgrades an older backup to this schema
        store.close()
    except sqlite3.Error as exc:
        _remove(copy)
        raise InvalidInput(_sqlite_message(exc, "恢复")) from None
    except (SQLAlchemyError, StoreError):
        _remove(copy)
        raise InvalidInput("备份文件无法按当前版本打开或升级，不能恢复") from None
    except BaseException:
        _remove(copy)
        raise
    return copy, pending


def _remove(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        with contextlib.suppress(FileNotFoundError):
            Path(f"{path}{suffix}").unlink()


def side_copy_path(store: Path, now: datetime) -> Path:
    stamp = f"{now.astimezone(BEIJING):%Y%m%d-%H%M%S}"
    candidate = store.with_name(f"{store.stem}.before-restore-{stamp}.sqlite3")
    n = 1
    while candidate.exists():
        n += 1
        candidate = store.with_name(f"{store.stem}.before-restore-{stamp}-{n}.sqlite3")
    return candidate


def _same_rows(con: sqlite3.Connection, table: str) -> bool:
    names = ", ".join(f'"{c}"' for c in _columns(con, "main", table))
    mine = f'SELECT {names} FROM main."{table}"'
    theirs = f'SELECT {names} FROM bk."{table}"'
    counts = con.execute(
        f"SELECT ({mine.replace(names, 'count(*)', 1)}), ({theirs.replace(names, 'count(*)', 1)})"
    ).fetchone()
    if counts[0] != counts[1]:
        return False
    return con.execute(f"SELECT count(*) FROM ({mine} EXCEPT {theirs})").fetchone()[0] == 0


def _columns(con: sqlite3.Connection, schema: str, table: str) -> list[str]:
    return [r[1] for r in con.execute(f'PRAGMA {schema}.table_info("{table}")')]


def replace_content(
    store: Path, checked: Path, side: Path | None, *, record: dict[str, Any]
) -> dict[str, Any]:
    """In one write transaction: save the current content to `side` (a consistent
    snapshot, since no one else can commit meanwhile), then replace every table's rows
    with the checked backup's, keep the live store's case-number high-water marks and
    record the restore (trust/marks.py). `record`: actor, now and the backup's summary.
    Returns the current store's counts before replacing and the counters raised."""
    from banbucheng.trust import marks

    con = _connect(store)
    try:
        con.execute("PRAGMA foreign_keys = OFF")  # tables are refilled in any order
        con.execute("BEGIN IMMEDIATE")
        try:
            before = _summary(con)
            live_marks = marks.high_water(con)
            if side is not None:
                _snapshot(store, side)
            con.execute("ATTACH DATABASE ? AS bk", (str(checked),))
            mine, virtual = _tables(con, "main")
            if (mine, virtual) != _tables(con, "bk"):
                raise InvalidInput("备份的表结构与当前数据库不一致，不能恢复")
            for table in sorted(mine):
                cols = _columns(con, "main", table)
                if sorted(cols) != sorted(_columns(con, "bk", table)):
                    raise InvalidInput("备份的表结构与当前数据库不一致，不能恢复")
                names = ", ".join(f'"{c}"' for c in cols)
                con.execute(f'DELETE FROM main."{table}"')
                con.execute(
                    f'INSERT INTO main."{table}" ({names}) SELECT {names} FROM bk."{table}"'
                )
            for table in sorted(mine):  # nothing (a trigger, say) changed a copied table
                if not _same_rows(con, table):
                    raise InvalidInput("恢复后的数据与备份不一致，已撤销恢复")
            if con.execute("PRAGMA main.foreign_key_check").fetchall():
                raise InvalidInput("备份中的数据引用关系不完整，不能恢复")
            for table in sorted(virtual):  # full-text indexes came over with their shadows
                try:
                    con.execute(
                        f'INSERT INTO main."{table}"("{table}") VALUES (\'integrity-check\')'
                    )
                except sqlite3.Error:
                    raise InvalidInput("备份中的全文索引与数据不一致，不能恢复") from None
            before["raised"] = marks.carry(
                con,
                live_marks,
                actor=record["actor"],
                now=record["now"],
                seal_key=record["seal_key"],
                backup=record["backup"],
                replaced=dict(before),
            )
            before["anchor_after"] = _summary(con)["anchor"]
            con.execute("COMMIT")
        except BaseException:
            if con.in_transaction:
                con.execute("ROLLBACK")
            if side is not None:
                _remove(side)  # the store is unchanged: no side copy to keep
            raise
        with contextlib.suppress(sqlite3.Error):
            con.execute("DETACH DATABASE bk")
    finally:
        con.close()
    return before


def _tables(con: sqlite3.Connection, schema: str) -> tuple[set[str], set[str]]:
    """(tables whose rows are copied, FTS5 virtual tables). A virtual table's rows live
    in its shadow tables (name_data, name_idx, ...), which are copied as they are, so
    the index comes over exactly as it matched the backup's content."""
    rows = con.execute(f"SELECT name, sql FROM {schema}.sqlite_master WHERE type = 'table'")
    tables, virtual = set(), set()
    for name, sql in rows.fetchall():
        if name.startswith("sqlite_"):
            continue
        if (sql or "").upper().startswith("CREATE VIRTUAL TABLE"):
            if "USING FTS5" not in sql.upper().replace("  ", " "):
                raise InvalidInput("数据库中有本程序不认识的虚拟表，不能恢复")
            virtual.add(name)
        else:
            tables.add(name)
    return tables, virtual


def _snapshot(store: Path, side: Path) -> None:
    """A reader's copy of the store: while the caller holds the write lock, exactly the
    content about to be replaced."""
    create_empty(side)
    reader, out = _connect(store), _connect(side)
    try:
        reader.backup(out)
        out.execute("PRAGMA journal_mode = DELETE")
    finally:
        out.close()
        reader.close()
    _fsync(side)


def restore(
    url: str,
    source: Path,
    *,
    now: datetime,
    actor: str,
    yes: bool = False,
    force: bool = False,
    anchor: tuple[int, str] | None = None,
) -> RestoreInfo:
    try:
        return _restore(url, source, now=now, actor=actor, yes=yes, force=force, anchor=anchor)
    except OSError as exc:
        raise InvalidInput(f"无法读取备份或写入数据库目录：{os_reason(exc)}") from None


def _restore(
    url: str,
    source: Path,
    *,
    now: datetime,
    actor: str,
    yes: bool,
    force: bool,
    anchor: tuple[int, str] | None,
) -> RestoreInfo:
    from banbucheng.store import Store
    from banbucheng.trust.integrity import verify

    store_path = sqlite_path(url)
    source = source.expanduser()
    if _same_file(store_path, source):
        raise InvalidInput("备份文件就是当前数据库本身，无需恢复")
    checked, pending = prepare(source, store_path.parent)
    try:
        probe = Store(f"sqlite:///{checked}")
        try:
            with probe.session(write=False) as session:
                report = verify(session, anchor=anchor, key=probe.seal_key, keyring=probe.keyring)
        finally:
            probe.close()
        # An anchor noted outside the store is the one check a consistent rewrite of
        # the backup's chain cannot pass: its refusal is never overridden by --force.
        off_anchor = [p for p in report.problems if p.kind == "anchor"]
        if off_anchor:
            raise InvalidInput(f"备份与锚点 {report.anchor_checked} 不符：{off_anchor[0].message}")
        if not report.ok and not force:
            raise InvalidInput(
                f"备份的事件链有 {len(report.problems)} 处问题"
                f"（bbc --db {source} verify 查看）；确需恢复请加 --force"
            )
        Store(url).close()  # the live store at the current schema too
        con = _connect(store_path)
        try:
            current = _summary(con)
        finally:
            con.close()
        if not yes:
            raise InvalidInput(
                f"恢复将以备份（{report.cases} 件案件、{report.events} 条事件）替换当前数据库"
                f"（{current['cases']} 件案件、{current['events']} 条事件），"
                "当前数据库会先另存一份；确认请加 --yes"
            )
        has_data = bool(current["cases"] or current["events"])
        side = side_copy_path(store_path, now) if has_data else None
        record = {
            "actor": actor,
            "now": now,
            "seal_key": probe.seal_key,  # the restored store's key seals the restore event
            "backup": {
                "anchor": report.anchor,
                "cases": report.cases,
                "events": report.events,
                "sha256": _sha256(source),
            },
        }
        try:
            before = replace_content(store_path, checked, side, record=record)
        except sqlite3.Error as exc:
            raise StoreError(_sqlite_message(exc, "恢复")) from None
    finally:
        _remove(checked)
    return RestoreInfo(
        source=str(source),
        side_copy=str(side) if side else None,
        cases=report.cases,
        events=report.events,
        anchor=report.anchor,
        replaced_cases=before["cases"],
        replaced_events=before["events"],
        chain_ok=report.ok,
        upgraded=pending,
        anchor_checked=report.anchor_checked,
        numbering_kept=before["raised"],
        store_anchor=before["anchor_after"],
    )
