"""`bbc doctor`: is the store sound, private, up to date, and its history intact?"""

from __future__ import annotations

import os
import sqlite3
import stat
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from banbucheng.core.errors import BbcError, Unreadable
from banbucheng.core.files import file_mode, mode_label

OK, WARN, FAIL = "ok", "warn", "fail"
STATUS_LABELS = {OK: "正常", WARN: "注意", FAIL: "问题"}
SUFFIXES = ("", "-wal", "-shm")


@dataclass
class Check:
    name: str
    label: str
    status: str
    message: str


@dataclass
class Diagnosis:
    store: str
    checks: list[Check]
    schema_version: str | None = None

    @property
    def failed(self) -> bool:
        return any(c.status == FAIL for c in self.checks)

    @property
    def warned(self) -> bool:
        return any(c.status == WARN for c in self.checks)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": not self.failed,
            "store": self.store,
            "schema_version": self.schema_version,
            "checks": [asdict(c) for c in self.checks],
        }


def shown_url(url: str) -> str:
    if url.startswith("sqlite"):
        return url.removeprefix("sqlite:///")
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def store_files(path: Path) -> list[Path]:
    return [Path(f"{path}{s}") for s in SUFFIXES if Path(f"{path}{s}").exists()]


def loose_files(path: Path) -> list[tuple[Path, int]]:
    """Store files that others (or a group the setting does not name) may read or
    write: anything beyond 0600, or BBC_FILE_MODE (core/files.py)."""
    allowed = file_mode()
    out = []
    for file in store_files(path):
        mode = stat.S_IMODE(file.stat().st_mode)
        if mode & 0o777 & ~allowed:
            out.append((file, mode))
    return out


def fix_permissions(path: Path) -> list[str]:
    fixed = []
    for file, _ in loose_files(path):
        os.chmod(file, file_mode())
        fixed.append(file.name)
    return fixed


def _permissions(path: Path) -> Check:
    loose = loose_files(path)
    allowed = mode_label()
    if loose:
        listing = "、".join(f"{f.name}（{m:o}）" for f, m in loose)
        return Check(
            "permissions",
            "文件权限",
            FAIL,
            f"其他用户可以读写含个人信息的文件：{listing}；bbc doctor --fix 改为{allowed}",
        )
    names = "、".join(f.name for f in store_files(path))
    return Check("permissions", "文件权限", OK, f"{allowed.split('（')[0]}（{names}）")


def _sqlite_integrity(path: Path) -> Check:
    try:
        uri = f"file:{quote(path.as_posix())}?mode=ro"
        con = sqlite3.connect(uri, uri=True, timeout=30)
        try:
            rows = con.execute("PRAGMA integrity_check").fetchall()
            broken_refs = con.execute("PRAGMA foreign_key_check").fetchall()
        finally:
            con.close()
    except sqlite3.Error as exc:
        return Check("integrity", "完整性", FAIL, f"无法读取数据库文件（{type(exc).__name__}）")
    if rows != [("ok",)]:
        return Check(
            "integrity",
            "完整性",
            FAIL,
            f"PRAGMA integrity_check 报告 {len(rows)} 处损坏；请用最近的备份恢复（bbc restore）",
        )
    if broken_refs:
        return Check(
            "integrity", "完整性", FAIL, f"{len(broken_refs)} 行引用了不存在的记录（外键检查）"
        )
    return Check("integrity", "完整性", OK, "PRAGMA integrity_check 通过，引用关系完整")


def _calendar(ctx: Any, now: datetime) -> Check:
    from sqlmodel import func, select

    from banbucheng.core.labels import OPEN_STATUSES
    from banbucheng.schema.models import Case

    cal = ctx.calendar
    year = now.year
    provisional = ctx.session.exec(
        select(func.count())
        .select_from(Case)
        .where(Case.provisional == True, Case.status.in_(OPEN_STATUSES))  # type: ignore[attr-defined]  # noqa: E712
    ).one()
    tail = f"；{provisional} 件在办案件的期限为暂定" if provisional else ""
    if not cal.is_covered(year):
        return Check(
            "calendar",
            "日历",
            WARN,
            f"{year} 年的放假安排尚未载入，期限按周一至周五及固定节日估算{tail}；"
            "请升级 chinese-calendar 或用 bbc calendar import 导入国务院通知",
        )
    if now.month >= 11 and not cal.is_covered(year + 1):
        return Check(
            "calendar",
            "日历",
            WARN,
            f"{year + 1} 年的放假安排尚未载入（国务院通常于 11 月前后发布）{tail}；"
            f"发布后请升级 chinese-calendar 或用 bbc calendar import 导入",
        )
    years = sorted(y for y in cal.covered_years if y >= year)
    return Check(
        "calendar", "日历", OK, f"已覆盖 {'、'.join(str(y) for y in years) or year} 年{tail}"
    )


def _deadlines(ctx: Any, fix: bool) -> Check:
    """Every live deadline (domain/recompute.py) against a fresh computation from the
    calendar and policy as they stand; with fix, the differing ones are recomputed and
    each gets a recompute event."""
    from banbucheng.domain import recompute

    if fix:
        from sqlalchemy import true

        text = "体检发现期限与现行日历和政策不符，已重新计算"
        fixed = recompute.recompute(ctx, true(), text=text)
        if fixed:
            return Check(
                "deadlines", "期限", OK, f"已重算 {len(fixed)} 件案件的期限，并记入各自的时间线"
            )
    stale = recompute.stale(ctx)
    if stale:
        first = stale[0]
        was, now = first["before"], first["after"]
        what = (
            f"到期日 {was.get('due_date')} 应为 {now['due_date']}"
            if "due_date" in now
            else "暂定标记"
            if "provisional" in now
            else "期限或用时"
        )
        return Check(
            "deadlines",
            "期限",
            FAIL,
            f"{len(stale)} 件案件的期限与现行日历和政策不符，如 {first['number']}：{what}；"
            "bbc doctor --fix 重新计算并记入时间线",
        )
    return Check("deadlines", "期限", OK, "在办案件的期限均与现行日历和政策一致")


def _totals(store: Any, fix: bool) -> Check:
    """The running totals per day (schema/totals.py) against a recount from the events;
    with fix, a differing table is rebuilt from the events."""
    from banbucheng.schema import totals

    with store.session(write=False) as session:
        differing = totals.stored(session) != totals.recount(session)
    if differing and fix:
        with store.session(write=True) as session:
            totals.rebuild(session)
        return Check("totals", "累计数", OK, "每日汇总的累计数与事件不符，已按事件重新统计")
    if differing:
        return Check(
            "totals",
            "累计数",
            FAIL,
            "每日汇总的累计数（按日的办结与回访数）与事件不符；bbc doctor --fix 按事件重新统计",
        )
    return Check("totals", "累计数", OK, "每日汇总的累计数与事件一致")


def diagnose(
    url: str, open_store: Any, now: datetime, actor: str, *, fix: bool = False
) -> Diagnosis:
    """Run every check; a store that cannot be opened is a failed check, not a crash.
    With fix, stale deadlines are recomputed (and recorded) before they are checked."""
    from sqlalchemy.exc import StatementError

    from banbucheng.schema.migrations import MIGRATIONS, _applied, schema_version
    from banbucheng.trust import integrity

    diagnosis = Diagnosis(store=shown_url(url), checks=[])
    checks = diagnosis.checks
    path: Path | None = None
    if url.startswith("sqlite"):
        from banbucheng.trust.backup import sqlite_path

        path = sqlite_path(url)
        checks.append(_permissions(path))
        checks.append(_sqlite_integrity(path))
        if checks[-1].status == FAIL:
            return diagnosis
    else:
        checks.append(
            Check("permissions", "文件权限", OK, "PostgreSQL：由数据库服务器的账户权限控制")
        )
        checks.append(Check("integrity", "完整性", OK, "PostgreSQL：由数据库服务器负责"))
    try:
        store = open_store()
    except BbcError as exc:
        checks.append(Check("schema", "表结构", FAIL, f"无法打开数据库：{exc.message}"))
        return diagnosis
    try:
        with store.engine.connect() as conn:
            version = schema_version(conn)
            unknown = _applied(conn) - {name for name, _ in MIGRATIONS}
            conn.rollback()
        diagnosis.schema_version = version
        if unknown:
            checks.append(
                Check(
                    "schema",
                    "表结构",
                    WARN,
                    f"版本 {version}；数据库还有本程序不认识的 {len(unknown)} 个升级步骤，"
                    "可能由更新版本的 bbc 写入，请升级 bbc",
                )
            )
        else:
            checks.append(
                Check(
                    "schema",
                    "表结构",
                    OK,
                    f"版本 {version}（共 {len(MIGRATIONS)} 个升级步骤，均已应用）",
                )
            )
        with store.session(write=False) as session:
            report = integrity.verify(
                session, key=store.seal_key, full=False, keyring=store.keyring
            )
        try:
            with store.context(actor=actor, now=now, write=False) as ctx:
                checks.append(_calendar(ctx, now))
        except (ValueError, TypeError, KeyError, StatementError, Unreadable):
            checks.append(
                Check("calendar", "日历", FAIL, "无法读取中心设置或日历条目（可能被直接修改）")
            )
        try:
            with store.context(actor=actor, now=now, write=fix) as ctx:
                checks.append(_deadlines(ctx, fix))
        except (ValueError, TypeError, KeyError, OverflowError, StatementError, Unreadable):
            checks.append(
                Check(
                    "deadlines", "期限", FAIL, "无法重算期限：案件记录、设置或日历中有无法读取的值"
                )
            )
        checks.append(_totals(store, fix))
        if report.ok:
            checks.append(
                Check(
                    "chain",
                    "事件链",
                    OK,
                    f"完整：{report.events} 条事件、{report.cases} 件案件，锚点 {report.anchor}",
                )
            )
        else:
            first = report.problems[0].line()
            checks.append(
                Check(
                    "chain",
                    "事件链",
                    FAIL,
                    f"发现 {len(report.problems)} 处问题，如：{first}；bbc verify 查看全部",
                )
            )
    finally:
        store.close()
    return diagnosis
