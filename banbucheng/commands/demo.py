"""`bbc demo`: a store with the two real cases the window was built for, and their day's
roll-up, for trying bbc out without touching real data.
"""

from __future__ import annotations

from typing import Annotated

import typer

from banbucheng.commands.common import session, state
from banbucheng.commands.reports import print_daily_report

app = typer.Typer()


@app.command()
def demo(
    db: Annotated[
        str | None,
        typer.Option("--db", metavar="FILE", help="演示数据库（默认为数据目录下的 demo.sqlite3）"),
    ] = None,
) -> None:
    """载入两件真实案例（李海清的社保卡、霍女士的诊所两证）并打印当日汇总。

    例：bbc demo
    """
    from banbucheng.store import DIRECTORIES
    from banbucheng.window import demo as demo_mod

    target = db or state.db or demo_mod.default_path()
    state.db = target
    state.operator = state.operator or "演示窗口"
    # A demo store is made on purpose (and named below): no notice that it was.
    with session(write=True, create=DIRECTORIES, announce=False) as ctx:
        numbers = demo_mod.load(ctx)
    typer.echo(f"演示数据库：{target}")
    typer.echo(f"已载入案例：{'、'.join(numbers)}")
    print_daily_report(demo_mod.REPORT_DAY)
    typer.echo(f"\n继续查看：bbc --db {target} show {numbers[-1]}")
