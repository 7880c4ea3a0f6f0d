"""What every command module shares: the global options' state, the shared option types,
the store session, output helpers and the guided-entry glue.

Commands are plain typer functions. They raise BbcError for anything the user can act
on; cli.py turns that into one Chinese line and an exit code for every command at once.

Heavy modules (the store, sqlmodel, rich) are imported inside the functions that use
them, so `bbc --help` and shell completion stay fast.
"""

from __future__ import annotations

import getpass
import json
import os
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any

import typer

from banbucheng.core.errors import InvalidInput

if TYPE_CHECKING:
    from banbucheng.store import Ctx


class State:
    """The global options (--db, --operator), set by the root callback in cli.py, and
    the store the command opened (so what it prints can name it)."""

    db: str | None = None
    operator: str | None = None
    location: Any = None  # store.Location, once the store is opened
    # Set by cli.run: this process runs one command and exits (not a test or a caller
    # running many commands in one process), so what it imported may be frozen.
    one_command: bool = False


state = State()


# ---------------------------------------------------------------- shared options


def _db_of(ctx: Any) -> str | None:
    root = ctx.find_root() if ctx is not None else None
    return root.params.get("db") if root is not None else None


def complete_case_numbers(ctx: Any, incomplete: str) -> list[str]:
    """Shell completion of case numbers (open cases first)."""
    from banbucheng.window import completion

    return completion.case_numbers(_db_of(ctx), incomplete)


def complete_units(ctx: Any, incomplete: str) -> list[str]:
    """Shell completion of unit names (for --unit, --helper)."""
    from banbucheng.window import completion

    return completion.unit_names(_db_of(ctx), incomplete)


# What each completes, for the command tree that TAB reads (window/completion.py).
complete_case_numbers.bbc_completion = "case"  # type: ignore[attr-defined]
complete_units.bbc_completion = "unit"  # type: ignore[attr-defined]


JsonOpt = Annotated[bool, typer.Option("--json", help="输出 JSON（英文键名，供脚本使用）")]
NumberArg = Annotated[
    str,
    typer.Argument(
        help="案件编号，如 BB20210401-001",
        show_default=False,
        autocompletion=complete_case_numbers,
    ),
]


# ---------------------------------------------------------------- messages and output


def fail(message: str, code: int = 1) -> None:
    typer.echo(message, err=True)
    raise typer.Exit(code)


def notice(message: str) -> None:
    typer.echo(message, err=True)


def print_json(data: Any) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2))


# ---------------------------------------------------------------- long lists

SHOWN = 50  # a long list's table shows 50 (`list` on a terminal: a screenful); --all every one


def more_note(hidden: int) -> str:
    from banbucheng.core.labels import more_note as note  # the reports' tables say it too

    return note(hidden)


def write_chunks(chunks: Iterable[str]) -> None:
    """Text made a piece at a time (a streamed list), to standard output as it comes."""
    out = sys.stdout
    for chunk in chunks:
        out.write(chunk)
    out.flush()


# ---------------------------------------------------------------- the store


def actor() -> str:
    """Who is working: --operator, else BBC_OPERATOR, else the system user."""
    name = state.operator or os.environ.get("BBC_OPERATOR") or _os_user()
    from banbucheng.core.validate import clean_text

    return clean_text(name, field="经办人", max_len=40)


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def locate_store(*, create: str | None = None, announce: bool = True) -> Any:
    """Where the store is (store.locate), saying so when it has just been made."""
    from banbucheng.store import NEVER, locate

    location = locate(state.db, create=create or NEVER)
    if location.created and announce:
        first = "（首次使用）" if location.is_default else ""
        notice(f"已新建数据库：{location.label}{first}")
    state.location = location
    return location


def open_store(*, create: str | None = None, announce: bool = True) -> Any:
    """The store, opened; a missing file is made only when `create` allows it. A key
    made just now for it (a new or upgraded store) is announced with where it is."""
    import gc

    from banbucheng.store import Store

    store = Store(locate_store(create=create, announce=announce).url, waiting=waiting_notice)
    if announce:
        announce_key(store)
    if state.one_command:
        # The modules and tables imported by now live as long as the process: the
        # collector need not walk them again while the command runs, and it runs
        # again from here on, for what the command itself makes (see cli.run).
        gc.freeze()
        gc.enable()
    return store


def unreadable_store() -> str | None:
    """After a command failed unexpectedly: the values of its store that no command
    can read, as the message to give (store.Store.unreadable); None if there are
    none, or the store was never opened, or cannot be opened to look."""
    if state.location is None:
        return None
    from banbucheng.store import Store

    try:
        store = Store(state.location.url)
    except Exception:  # the message about the first failure is the one to give
        return None
    try:
        return store.unreadable()
    except Exception:
        return None
    finally:
        store.close()


def waiting_notice(seconds: float, doing: str | None) -> None:
    """A write waiting for another writer (dialects.WRITE_WAIT_S at most; Ctrl-C stops it)."""
    what = f"（{doing}）" if doing else ""
    notice(f"另一项写入正在进行{what}，等待中… 已等 {int(seconds)} 秒（按 Ctrl-C 放弃）")


def announce_key(store: Any) -> None:
    """Say where a key made just now for the store is (once)."""
    if store.key_created is not None:
        notice(KEY_CREATED.format(path=store.key_created))
        store.key_created = None


KEY_CREATED = (
    "已新建这个数据库的密钥：{path}（群众的姓名、电话、身份证号用它加密保存；"
    "请尽快用 bbc key backup --out 文件 备份，并与数据库的备份分开存放，"
    "丢失密钥则无法再查看这些信息）"
)


def source_line(label: str | None) -> None:
    """Name the store under what a command showed (reports/render.py)."""
    if label:
        from banbucheng.reports.render import source_line as line

        line(label)


def store_label() -> str | None:
    """The store a command read, to name beside what it shows, unless it is the default."""
    location = state.location
    if location is None or location.is_default:
        return None
    return location.label


@contextmanager
def session(
    *, write: bool, create: str | None = None, announce: bool = True, doing: str | None = None
) -> Iterator[Ctx]:
    """Open the store and yield a context in one transaction. A command that writes may
    make a missing store file (with a notice), one that only reads never does.
    Provisional deadlines are brought up to date first, whenever the calendar has
    learnt more since: inside the command's own transaction when it writes, else in a
    short write of their own before the read. `doing` (store.WRITERS): a long write,
    named to the writers that wait for it."""
    from contextlib import ExitStack

    from banbucheng.core.clock import now
    from banbucheng.store import FILE, any_provisional

    store = open_store(create=create or (FILE if write else None), announce=announce)
    moment, who = now(), actor()
    refreshed = 0
    try:
        with ExitStack() as stack:
            if doing is not None:
                stack.enter_context(store.announce(doing))
            ctx = stack.enter_context(store.context(actor=who, now=moment, write=write))
            if any_provisional(ctx.session):
                # Imported only here (usually no deadline is provisional): a command that
                # only reads does not load the actions.
                from banbucheng.domain import lifecycle

                if lifecycle.pending_recompute(ctx):
                    if write:
                        refreshed = lifecycle.refresh_provisional(ctx)
                    else:
                        stack.close()  # the read ends; the refresh is written on its own
                        with store.context(actor=who, now=moment) as wctx:
                            _refreshed_notice(lifecycle.refresh_provisional(wctx))
                        ctx = stack.enter_context(store.context(actor=who, now=moment, write=False))
            yield ctx
        _refreshed_notice(refreshed)
        if announce:
            announce_key(store)
    finally:
        store.close()


def _refreshed_notice(n: int) -> None:
    if n:
        notice(f"提示：节假日安排已更新，{n} 件案件的暂定期限已重新计算")


# ---------------------------------------------------------------- one case


def case_out(ctx: Ctx, case: Any, as_json: bool, *, reveal: bool = False) -> dict[str, Any]:
    """The case as the JSON output shows it; printed when as_json."""
    from banbucheng.domain.views import case_dicts

    data = case_dicts(
        ctx.session,
        [case],
        now=ctx.now,
        calendar=ctx.calendar,
        reveal=reveal,
        keyring=_keys(ctx, reveal),
    )[0]
    if as_json:
        print_json(data)
    return data


def _keys(ctx: Ctx, reveal: bool) -> Any:
    """The keys when the clear values are asked for; one line (exit 6) when missing."""
    return ctx.require_keyring("无法显示未遮盖的个人信息") if reveal else None


def provisional_notice(data: dict[str, Any]) -> None:
    if data.get("provisional"):
        notice(
            f"注意：期限 {data['due_date']} 为暂定——该年份的节假日安排尚未载入日历，"
            "按周一至周五及固定节日估算；"
            "载入后（升级 chinese-calendar 或 bbc calendar import）将自动重算"
        )


# ---------------------------------------------------------------- option values


def required(value: str | None, option: str, label: str) -> str:
    if value is None or not value.strip():
        raise InvalidInput(f"缺少{label}（{option}）")
    return value


def opt_datetime(text: str | None, field: str) -> Any:
    if text is None:
        return None
    from banbucheng.core.validate import parse_datetime

    return parse_datetime(text, field=field)


def opt_date(text: str | None, field: str) -> Any:
    if text is None:
        return None
    from banbucheng.core.validate import parse_date

    return parse_date(text, field=field)


# ---------------------------------------------------------------- guided entry


def guide(asks: list[Any], given: dict[str, Any], title: str) -> dict[str, Any]:
    """Fill what the command line left out: asked on a terminal, an error elsewhere; when
    anything was asked, the whole entry is shown for confirmation before saving."""
    from banbucheng.window.guided import confirm, fill

    values = fill(asks, given)
    if values.pop("_prompted", False):
        rows = [(a.label, _shown(a, values.get(a.key))) for a in asks]
        if not confirm(title, rows):
            fail("已取消，未保存")
    return values


def check_first(number: str | None, action: str, also: Any = None) -> Any:
    """On a terminal, before the first question: the store opens, the case exists and
    the step is allowed in its state (lifecycle.ALLOWED), so nobody answers questions
    for a case that cannot take them. `also(ctx)`, if given, is read in the same
    look (e.g. the units to choose from); its result is returned. The case is shown
    first (guided.case_header). Off a terminal nothing is asked, and the command checks
    as it saves."""
    from banbucheng.window.guided import interactive

    if not interactive():
        return None
    if number is None:  # a new case: only the store must be there to take it
        from banbucheng.store import FILE, locate

        locate(state.db, create=FILE, make=False)
        return None
    from banbucheng.domain import lifecycle
    from banbucheng.domain.views import case_dicts
    from banbucheng.window.guided import case_header

    with session(write=False) as ctx:
        case = lifecycle.get_case(ctx.session, number, checked=True)
        lifecycle.check_allowed(case, action)
        found = also(ctx) if also is not None else None
        case_header(case_dicts(ctx.session, [case], now=ctx.now, calendar=ctx.calendar)[0])
        return found


def _shown(ask: Any, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return "、".join(_shown(ask, v) for v in value)
    labels = dict(ask.choices)
    if ask.free and value not in labels:
        return f"{value}（新）"
    return labels.get(value, str(value))


def now_text() -> str:
    """Now, as a guided question offers it by default."""
    from banbucheng.core.clock import now

    return now().strftime("%Y-%m-%d %H:%M")
