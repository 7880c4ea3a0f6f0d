"""Commands for trust in the records: verify, doctor, backup, restore, import.

Heavy modules are imported inside the commands, like everywhere in the CLI.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from banbucheng.commands.common import (
    JsonOpt,
    actor,
    fail,
    locate_store,
    notice,
    open_store,
    print_json,
    session,
    write_chunks,
)
from banbucheng.core.errors import InvalidInput

# Exit code when verification or diagnosis finds a problem (1 is for refused input).
EXIT_PROBLEMS = 5
app = typer.Typer()
PathArg = Annotated[str, typer.Argument(help="文件路径", metavar="FILE", show_default=False)]


@app.command()
def verify(
    anchor: Annotated[
        str | None,
        typer.Option("--anchor", help="此前记下的锚点（序号:校验值），核对此前的历史未被改写"),
    ] = None,
    full: Annotated[
        bool, typer.Option("--full", help="从第一条事件起重新校验全部事件（默认从上次校验处继续）")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """校验事件链与全部记录：找出被修改、删除或插入的事件，以及被直接改动的案件、协办
    单位、单位名录、日历和政策设置。有问题时逐条列出（案件编号、事件与字段），退出码 5。

    默认只重算上次校验通过之后的新事件（案件等记录每次都全部核对）；--full 重算全部。
    末行的锚点（如 1532:9f2c01ab33d4e5f6）请记在每日汇总或纸面上；日后用 --anchor 核对，
    可发现连同校验值一起被重算的改写。

    例：bbc verify；bbc verify --full；bbc verify --anchor 1532:9f2c01ab33d4e5f6
    """
    from banbucheng.core.clock import now
    from banbucheng.core.errors import StoreError
    from banbucheng.store import IF_FREE
    from banbucheng.trust import integrity

    expected = integrity.parse_anchor(anchor) if anchor is not None else None
    store = open_store()  # no policy or calendar needed: verify reads only what it checks
    try:
        with store.session(write=False) as db:
            report = integrity.verify(
                db, anchor=expected, key=store.seal_key, full=full, keyring=store.keyring
            )
        if report.ok:
            # The next run goes on from here; a read-only store, or one another writer
            # holds (an import), just starts over: verify never waits for a writer.
            try:
                with store.session(write=IF_FREE) as db:
                    integrity.record_verified(db, report, store.seal_key, now())
            except StoreError:
                pass
    finally:
        store.close()
    if store.keyring is None:
        notice("注意：没有这个数据库的密钥，个人信息的密文未核对（bbc key status 查看）")
    if as_json:
        print_json(report.as_dict())
    else:
        for problem in report.problems:
            typer.echo(problem.line())
        if report.problems.more:
            typer.echo(f"……另有 {report.problems.more} 处问题未列出")
        if report.ok:
            checked = f"，与锚点 {report.anchor_checked} 一致" if report.anchor_checked else ""
            typer.echo(
                f"事件链完整：{report.events} 条事件、{report.cases} 件案件{checked}；"
                f"锚点 {report.anchor}"
            )
            if report.checked_from:
                notice(
                    f"增量校验：第 {report.checked_from} 条及以前的事件上次已校验，本次重算其后 "
                    f"{report.walked} 条；案件、单位、日历与设置全部核对（--full 重算全部）"
                )
    if report.sealed == "unchecked":
        notice("事件带有密钥封印，但本机没有这个数据库的密钥（bbc key status 查看），未核对封印")
    if not report.ok:
        notice(f"校验未通过：发现 {report.count} 处问题")
        raise typer.Exit(EXIT_PROBLEMS)


@app.command()
def doctor(
    fix: Annotated[
        bool,
        typer.Option(
            "--fix",
            help="把数据库文件权限改为仅所有者可读写（或 BBC_FILE_MODE），"
            "并重算与现行日历不符的期限",
        ),
    ] = False,
    strict: Annotated[bool, typer.Option("--strict", help="有“注意”项时也以退出码 5 结束")] = False,
    as_json: JsonOpt = False,
) -> None:
    """体检：完整性、表结构版本、日历覆盖（11 月起提醒载入明年放假安排）、期限是否与
    现行日历和政策一致、文件权限、事件链。有问题时退出码 5（加 --strict 时“注意”项也算）。

    例：bbc doctor；bbc doctor --json
    """
    from banbucheng.core.clock import now
    from banbucheng.trust import doctor as doctor_mod
    from banbucheng.trust.backup import sqlite_path

    url = locate_store().url
    if fix and url.startswith("sqlite"):
        fixed = doctor_mod.fix_permissions(sqlite_path(url))
        if fixed:
            from banbucheng.core.files import mode_label

            notice(f"已改为{mode_label().split('（')[0]}：{'、'.join(fixed)}")
    diagnosis = doctor_mod.diagnose(url, open_store, now(), actor(), fix=fix)
    if as_json:
        print_json(diagnosis.as_dict())
    else:
        typer.echo(f"数据库：{diagnosis.store}")
        for check in diagnosis.checks:
            label = doctor_mod.STATUS_LABELS[check.status]
            typer.echo(f"[{label}] {check.label}：{check.message}")
    if diagnosis.failed or (strict and diagnosis.warned):
        raise typer.Exit(EXIT_PROBLEMS)


@app.command()
def backup(
    target: Annotated[
        str,
        typer.Argument(
            help="备份文件；给出目录时在其中按时间命名", metavar="PATH", show_default=False
        ),
    ],
    force: Annotated[bool, typer.Option("--force", help="覆盖已存在的备份文件")] = False,
    as_json: JsonOpt = False,
) -> None:
    """在其他窗口照常登记时做一致的备份（SQLite 在线备份），备份文件仅所有者可读写。
    PostgreSQL 请用 pg_dump。

    例：bbc backup /mnt/u盘/bbc-20260427.sqlite3；bbc backup ~/备份/（按时间命名）
    """
    from banbucheng.core.clock import now
    from banbucheng.trust import backup as backup_mod

    url = locate_store().url
    backup_mod.sqlite_path(url)  # PostgreSQL: say pg_dump before trying to connect
    open_store().close()  # the store opens (and is at the current schema) before copying
    info = backup_mod.backup(url, _path(target), now=now(), force=force)
    if as_json:
        print_json(info.as_dict())
    else:
        typer.echo(info.path)
        notice(
            f"已备份：{info.cases} 件案件、{info.events} 条事件，{info.bytes} 字节；"
            f"锚点 {info.anchor or '—'}，SHA-256 {info.sha256[:16]}"
        )
    notice(BACKUP_HOLDS)


# What a backup is, said whenever one is made (schema/personal.py, commands/key.py).
BACKUP_HOLDS = (
    "备份中群众的姓名、电话、身份证号是加密的：没有这个数据库的密钥无法查看；"
    "密钥用 bbc key backup --out 文件 另行备份，不要与数据库的备份放在一起"
)


@app.command()
def restore(
    source: Annotated[
        str, typer.Argument(help="bbc backup 做的备份文件", metavar="FILE", show_default=False)
    ],
    yes: Annotated[bool, typer.Option("--yes", help="确认以备份替换当前数据库")] = False,
    force: Annotated[bool, typer.Option("--force", help="备份的事件链有问题时仍然恢复")] = False,
    anchor: Annotated[
        str | None,
        typer.Option(
            "--anchor",
            help="此前记下的锚点（序号:校验值）：备份的事件链须包含它，否则拒绝恢复",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """以备份替换当前数据库：先检查备份（完整性、事件链、版本，给出 --anchor 时还核对
    锚点），当前数据库另存一份，再在一个事务中替换全部数据；其他窗口此间稍候，不会丢失
    写入。已发出的案件编号不会再发给别的案件：恢复后的编号接续恢复前的最大编号。

    例：bbc restore /mnt/u盘/bbc-20260427.sqlite3 --yes --anchor 1532:9f2c01ab33d4e5f6
    """
    from banbucheng.core.clock import now
    from banbucheng.store import DIRECTORIES
    from banbucheng.trust import backup as backup_mod
    from banbucheng.trust.integrity import parse_anchor

    expected = parse_anchor(anchor) if anchor is not None else None
    path = _path(source)
    url = locate_store(create=DIRECTORIES).url  # restoring into a new store is explicit
    info = backup_mod.restore(
        url, path, now=now(), actor=actor(), yes=yes, force=force, anchor=expected
    )
    if as_json:
        print_json(info.as_dict())
        return
    checked = f"，与锚点 {info.anchor_checked} 一致" if info.anchor_checked else ""
    typer.echo(
        f"已恢复：{info.cases} 件案件、{info.events} 条事件{checked}；"
        f"锚点 {info.store_anchor or '—'}（含本次恢复的记录）"
    )
    if info.numbering_kept:
        notice(
            f"案件编号接续恢复前已发出的最大编号（{len(info.numbering_kept)} 天），"
            "已发出的编号不会再用"
        )
    if info.side_copy:
        notice(
            f"恢复前的数据库（{info.replaced_cases} 件案件、{info.replaced_events} 条事件）"
            f"另存为 {info.side_copy}"
        )
    if info.upgraded:
        notice(f"备份来自较早的版本，已升级：{'、'.join(info.upgraded)}")
    if not info.chain_ok:
        notice("注意：备份的事件链有问题（按 --force 恢复），请运行 bbc verify 查看")


def _path(text: str) -> Path:
    """A file name as the system can take it: no NUL byte, nothing undecodable."""
    import os

    try:
        os.fsencode(text)
    except UnicodeError:
        raise InvalidInput("文件路径中含有无法识别的字符") from None
    if "\x00" in text or not text.strip():
        raise InvalidInput("文件路径为空或含有不可见的控制字符")
    return Path(text)


class _DryRun(Exception):
    """Raised inside the import's transaction so that a dry run rolls it back."""


@app.command("import")
def import_(
    file: PathArg,
    skip_bad: Annotated[
        bool, typer.Option("--skip-bad", help="有误的行跳过，其余照常导入")
    ] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="只检查，不导入")] = False,
    encoding: Annotated[
        str | None,
        typer.Option(
            "--encoding",
            help="编码，如 utf-8、gb18030、gbk、gb2312、utf-16、big5（只用于 CSV；"
            "默认按开头的 BOM 或内容识别）",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """从 Excel/WPS 表格导入此前登记的案件：CSV（UTF-8、带 BOM 的 UTF-8、GBK/GB18030）或 XLSX。

    表头（中文或英文，第一行）：姓名/name、电话/phone、反映事项/matter、受理时间/received_at
    为必需；可选 身份证号/id_number、受阻部门/department、渠道/channel、分类/category、
    子类/subtype、主办单位/unit、办结时间/closed_at、办理结果/result、长效机制/mechanism、
    满意度/satisfaction。期限按中心规则计算，每件记一条“导入”事件。

    有误的行逐行列出行号与原因；默认只要有一行有误就不导入任何一行（--skip-bad 导入其余）。
    导入在一个事务中完成，中途中断不会留下半截数据。整个文件只用一种编码解读：文件开头
    的 BOM、--encoding 指定的编码，或自动识别（UTF-8，否则 GBK/GB18030）；有解读不了的
    字节就指出第几行并拒绝导入，不会存入乱码。

    例：bbc import 2021年台账.xlsx；bbc import 台账.csv --dry-run
    """
    from banbucheng.trust import importer
    from banbucheng.trust.encoding import check_encoding

    codec = check_encoding(encoding) if encoding is not None else None
    table = importer.read_table(_path(file), codec)
    outcome = _run_import(table, keep=lambda o: not dry_run and (skip_bad or not o.bad))
    _show_import(outcome, dry_run=dry_run, as_json=as_json)


def _run_import(table: Any, keep: Callable[[Any], bool]) -> Any:
    """Load the table in one write transaction, committed only if keep(outcome)."""
    from banbucheng.trust import importer

    last = [0.0]

    def progress(done: int, total: int) -> None:  # the first batch, then every 2 seconds
        if time.monotonic() - last[0] >= 2 and done < total:
            last[0] = time.monotonic()
            notice(f"已处理 {done}/{total} 行…")

    outcome: importer.Outcome | None = None
    try:
        with session(write=True, doing="import") as ctx:
            outcome = importer.run_import(ctx, table, progress=progress)
            if not keep(outcome):
                raise _DryRun
            from banbucheng.store import refresh_statistics

            refresh_statistics(ctx.session)
    except _DryRun:
        outcome.kept = False  # type: ignore[union-attr]
    return outcome


def _show_import(outcome: Any, *, dry_run: bool, as_json: bool) -> None:
    for row, reason in outcome.bad:
        notice(f"第 {row} 行：{reason}")
    if as_json:
        print_json(outcome.as_dict(dry_run=dry_run))
    if outcome.ignored:
        notice(f"已忽略未识别的列：{'、'.join(outcome.ignored)}")
    if outcome.kept and outcome.new_units:
        notice(f"新单位已加入单位名录：{'、'.join(outcome.new_units)}")
    n_ok, n_bad = len(outcome.imported), len(outcome.bad)
    if dry_run:
        verdict = f"检查完毕（未导入）：{n_ok} 行可导入，{n_bad} 行有误"
        (notice if as_json else typer.echo)(verdict)
        if n_bad:
            raise typer.Exit(1)
        return
    if not outcome.kept:
        fail(
            f"错误：{n_bad} 行有误，未导入任何案件；改正后重新导入，或加 --skip-bad 只导入无误的行"
        )
    if not n_ok:
        fail(f"错误：没有可导入的行（{n_bad} 行有误）")
    if not as_json:
        # One write, not one per case: 20,000 numbers echoed one by one cost 1.5%.
        write_chunks(["".join(f"{number}\n" for _, number in outcome.imported)])
    skipped = f"，跳过有误的 {n_bad} 行" if n_bad else ""
    notice(f"已导入 {n_ok} 件案件{skipped}")
