"""`bbc`: the root of the command line.

Here are only the global options (--db, --operator, --version), the home screen shown
when no command is given, the one place where errors become a Chinese line and an exit
code, and the list of command modules. The commands themselves live in
banbucheng/commands/, one module per area; what they share is in commands/common.py,
and their Chinese help and usage errors in commands/chinese.py.

A command's module is imported, and the command built from its function, only when
it is run (or its help is shown), and heavy modules (the store, sqlmodel, rich tables)
are imported inside the commands that use them, so `bbc --help` stays fast; TAB
completion does not come here at all (window/completion.py).
"""

from __future__ import annotations

import gc

# What a command imports (typer here; sqlalchemy, pydantic and the tables later) is
# a great many objects that live as long as the process. The cyclic collector would
# walk them over and over while they are being made, about a tenth of a command's CPU
# time, and find no garbage among them: it is paused while they are imported, here and
# in run() until the store is open (commands/common.open_store).
_COLLECTING = gc.isenabled()
gc.disable()

import importlib  # noqa: E402  (after pausing the collector, as every import below)
import os  # noqa: E402
import sys  # noqa: E402
from typing import Annotated, Any  # noqa: E402

import typer  # noqa: E402
from typer._click import exceptions as click_errors  # noqa: E402
from typer.core import TyperGroup  # noqa: E402

from banbucheng import __version__  # noqa: E402
from banbucheng.commands.chinese import (  # noqa: E402
    HELP_NAMES,
    ChineseHelp,
    help_requested,
    lazy_commands,
    lighten,
    usage_message,
)
from banbucheng.commands.common import fail, state, unreadable_store  # noqa: E402
from banbucheng.core.errors import BbcError, Unreadable  # noqa: E402

if _COLLECTING:  # as it was for whoever imported this module (tests, other tools)
    gc.enable()

# The order here is the order of `bbc --help`: a case's life first, then reading it,
# reports, the knowledge base, trust in the records, the window; the groups last
# (module, attribute). A module is imported only when a command is looked for in it:
# `bbc register` imports commands/cases.py alone, --help every one.
COMMAND_MODULES = ("cases", "browse", "demo", "reports", "knowledge", "trust", "window")
GROUPS = (
    ("admin", "units_app"),
    ("admin", "calendar_app"),
    ("admin", "config_app"),
    ("knowledge", "mechanism_app"),
    ("knowledge", "template_app"),
    ("key", "key_app"),
    ("shell", "completion_app"),
)


def _command_module(name: str) -> Any:
    return importlib.import_module(f"banbucheng.commands.{name}")


def _sources() -> list[Any]:
    """What lazy_commands reads, in order: each command module's commands, then each
    group."""
    commands = [lambda m=m: ([_command_module(m).app], []) for m in COMMAND_MODULES]
    groups = [lambda m=m, a=a: ([], [getattr(_command_module(m), a)]) for m, a in GROUPS]
    return commands + groups


EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # Ctrl-C, as shells report a process stopped by SIGINT


class _Root(ChineseHelp, TyperGroup):
    """The root command. Every command runs inside its invoke(), so this is where a
    domain error becomes one Chinese line on stderr and an exit code; never a traceback
    (unless BBC_DEBUG is set, for developers). Usage errors, found while the command
    line is read, are turned into one Chinese line in main()."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.commands = lazy_commands(_sources())
        lighten(self.params)

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except BbcError as exc:
            fail(f"错误：{exc.message}", exc.exit_code)
        except (typer.Exit, typer.Abort, typer.TyperException):
            raise  # exit codes, and usage errors (reported by main below)
        except KeyboardInterrupt:
            _leave_prompt_line()
            fail("已中断，未保存", EXIT_INTERRUPTED)
        except EOFError:  # Ctrl-D where a question waited for an answer
            _leave_prompt_line()
            fail("已取消，未保存", 1)
        except BrokenPipeError:  # the reader had enough (bbc list --all | head): no error
            # Anything still buffered for the closed pipe goes nowhere, quietly.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise typer.Exit(0) from None
        except Exception as exc:  # a bug: say so briefly, without data that may be personal
            if os.environ.get("BBC_DEBUG"):
                raise
            # Unless the store holds values no command can read (edited behind the
            # tool's back), which is what the user must hear about instead.
            unreadable = unreadable_store()
            if unreadable is not None:
                fail(f"错误：{unreadable}", Unreadable.exit_code)
            fail(f"内部错误（{type(exc).__name__}），操作未保存；设置 BBC_DEBUG=1 可查看详情", 70)

    def main(
        self,
        args: Any = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click_errors.UsageError as exc:
            if help_requested(exc):
                typer.echo(exc.ctx.get_help())
                code = 0
            else:
                typer.echo(usage_message(exc), err=True)
                code = EXIT_USAGE
        except click_errors.ClickException:
            typer.echo("错误：无法打开给出的文件", err=True)
            code = 1
        except typer.Abort:
            typer.echo("已取消，未保存", err=True)
            code = 1
        if not standalone_mode:
            return code
        sys.exit(code if isinstance(code, int) else 0)

    def _main_shell_completion(
        self, ctx_args: Any, prog_name: str, complete_var: Any = None
    ) -> None:
        """TAB in a shell whose completion script calls `bbc` itself: answered as
        window/completion.py answers `python -m banbucheng`."""
        if os.environ.get("_BBC_COMPLETE"):
            from banbucheng.commands.shell import command_tree

            sys.exit(complete(lambda: command_tree(self)))


def complete(load_tree: Any) -> int:
    from banbucheng.window import completion

    return completion.main(load_tree)


def _leave_prompt_line() -> None:
    """After Ctrl-C or Ctrl-D at a question, end the question's line first, so the
    message is a line of its own."""
    if sys.stdout.isatty():
        typer.echo("")


app = typer.Typer(
    cls=_Root,
    help="办不成事反映窗口案件管理：登记、分类、派单、督办、办结、回访与每日汇总。"
    "不带命令运行 bbc 显示首页（今日待办）。",
    invoke_without_command=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    add_completion=False,  # bbc completion install / show, in Chinese
    context_settings={"help_option_names": HELP_NAMES},
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
            "--db",
            metavar="PATH",
            help="数据库：文件路径或 SQLAlchemy URL（默认取 BBC_DB，再默认用户数据目录）",
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
        from banbucheng.commands.window import home

        home()


def _unfailing_output() -> None:
    """Standard output and error that no character can fail. Redirected to a file or a
    pipe on Chinese Windows they are in the ANSI code page (GBK, cp936), which has no
    byte for the BOM every CSV starts with, nor for rarer characters of names
    (生僻字, such as 䶮): a command stopped there with an internal error. Such a stream
    is written in UTF-8 instead (the CSV's BOM then tells Excel and WPS so); a terminal
    keeps its encoding, a character it cannot show printed as "?"."""
    import codecs

    for stream in (sys.stdout, sys.stderr):
        encoding = getattr(stream, "encoding", None) or "utf-8"
        if codecs.lookup(encoding).name == "utf-8" or not hasattr(stream, "reconfigure"):
            continue
        if stream.isatty():
            stream.reconfigure(errors="replace")
        else:
            stream.reconfigure(encoding="utf-8")


def run() -> None:
    """Entry point: `bbc`.

    Each command is a short-lived process, and what it imported (sqlalchemy, pydantic,
    the tables) lives until it exits. The cyclic collector is paused until the store is
    open, when those imports are done (open_store freezes them and resumes it), so it
    does not walk them while they are made. Python's last garbage collection at exit
    would walk every one of them again, a quarter of a second of CPU per command on
    the benchmark's machine; frozen (gc.freeze), they are left to the process's end,
    like the rest of its memory. Files and the store are closed by the commands
    themselves (with-blocks, store.close), not by that collection."""
    gc.disable()
    state.one_command = True
    _unfailing_output()
    try:
        app(prog_name="bbc")
    finally:
        gc.freeze()
