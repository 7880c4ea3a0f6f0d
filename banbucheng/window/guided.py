"""Guided entry: on a terminal, ask in Chinese for whatever the command line left out.

Staff talk to a citizen while they type; a question at a time, with choices and
defaults, beats a long line of quoted options. Without a terminal (cron, pipes,
tests) nothing ever waits: the command fails at once, naming every missing option.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from banbucheng.core.errors import InvalidInput


@dataclass
class Ask:
    """One value a command needs."""

    key: str  # the command's parameter name
    option: str  # e.g. "--name", named in the non-interactive error
    label: str  # the question, in Chinese
    required: bool = True
    default: str | None = None  # offered on Enter
    choices: Sequence[tuple[str, str]] = ()  # (value, label); typed as number or label
    check: Callable[[str], Any] | None = None  # raises InvalidInput on a bad value
    free: bool = False  # with choices: any other text is accepted too (e.g. a new unit)
    when: Callable[[dict[str, Any]], bool] | None = None  # ask only if the answers so far fit


def interactive() -> bool:
    """A person at a terminal: both ends are TTYs and the caller has not opted out."""
    if os.environ.get("BBC_NO_PROMPT"):
        return False
    try:
        return sys.stdin.isatty() and sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


def missing_message(missing: Sequence[Ask]) -> str:
    listed = "、".join(f"{a.label}（{a.option}）" for a in missing)
    return f"缺少：{listed}"


def _choice(ask: Ask, text: str) -> str:
    text = text.strip()
    if text.isdigit() and 1 <= int(text) <= len(ask.choices):
        return ask.choices[int(text) - 1][0]
    for value, label in ask.choices:
        if text in (value, label):
            return value
    if ask.free:
        return text
    raise InvalidInput(f"请输入 1–{len(ask.choices)} 的序号或选项名称")


def _question(ask: Ask) -> Any:
    from rich.console import Console
    from rich.prompt import Prompt

    console = Console(highlight=False)
    if ask.choices:
        listing = "  ".join(f"{i}.{label}" for i, (_, label) in enumerate(ask.choices, 1))
        console.print(f"[dim]{listing}[/dim]")
    while True:
        prompt = ask.label + ("" if ask.required else "（可留空）")
        answer = Prompt.ask(prompt, default=ask.default, show_default=ask.default is not None)
        answer = (answer or "").strip()
        if not answer:
            if not ask.required:
                return None
            console.print("[red]此项必填[/red]")
            continue
        try:
            value = _choice(ask, answer) if ask.choices else answer
            if ask.check:
                ask.check(value)
            return value
        except InvalidInput as exc:
            console.print(f"[red]{exc.message}[/red]")


def fill(asks: Sequence[Ask], given: dict[str, Any]) -> dict[str, Any]:
    """The values given on the command line, plus answers for the missing required ones
    (and, on a terminal, the optional ones too). Off a terminal, a missing required
    value is an error naming all of them at once."""
    values = dict(given)
    missing = [a for a in asks if a.required and _empty(values.get(a.key))]
    if not interactive():
        if missing:
            raise InvalidInput(missing_message(missing))
        return values
    prompted = False
    for ask in asks:
        if ask.when is not None and not ask.when(values):
            continue
        if _empty(values.get(ask.key)) and (ask.required or missing):
            values[ask.key] = _question(ask)
            prompted = True
    values["_prompted"] = prompted
    return values


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def confirm(title: str, rows: Sequence[tuple[str, str]]) -> bool:
    """Show what is about to be saved and ask; only ever called on a terminal."""
    from rich.console import Console
    from rich.prompt import Confirm
    from rich.table import Table

    table = Table(title=title, show_header=False)
    table.add_column(style="bold")
    table.add_column()
    for label, value in rows:
        table.add_row(label, value or "—")
    Console(highlight=False).print(table)
    return Confirm.ask("确认保存？", default=True)
