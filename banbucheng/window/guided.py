"""Guided entry: on a terminal, ask in Chinese for whatever the command line left out.

Staff talk to a citizen while they type; a question at a time, with choices and
defaults, beats a long line of quoted options. Without a terminal (cron, pipes,
tests) nothing ever waits: the command fails at once, naming every missing option.
"""

from __future__ import annotations

import os
import re
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
    many: bool = False  # several answers, separated by 、 or commas: the value is a list
    # For a free answer that is not one of the choices: a question to confirm it with
    # (e.g. a new unit close to a known one), or None when it needs no confirmation.
    confirm_new: Callable[[str], str | None] | None = None
    hint: str = ""  # shown after the question only, e.g. 可多个，用顿号分隔


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


_SEPARATORS = re.compile(r"[、，,；;\s]+")


def _choice(ask: Ask, text: str) -> tuple[str, bool]:
    """One answer as (value, is it new): a listed number or name, or (free) new text.
    A number is only ever a list number: one outside the list is refused unless the
    question allows new text, which then asks to confirm it."""
    text = text.strip()
    if text.isdigit() and 1 <= int(text) <= len(ask.choices):
        return ask.choices[int(text) - 1][0], False
    for value, label in ask.choices:
        if text in (value, label):
            return value, False
    if ask.free:
        return text, True
    if not ask.choices:
        return text, False
    raise InvalidInput(f"请输入 1–{len(ask.choices)} 的序号或选项名称")


def _confirm_new(ask: Ask, value: str) -> bool:
    """A new value typed where a list was offered: confirmed when it looks like a slip
    (only digits, or close to a listed name)."""
    question = None
    if value.isdigit():
        where = f"（1–{len(ask.choices)}）" if ask.choices else ""
        from banbucheng.core.validate import masked_echo

        shown = masked_echo(value)  # digits typed here may be a phone number
        question = f"「{shown}」不是列表中的序号{where}；要把它作为新的名称加入吗？"
    elif ask.confirm_new is not None:
        question = ask.confirm_new(value)
    return question is None or yes_or_no(question, default=False)


def _answer(ask: Ask, text: str) -> Any:
    """The value of one typed answer (a list when the question takes several)."""
    parts = [p for p in _SEPARATORS.split(text) if p] if ask.many else [text]
    values: list[str] = []
    for part in parts:
        value, new = _choice(ask, part) if ask.choices or ask.free else (part, False)
        if new and not _confirm_new(ask, value):
            raise InvalidInput("未采用，请重新输入")
        if value not in values:
            values.append(value)
    if ask.check:
        for value in values:
            ask.check(value)
    return values if ask.many else values[0]


def _question(ask: Ask) -> Any:
    from rich.console import Console
    from rich.prompt import Prompt

    console = Console(highlight=False)
    if ask.choices:
        listing = "  ".join(f"{i}.{label}" for i, (_, label) in enumerate(ask.choices, 1))
        console.print(f"[dim]{escape(listing)}[/dim]")
    while True:
        notes = "，".join(n for n in (ask.hint, "" if ask.required else "可留空") if n)
        prompt = ask.label + (f"（{notes}）" if notes else "")
        answer = Prompt.ask(
            escape(prompt), default=ask.default, show_default=ask.default is not None
        )
        answer = (answer or "").strip()
        if not answer:
            if not ask.required:
                return None
            console.print("[red]此项必填[/red]")
            continue
        try:
            return _answer(ask, answer)
        except InvalidInput as exc:
            console.print(f"[red]{escape(exc.message)}[/red]")


def escape(text: str) -> str:
    from rich.markup import escape as rich_escape

    return rich_escape(text)


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


def case_header(data: dict[str, Any]) -> None:
    """The case a guided step is about, shown before its first question: staff holding
    a number on a slip see which matter it is, where it stands and when it is due."""
    from banbucheng.core.text import ellipsize
    from banbucheng.core.timeutil import human
    from banbucheng.reports.render import clean, columns, left_text, say

    due = "—"
    if data["due_at"]:
        due = human(data["due_at"]) + ("（暂定）" if data["provisional"] else "")
        due += f"  {left_text(data)}"
    category = (data["category_label"] or "待分类") + (
        f"/{data['subtype_label']}" if data["subtype_label"] else ""
    )
    say(f"{data['number']}  {data['status_label']}  {category}  期限 {due}", "bold")
    say(ellipsize("事项：" + clean(data["matter"]), min(columns(), 160) - 1))


def confirm(title: str, rows: Sequence[tuple[str, str]]) -> bool:
    """Show what is about to be saved and ask; only ever called on a terminal."""
    from rich.console import Console
    from rich.table import Table

    # The title is a line of its own: as a table's title it would be wrapped to the
    # table's width, splitting the case number in it.
    console = Console(highlight=False)
    console.print(f"[bold]{escape(title)}[/bold]")
    table = Table(show_header=False)
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    for label, value in rows:
        table.add_row(escape(label), escape(value or "—"))
    console.print(table)
    return yes_or_no("确认保存？", default=True)


_YES, _NO = ("y", "yes", "是", "好", "对"), ("n", "no", "否", "不")


def yes_or_no(question: str, *, default: bool) -> bool:
    """A y/n question (是/否 also understood), re-asked in Chinese on anything else."""
    from rich.prompt import Confirm, InvalidResponse

    class _Confirm(Confirm):
        validate_error_message = "[prompt.invalid]请输入 y（是）或 n（否）"

        def process_response(self, value: str) -> bool:
            answer = value.strip().lower()
            if answer in _YES:
                return True
            if answer in _NO:
                return False
            raise InvalidResponse(self.validate_error_message)

    return _Confirm.ask(escape(question), default=default)
