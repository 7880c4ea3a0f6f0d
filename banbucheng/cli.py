"""`bbc`: the root of the command line.

Here are only the global options (--db, --operator, --version), the home screen shown
when no command is given, the one place where errors become a Chinese line and an exit
code, and the list of command modules. The commands themselves live in
banbucheng/commands/, one module per area; what they share is in commands/common.py.

Heavy modules (the store, sqlmodel, rich tables) are imported inside the commands
that use them, so `bbc --help` and shell completion stay fast.
"""

from __future__ import annotations

import os
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from banbucheng import __version__
from banbucheng.commands import admin, browse, cases, demo, knowledge, reports, trust, window
from banbucheng.commands.common import fail, state
from banbucheng.core.errors import BbcError


class _Root(TyperGroup):
    """The root command. Every command runs inside its invoke(), so this is where a
    domain error becomes one Chinese line on stderr and an exit code; never a traceback
    (unless BBC_DEBUG is set, for developers)."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except BbcError as exc:
            fail(f"错误：{exc.message}", exc.exit_code)
        except (typer.Exit, typer.Abort, typer.TyperException):
            raise  # exit codes, Ctrl-C and usage errors, which typer reports itself
        except Exception as exc:  # a bug: say so briefly, without data that may be personal
            if os.environ.get("BBC_DEBUG"):
                raise
            fail(f"内部错误（{type(exc).__name__}），操作未保存；设置 BBC_DEBUG=1 可查看详情", 70)


app = typer.Typer(
    cls=_Root,
    help="办不成事反映窗口案件管理：登记、分类、派单、督办、办结、回访与每日汇总。"
    "不带命令运行 bbc 显示首页（今日待办）。",
    invoke_without_command=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"bbc {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    ctx: typer.Context,
    db: Annotated[
        str | None,
        typer.Option(
            "--db", help="数据库：文件路径或 SQLAlchemy URL（默认取 BBC_DB，再默认用户数据目录）"
        ),
    ] = None,
    operator: Annotated[
        str | None,
        typer.Option("--operator", help="经办人（默认取 BBC_OPERATOR，再默认系统用户名）"),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="显示版本")
    ] = False,
) -> None:
    state.db = db
    state.operator = operator
    if ctx.invoked_subcommand is None and not ctx.resilient_parsing:
        window.home()


# The order here is the order of `bbc --help`: a case's life first, then reading it,
# reports, the knowledge base, trust in the records, the window; the groups last.
for _module in (cases, browse, demo, reports, knowledge, trust, window):
    app.add_typer(_module.app)
for _group in (
    admin.units_app,
    admin.calendar_app,
    admin.config_app,
    knowledge.mechanism_app,
    knowledge.template_app,
):
    app.add_typer(_group)


def run() -> None:
    """Entry point: `bbc`."""
    app(prog_name="bbc")
