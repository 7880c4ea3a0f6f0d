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
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any

import typer

from banbucheng.core.errors import InvalidInput

if TYPE_CHECKING:
    from banbucheng.store import Ctx


class State:
    """The global options (--db, --operator), set by the root callback in cli.py."""

    db: str | None = None
    operator: str | None = None


state = State()


# ---------------------------------------------------------------- shared options


def _complete(kind: str, ctx: Any, incomplete: str) -> list[str]:
    from banbucheng.window import completion

    return getattr(completion, kind)(ctx, incomplete)


def complete_units(ctx: Any, incomplete: str) -> list[str]:
    """Shell completion of unit names (for --unit, --helper)."""
    return _complete("unit_names", ctx, incomplete)


JsonOpt = Annotated[bool, typer.Option("--json", help="输出 JSON（英文键名，供脚本使用）")]
NumberArg = Annotated[
    str,
    typer.Argument(
        help="案件编号，如 BB20210401-001",
        show_default=False,
        autocompletion=lambda ctx, incomplete: _complete("case_numbers", ctx, incomplete),
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


def open_store() -> Any:
    from banbucheng.store import Store, resolve_url

    return Store(resolve_url(state.db))


@contextmanager
def session(*, write: bool) -> Iterator[Ctx]:
    """Open the store and yield a context in one transaction. Provisional deadlines are
    brought up to date first, whenever the calendar has learnt more since."""
    from banbucheng.core.clock import now
    from banbucheng.domain import lifecycle

    store = open_store()
    moment, who = now(), actor()
    try:
        with store.context(actor=who, now=moment, write=False) as ctx:
            stale = lifecycle.pending_recompute(ctx)
        if stale:
            with store.context(actor=who, now=moment) as ctx:
                n = lifecycle.refresh_provisional(ctx)
            notice(f"提示：节假日安排已更新，{n} 件案件的暂定期限已重新计算")
        with store.context(actor=who, now=moment, write=write) as ctx:
            yield ctx
    finally:
        store.close()


# ---------------------------------------------------------------- one case


def case_out(ctx: Ctx, case: Any, as_json: bool, *, reveal: bool = False) -> dict[str, Any]:
    """The case as the JSON output shows it; printed when as_json."""
    from banbucheng.domain.views import case_dicts

    data = case_dicts(ctx.session, [case], now=ctx.now, calendar=ctx.calendar, reveal=reveal)[0]
    if as_json:
        print_json(data)
    return data


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


def _shown(ask: Any, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return "、".join(value)
    return dict(ask.choices).get(value, str(value))


def now_text() -> str:
    """Now, as a guided question offers it by default."""
    from banbucheng.core.clock import now

    return now().strftime("%Y-%m-%d %H:%M")
