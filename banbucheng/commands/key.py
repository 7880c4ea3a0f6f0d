"""`bbc key`: the store's key, kept outside the store (core/keyring.py): create it,
back it up, rotate it, and see its state. Citizens' names, phones and ID numbers are
encrypted with it (schema/personal.py); no command prints a key.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from banbucheng.commands.common import JsonOpt, notice, open_store, print_json
from banbucheng.core.errors import InvalidInput

key_app = typer.Typer(
    name="key",
    help="数据库的密钥（加密群众的姓名、电话、身份证号）：新建、备份、轮换、查看状态。",
    no_args_is_help=True,
)

KEPT_APART = "请与数据库的备份分开保存：两者放在一起，拿到的人就能看到全部个人信息"


@key_app.command("status")
def status(as_json: JsonOpt = False) -> None:
    """密钥是否可用、在哪里、有哪些密钥编号，以及各有多少件案件用它加密（不显示密钥本身）。
    没有可用的密钥时退出码为 6。

    例：bbc key status
    """
    from banbucheng.core.keyring import EXIT_KEY
    from banbucheng.schema.personal import key_counts

    store = open_store()
    try:
        with store.session(write=False) as session:
            counts = key_counts(session.connection())
    finally:
        store.close()
    ring = store.keyring
    data: dict[str, Any] = {
        "store_id": store.store_id,
        "present": ring is not None,
        "source": ring.source if ring else None,
        "problem": store.key_problem.message if store.key_problem else None,
        "current": ring.current if ring else None,
        "key_ids": sorted(ring.data_keys) if ring else [],
        "cases_by_key": counts,
    }
    if as_json:
        print_json(data)
    else:
        typer.echo(f"数据库标识：{store.store_id}")
        if ring is not None:
            typer.echo(f"密钥：可用（{ring.source}）")
            ids = "、".join(
                f"{k}（当前）" if k == ring.current else k for k in sorted(ring.data_keys)
            )
            typer.echo(f"密钥编号：{ids}")
        else:
            typer.echo(
                f"密钥：不可用（{data['problem'] or '没有找到密钥文件，也没有设置 BBC_KEY'}）"
            )
        if counts:
            for key_id, n in sorted(counts.items()):
                missing = "" if ring is not None and key_id in ring.data_keys else "（密钥中没有）"
                typer.echo(f"用 {key_id} 加密的案件：{n} 件{missing}")
        else:
            typer.echo("还没有加密的案件")
    if ring is None:
        raise typer.Exit(EXIT_KEY)


@key_app.command("create")
def create(
    force: Annotated[
        bool,
        typer.Option("--force", help="密钥已丢失时仍新建：此前案件的个人信息将无法再查看"),
    ] = False,
) -> None:
    """为这个数据库新建密钥（新数据库第一次使用时会自动新建）；已有密钥时拒绝，从不覆盖。

    例：bbc key create
    """
    from dataclasses import replace

    from banbucheng.core import keyring as keys
    from banbucheng.schema.personal import key_counts
    from banbucheng.store import FILE

    store = open_store(create=FILE, announce=False)
    try:
        if store.key_created is not None:
            typer.echo(str(store.key_created))
            notice(f"已新建密钥：{store.key_created}；{KEPT_APART}（bbc key backup --out 文件）")
            return
        if store.key_problem is not None:
            raise store.key_problem
        if store.keyring is not None:
            raise InvalidInput(f"这个数据库已有密钥（{store.keyring.source}），不会覆盖")
        with store.session(write=False) as session:
            counts = key_counts(session.connection())
        if counts and not force:
            n = sum(counts.values())
            raise InvalidInput(
                f"已有 {n} 件案件的个人信息用原来的密钥加密，新密钥打不开它们；请先找回密钥文件"
                "或 BBC_KEY（确已丢失时加 --force：此后登记的案件照常加密）"
            )
        ring = keys.generate(store.store_id or "")
        # Never reuse a key id the store's tokens already name: they belong to the lost key.
        numbers = [int(k[1:]) for k in counts if k[1:].isdigit()]
        if numbers:
            fresh = f"k{max(numbers) + 1}"
            ring = replace(ring, data_keys={fresh: ring.data_keys["k1"]}, current=fresh)
        path = keys.write(ring, keys.key_path(ring.store_id))
    finally:
        store.close()
    typer.echo(str(path))
    notice(f"已新建密钥：{path}；{KEPT_APART}（bbc key backup --out 文件）")
    if counts:
        notice("注意：此前案件的个人信息无法用新密钥查看，按姓名、电话查找也找不到它们")


@key_app.command("backup")
def backup(
    out: Annotated[
        str,
        typer.Option(
            "--out", metavar="FILE", help="备份到的文件（不得已存在）", show_default=False
        ),
    ],
) -> None:
    """把这个数据库的密钥备份到文件（仅所有者可读写）。密钥要与数据库的备份分开保存。

    例：bbc key backup --out /mnt/另一个U盘/bbc.key
    """
    from banbucheng.core import keyring as keys
    from banbucheng.core.files import check_path, check_target

    target = check_path(out)
    store = open_store()
    try:
        ring = store.require_keyring("无法备份密钥")
    finally:
        store.close()
    if target.is_dir():
        target = target / f"{ring.store_id}.key"
    # In an existing folder only: a mistyped path must not make folders for the key.
    written = keys.write(ring, check_target(target))
    typer.echo(str(written))
    notice(f"已备份密钥：{written}（仅所有者可读写）。{KEPT_APART}")


@key_app.command("rotate")
def rotate() -> None:
    """轮换密钥：新建一个数据密钥作为当前密钥，把每件案件的个人信息用它重新加密（分批，
    中断后再次运行即继续），完成后从密钥文件中撤下旧的数据密钥。请在其他窗口不登记时运行。

    例：bbc key rotate
    """
    from banbucheng.trust.personal import rotate as run

    store = open_store()
    try:
        ring = store.require_keyring("无法轮换密钥")
        new, n, made = run(store, ring, progress=lambda done: notice(f"已重新加密 {done} 件……"))
    finally:
        store.close()
    start = f"已新建数据密钥 {new.current}" if made else f"已继续完成轮换到 {new.current}"
    typer.echo(f"{start}，重新加密 {n} 件案件的个人信息；旧的数据密钥已撤下")
    notice(f"密钥文件已更新，请重新备份：bbc key backup --out 文件（{KEPT_APART}）")
