"""The command line's own words in Chinese: help, usage errors and option values.

typer and click write their help, their usage errors and their option checks in
English ("Usage:", "Options:", "Show this message and exit.", "No such option: -h",
"Input should be a valid integer"). Every command is adopted here once it is built
(`adopt`, called for each command as cli.py's root resolves it): its class gains
Chinese help, laid out for Chinese text (two columns a character, wrapped between
characters, no line starting with a closing mark), and its options are read by
plain conversions that complain in Chinese (which also spares each command building
a pydantic validator per option). `usage_message` turns any usage error into one
Chinese line. Whatever a command module declares, it is adopted the same way.
"""

from __future__ import annotations

import inspect
import re
import shutil
from collections.abc import Callable, Iterator, MutableMapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args, get_origin

import typer
from typer._click import exceptions as _click  # typer's own copy of click
from typer._coercion import RuntimeParam
from typer.core import TyperArgument, TyperCommand, TyperGroup

from banbucheng.core.text import is_wide, paragraphs, width, wrap

HELP_TEXT = "显示本帮助并退出"
HELP_NAMES = ["-h", "--help"]


def summary(text: str | None) -> str:
    """A command's one-line summary: the first sentence of its help, never cut."""
    first = paragraphs(text or "")
    if not first:
        return ""
    sentence = first[0]
    end = sentence.find("。")
    return sentence[: end + 1] if end >= 0 else sentence


def terminal_columns(ctx: Any) -> int:
    columns = getattr(ctx, "terminal_width", None) or shutil.get_terminal_size().columns
    limit = getattr(ctx, "max_content_width", None)
    return max(40, min(columns, limit) if limit else columns) - 1


# ---------------------------------------------------------------- help


def _phrase(text: str | None) -> str:
    """The head of a help text, as the name of the value it asks for:
    "案件编号，如 BB20210401-001" → "案件编号"."""
    head = re.split(r"[，。；：（(,;]", text or "", maxsplit=1)[0].strip()
    return head or "值"


def _value_name(param: Any) -> str:
    metavar = getattr(param, "metavar", None)
    if metavar:
        return {"FILE": "文件", "DIR": "文件夹", "PATH": "路径"}.get(metavar, metavar)
    annotation = param.type_descriptor.annotation
    if get_origin(annotation) is list:
        (annotation,) = get_args(annotation) or (str,)
    if annotation is int:
        return "整数"
    if annotation is float:
        return "数"
    if isinstance(annotation, type) and issubclass(annotation, Path):
        return "路径"
    choices = param.type_descriptor.choices
    if choices:
        return "|".join(str(getattr(c, "value", c)) for c in choices)
    return "文字"


def _argument_name(param: Any) -> str:
    name = _phrase(param.help)
    if param.nargs != 1:
        name += "…"
    return name if param.required else f"[{name}]"


def _extras(param: Any) -> list[str]:
    extra = []
    low, high = getattr(param, "min", None), getattr(param, "max", None)
    if low is not None and high is not None:
        extra.append(f"{low}–{high}")
    elif low is not None:
        extra.append(f"至少 {low}")
    elif high is not None:
        extra.append(f"至多 {high}")
    default = param.default
    shown = param.show_default if param.param_type_name == "option" else False
    if shown and default not in (None, False, "", (), []) and not callable(default):
        extra.append(f"默认 {getattr(default, 'value', default)}")
    if param.required and param.param_type_name == "option":
        extra.append("必填")  # a required argument shows in the usage line
    return extra


def _records(params: list[Any]) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    arguments, options = [], []
    for param in params:
        if getattr(param, "hidden", False):
            continue
        help_text = " ".join(paragraphs(param.help or ""))
        extra = _extras(param)
        if extra:
            help_text = f"{help_text}（{'；'.join(extra)}）" if help_text else "；".join(extra)
        if isinstance(param, TyperArgument):
            arguments.append((_argument_name(param).strip("[]"), help_text))
            continue
        names = ", ".join(sorted(param.opts, key=len) + list(param.secondary_opts))
        if not param.is_flag and not param.count:
            names += f" {_value_name(param)}"
            if param.multiple:
                names += "…"
        options.append((names, help_text))
    return arguments, options


def _definitions(rows: list[tuple[str, str]], columns: int) -> list[str]:
    """Two columns, the second wrapped beside the first (or below it, if the first is
    too wide)."""
    if not rows:
        return []
    left = min(max(width(term) for term, _ in rows), 28) + 2
    lines = []
    for term, text in rows:
        body = wrap(text, columns - 2 - left) if text else [""]
        if width(term) + 2 > left:
            lines.append(f"  {term}")
            lines.extend(" " * (2 + left) + piece for piece in body if piece)
            continue
        lines.append(f"  {term}{' ' * (left - width(term))}{body[0]}".rstrip())
        lines.extend(" " * (2 + left) + piece for piece in body[1:])
    return lines


def _usage(command: Any, ctx: Any) -> str:
    pieces = [ctx.command_path]
    params = [p for p in command.get_params(ctx) if not getattr(p, "hidden", False)]
    if any(p.param_type_name == "option" for p in params):
        pieces.append("[全局选项]" if ctx.parent is None and _is_group(command) else "[选项]")
    pieces += [_argument_name(p) for p in params if isinstance(p, TyperArgument)]
    if _is_group(command):
        pieces.append("命令 [参数]…" if ctx.parent is not None else "[命令 [参数]…]")
    return "用法：" + " ".join(pieces)


def _is_group(command: Any) -> bool:
    return isinstance(command, TyperGroup)


def help_text(command: Any, ctx: Any) -> str:
    columns = terminal_columns(ctx)
    lines = wrap(_usage(command, ctx), columns)
    for paragraph in paragraphs(command.help or ""):
        lines.append("")
        lines.extend("  " + piece for piece in wrap(paragraph, columns - 2))
    arguments, options = _records(command.get_params(ctx))
    sections = [("参数", arguments)]
    top = ctx.parent is None and _is_group(command)
    sections.append(("全局选项" if top else "选项", options))
    if _is_group(command):
        rows = []
        for name in command.list_commands(ctx):
            commands = command.commands
            if isinstance(commands, LazyCommands) and commands.hidden(name):
                continue
            text = commands.summary(name) if isinstance(commands, LazyCommands) else None
            if text is None:
                sub = command.get_command(ctx, name)
                if sub is None or sub.hidden:
                    continue
                text = summary(sub.short_help or sub.help)
            rows.append((name, text))
        sections.append(("命令", rows))
    for title, rows in sections:
        if rows:
            lines += ["", f"{title}：", *_definitions(rows, columns)]
    if top:
        lines += ["", f"每个命令的帮助：{ctx.command_path} 命令 -h"]
    return "\n".join(lines)


class ChineseHelp:
    """What every adopted command (and group) does differently: Chinese help, -h, and
    Chinese messages for an unknown sub-command."""

    __slots__ = ()  # so that a built command's class can be swapped for the adopted one

    def list_commands(self, ctx: Any) -> list[str]:
        return list(self.commands)  # type: ignore[attr-defined]  # names only: nothing built

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)  # type: ignore[misc]
        except _click.UsageError as exc:
            if exc.ctx is None:  # raised by the parser: name the command it was parsing
                exc.ctx = ctx
            raise

    def format_help(self, ctx: Any, formatter: Any) -> None:
        formatter.write(help_text(self, ctx) + "\n")

    def format_usage(self, ctx: Any, formatter: Any) -> None:
        formatter.write(_usage(self, ctx) + "\n")

    def get_short_help_str(self, limit: int = 45) -> str:
        return summary(self.short_help or self.help)  # type: ignore[attr-defined]

    def get_help_option(self, ctx: Any) -> Any:
        option = super().get_help_option(ctx)  # type: ignore[misc]
        if option is not None:
            option.help = HELP_TEXT
            lighten([option])  # else reading it would build a pydantic validator
        return option

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        name = args[0]
        if self.get_command(ctx, name) is None and not name.startswith("-"):  # type: ignore[attr-defined]
            raise UnknownCommand(ctx, name, list(self.list_commands(ctx)))  # type: ignore[attr-defined]
        return super().resolve_command(ctx, args)  # type: ignore[misc]


class UnknownCommand(_click.UsageError):
    def __init__(self, ctx: Any, name: str, known: list[str]) -> None:
        import difflib

        self.name, self.suggestions = name, difflib.get_close_matches(name, known, n=3)
        super().__init__("No such command.", ctx)


_CHINESE: dict[type, type] = {}


def chinese(cls: type) -> type:
    """The class `cls` with Chinese help (ChineseHelp first, so its methods win)."""
    if issubclass(cls, ChineseHelp):
        return cls
    if cls not in _CHINESE:
        _CHINESE[cls] = type(f"Chinese{cls.__name__}", (ChineseHelp, cls), {"__slots__": ()})
    return _CHINESE[cls]


def prepare(app: Any) -> None:
    """Have typer build every command of a Typer app (and of its groups) with Chinese
    help: each command's class is set before it is built."""
    for info in app.registered_commands:
        info.cls = chinese(info.cls or TyperCommand)
    for group in app.registered_groups:
        if group.typer_instance is not None:
            prepare(group.typer_instance)


def adopt(command: Any) -> Any:
    """Light option values for a built command and every command in it."""
    lighten(command.params)
    for sub in (getattr(command, "commands", None) or {}).values():
        adopt(sub)
    return command


Source = Callable[[], tuple[list[Any], list[Any]]]


def lazy_commands(sources: Sequence[Source]) -> LazyCommands:
    """The commands of the sources, by name, each built only when it is first needed.
    A source gives, when called, Typer apps whose commands it adds and Typer apps it
    adds as groups (each source typically imports one command module): sources are
    called in order, only as far as needed to find a command by name, all of them
    to list every command (help, completion)."""
    return LazyCommands(sources)


def _add_apps(commands: LazyCommands, command_apps: list[Any], group_apps: list[Any]) -> None:
    import functools

    import typer.main

    build_command = functools.partial(
        typer.main.get_command_from_info, pretty_exceptions_short=True, rich_markup_mode=None
    )
    build_group = functools.partial(
        typer.main.get_group_from_info,
        pretty_exceptions_short=True,
        suggest_commands=True,
        rich_markup_mode=None,
    )
    for app in command_apps:
        prepare(app)
        for info in app.registered_commands:
            name = info.name or typer.main.get_command_name(info.callback.__name__)
            text = info.short_help or info.help or inspect.getdoc(info.callback)
            commands.add(name, functools.partial(build_command, info), text, hidden=info.hidden)
    for app in group_apps:
        prepare(app)
        solved = typer.main.solve_typer_info_defaults(typer.main.TyperInfo(app))
        info = typer.main.TyperInfo(app, cls=chinese(solved.cls or TyperGroup))
        build = functools.partial(build_group, info)
        commands.add(solved.name, build, solved.help, hidden=solved.hidden)


# ---------------------------------------------------------------- commands built on demand


class LazyCommands(MutableMapping[str, Any]):
    """A group's commands, each built (and adopted) the first time it is asked for:
    typer builds a command's options from its function's signature, which for forty
    commands takes longer than the one being run. Listing them (help, completion)
    needs only their names and summaries. The modules that define them are imported
    as far as needed to find the one asked for (see lazy_commands): `bbc register`
    imports the case commands' module, not the reports', the trust checks' or the
    administration's."""

    def __init__(self, sources: Sequence[Source] = ()) -> None:
        self._build: dict[str, Callable[[], Any]] = {}
        self._summaries: dict[str, str] = {}
        self._built: dict[str, Any] = {}
        self._hidden: set[str] = set()
        self._sources = list(sources)

    def _load_next(self) -> bool:
        if not self._sources:
            return False
        _add_apps(self, *self._sources.pop(0)())
        return True

    def _find(self, name: str) -> None:
        while name not in self._build and self._load_next():
            pass

    def _load_all(self) -> None:
        while self._load_next():
            pass

    def add(
        self, name: str, build: Callable[[], Any], help_text: str | None, *, hidden: bool = False
    ) -> None:
        self._build[name] = build
        self._summaries[name] = summary(help_text)
        if hidden:
            self._hidden.add(name)

    def summary(self, name: str) -> str | None:
        self._find(name)
        return self._summaries.get(name)

    def hidden(self, name: str) -> bool:
        self._find(name)
        return name in self._hidden

    def __getitem__(self, name: str) -> Any:
        if name not in self._built:
            self._find(name)
            if name not in self._build:
                raise KeyError(name)
            self._built[name] = adopt(self._build[name]())
        return self._built[name]

    def __setitem__(self, name: str, command: Any) -> None:
        self._load_all()  # a command added later comes after every source's
        self._built[name] = adopt(command)
        self._build[name] = lambda: command
        self._summaries[name] = summary(command.short_help or command.help)

    def __delitem__(self, name: str) -> None:
        self._load_all()
        for table in (self._build, self._summaries, self._built):
            table.pop(name, None)

    def __iter__(self) -> Iterator[str]:
        self._load_all()
        return iter(self._build)

    def __len__(self) -> int:
        self._load_all()
        return len(self._build)


# ---------------------------------------------------------------- option values


@dataclass(frozen=True)
class _Plain(RuntimeParam):
    """Text, whole numbers, paths, switches and lists of text, converted without
    pydantic, with Chinese complaints."""

    def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
        annotation = self.annotation
        if get_origin(annotation) is list:
            return [_screened(str(v), param, ctx) for v in value]
        if annotation is bool:
            return bool(value)
        if annotation is int:
            return _whole_number(value, param, ctx)
        if annotation is str:
            return _screened(str(value), param, ctx)
        return Path(_screened(str(value), param, ctx))


# Options and arguments that name a file or folder (their metavar; Path ones too).
PATH_METAVARS = frozenset({"FILE", "DIR", "PATH"})
# Beyond any value a number option could mean: refused even where no range is declared.
_HUGE = 2**31


def is_path(param: Any) -> bool:
    annotation = getattr(getattr(param, "type_descriptor", None), "annotation", None)
    return getattr(param, "metavar", None) in PATH_METAVARS or annotation is Path


def _screened(text: str, param: Any, ctx: Any) -> str:
    """Every text and path value before any command sees it: undecodable bytes from
    the command line (surrogates), NUL, and for a path anything the file system
    cannot take, refused in one Chinese line (never echoing the value)."""
    if is_path(param):
        from banbucheng.core.files import path_problem

        problem = path_problem(text)
        if problem:
            raise _click.BadParameter(problem, ctx=ctx, param=param)
    elif "\x00" in text or any("\ud800" <= ch <= "\udfff" for ch in text):
        raise _click.BadParameter(
            "含有无法识别的字符（不是有效的 UTF-8 文字），请重新输入", ctx=ctx, param=param
        )
    return text


def _whole_number(value: Any, param: Any, ctx: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise _click.BadParameter("应为整数", ctx=ctx, param=param)
    try:
        number = int(value.strip()) if isinstance(value, str) else value
    except ValueError:
        raise _click.BadParameter("应为整数", ctx=ctx, param=param) from None
    low, high = getattr(param, "min", None), getattr(param, "max", None)
    if abs(number) >= _HUGE and (low is None or high is None):
        raise _click.BadParameter("超出范围", ctx=ctx, param=param)
    if low is not None and number < low:
        raise _click.BadParameter(f"应不小于 {low}", ctx=ctx, param=param)
    if high is not None and number > high:
        raise _click.BadParameter(f"应不大于 {high}", ctx=ctx, param=param)
    return number


def _plain(annotation: Any) -> bool:
    if get_origin(annotation) is list:
        return get_args(annotation) == (str,)
    return annotation in (str, int, bool) or annotation is Path


def lighten(params: list[Any]) -> None:
    for param in params:
        descriptor = getattr(param, "type_descriptor", None)
        if descriptor is None or getattr(param, "_runtime_param", True) is not None:
            continue
        if descriptor.file_annotation is None and _plain(descriptor.annotation):
            param._runtime_param = _Plain(
                parameter_info=descriptor.parameter_info, annotation=descriptor.annotation
            )


# ---------------------------------------------------------------- usage errors


def _hint(param: Any, given: Any = None) -> str:
    if isinstance(given, str):
        return given
    if param is None:
        return "参数"
    if isinstance(param, TyperArgument):
        return _phrase(param.help)
    return sorted(param.opts, key=len)[-1] if param.opts else param.name


def _said(text: str) -> str | None:
    """What the user typed, if it is safe to repeat: a short command or option name,
    never a value (which could be someone's name or phone number)."""
    return text if re.fullmatch(r"-{0,2}[A-Za-z][A-Za-z0-9-]{0,30}", text) else None


def usage_message(exc: Any) -> str:
    """Any usage error as one Chinese line (the exit code stays 2)."""
    ctx = getattr(exc, "ctx", None)
    path = ctx.command_path if ctx is not None else "bbc"
    if isinstance(exc, UnknownCommand):
        typed = _said(exc.name)
        text = f"没有命令「{typed}」" if typed else "没有这个命令"
        if exc.suggestions:
            text += f"，是不是要 {'、'.join(exc.suggestions)}？"
        path = ctx.command_path if ctx is not None else "bbc"
    elif isinstance(exc, _click.NoSuchOption):
        typed = _said(exc.option_name)
        text = f"没有选项 {typed}" if typed else "没有这个选项"
        if exc.possibilities:
            text += f"，是不是要 {'、'.join(sorted(exc.possibilities))}？"
    elif isinstance(exc, _click.BadOptionUsage):
        name = _said(exc.option_name) or "该选项"
        text = f"{name} 不带值" if "does not take" in exc.message else f"{name} 后面缺少值"
    elif isinstance(exc, _click.MissingParameter):
        param = exc.param
        if isinstance(param, TyperArgument):
            text = f"缺少{_hint(param)}"
        else:
            text = f"缺少选项 {_hint(param)}"
    elif isinstance(exc, _click.BadParameter):
        message = exc.message if _chinese(exc.message) else "的值无效"
        text = f"{_hint(exc.param, exc.param_hint)} {message}"
    elif exc.message.startswith("Got unexpected extra argument"):
        text = "多余的参数；值中有空格时请加引号"
    elif exc.message.startswith("Missing command"):
        text = "缺少命令"
    elif _chinese(exc.message):
        text = exc.message
    else:
        text = "命令用法有误"
    return f"用法错误：{text}（{path} -h 查看用法）"


def _chinese(text: str) -> bool:
    return any(is_wide(ch) for ch in text or "")


def help_requested(exc: Any) -> bool:
    """A group run without a command shows its help (typer reports it as an error)."""
    return isinstance(exc, _click.NoArgsIsHelpError)


__all__ = [
    "HELP_NAMES",
    "ChineseHelp",
    "LazyCommands",
    "TyperCommand",
    "TyperGroup",
    "adopt",
    "help_requested",
    "help_text",
    "summary",
    "typer",
    "usage_message",
    "width",
    "wrap",
]
