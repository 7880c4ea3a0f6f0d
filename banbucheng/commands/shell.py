"""`bbc completion`: TAB completion for bash, zsh and fish, installed in Chinese.

The scripts call `python -m banbucheng` with _BBC_COMPLETE set, which answers from
window/completion.py with the standard library only. What it needs to know about the
commands (their names, options and what each argument takes) is the tree built here
from the commands themselves, cached by window/completion.py.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from banbucheng.commands.chinese import summary
from banbucheng.core.errors import InvalidInput

completion_app = typer.Typer(
    name="completion",
    help="命令补全：按 TAB 补全命令、选项、案件编号和单位名称（bash、zsh、fish）。",
    no_args_is_help=True,
)

SHELLS = ("bash", "zsh", "fish")
ShellArg = Annotated[
    str | None,
    typer.Argument(help="shell：bash、zsh 或 fish（默认为当前使用的 shell）", show_default=False),
]


# ---------------------------------------------------------------- the command tree


def _kind(param: Any) -> str:
    """What a parameter's value is, for TAB: flag, case, unit or value."""
    if getattr(param, "is_flag", False) or getattr(param, "count", False):
        return "flag"
    complete = getattr(param, "_custom_shell_complete", None)
    for candidate in [
        complete,
        *(c.cell_contents for c in (getattr(complete, "__closure__", None) or ())),
    ]:
        kind = getattr(candidate, "bbc_completion", None)
        if kind:
            return str(kind)
    return "value"


def _node(command: Any, ctx: Any) -> dict[str, Any]:
    node: dict[str, Any] = {"help": summary(command.short_help or command.help)}
    options: dict[str, str] = {}
    arguments: list[str] = []
    repeat = False
    for param in command.get_params(ctx):
        if param.param_type_name == "argument":
            arguments.append(_kind(param))
            repeat = param.nargs == -1
        elif not getattr(param, "hidden", False):
            for name in [*param.opts, *param.secondary_opts]:
                options[name] = _kind(param)
    node["options"], node["args"], node["repeat"] = options, arguments, repeat
    commands = getattr(command, "commands", None)
    if commands is not None:
        node["commands"] = {}
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            if sub is not None and not sub.hidden:
                sub_ctx = sub.context_class(sub, info_name=name, parent=ctx)
                node["commands"][name] = _node(sub, sub_ctx)
    return node


def command_tree(root: Any) -> dict[str, Any]:
    """Every command, option and argument of `root` (the click command behind bbc)."""
    return _node(root, root.context_class(root, info_name="bbc"))


# ---------------------------------------------------------------- the scripts

_RUN = '_BBC_COMPLETE=complete_{shell} "{python}" -P -m banbucheng 2>/dev/null'

_BASH = """# bbc 命令补全（由 bbc completion install 写入）
_bbc_completion() {{
    local IFS=$'\\n'
    COMPREPLY=( $(env COMP_WORDS="${{COMP_WORDS[*]}}" COMP_CWORD=$COMP_CWORD {run}) )
    return 0
}}
complete -o default -F _bbc_completion bbc
"""

_ZSH = """#compdef bbc
# bbc 命令补全（由 bbc completion install 写入）
_bbc() {{
    local -a items
    items=("${{(@f)$(env COMP_WORDS="${{words[*]}}" COMP_CWORD=$((CURRENT-1)) {run})}}")
    if [[ -n "${{items[1]}}" ]]; then
        _describe 'bbc' items
    else
        _files
    fi
}}
if [[ "$funcstack[1]" = "_bbc" ]]; then
    _bbc "$@"
else
    compdef _bbc bbc
fi
"""

_FISH = """# bbc 命令补全（由 bbc completion install 写入）
function __bbc_complete
    set -l words (commandline -opc) (commandline -ct)
    env COMP_WORDS="$words" COMP_CWORD=(math (count $words) - 1) {run}
end
complete -c bbc -f -a '(__bbc_complete)'
"""


def script(shell: str) -> str:
    run = _RUN.format(shell=shell, python=sys.executable)
    return {"bash": _BASH, "zsh": _ZSH, "fish": _FISH}[shell].format(run=run)


def _shell(name: str | None) -> str:
    if name is None:
        name = Path(os.environ.get("SHELL", "")).name
        if name not in SHELLS:
            raise typer.BadParameter(
                "无法判断当前的 shell，请写明 bash、zsh 或 fish", param_hint="shell"
            )
    if name not in SHELLS:
        raise typer.BadParameter("应为 bash、zsh 或 fish", param_hint="shell")
    return name


def _ensure_line(rc: Path, lines: list[str]) -> None:
    """Append the lines to a shell's start-up file unless it already has them."""
    existing = rc.read_text(encoding="utf-8") if rc.exists() else ""
    missing = [line for line in lines if line not in existing]
    if missing:
        with rc.open("a", encoding="utf-8") as f:
            f.write(
                ("\n" if existing and not existing.endswith("\n") else "")
                + "\n".join(missing)
                + "\n"
            )


def install_script(shell: str, home: Path) -> tuple[Path, Path | None]:
    """Write the script where the shell finds it; returns (script, start-up file)."""
    if shell == "bash":
        target, rc = home / ".bash_completions" / "bbc.sh", home / ".bashrc"
        lines = [f"source {target}"]
    elif shell == "zsh":
        target, rc = home / ".zfunc" / "_bbc", home / ".zshrc"
        lines = ["fpath+=~/.zfunc", "autoload -Uz compinit && compinit"]
    else:
        target, rc, lines = home / ".config" / "fish" / "completions" / "bbc.fish", None, []
    from banbucheng.core.files import write_atomic

    target.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(target, script(shell).encode("utf-8"))  # the mode of every file bbc writes
    if rc is not None:
        _ensure_line(rc, lines)
    return target, rc


@completion_app.command("install")
def install(ctx: typer.Context, shell: ShellArg = None) -> None:
    """为当前 shell 安装命令补全；重开终端后，按 TAB 补全命令、选项、案件编号和单位名称。

    例：bbc completion install；bbc completion install zsh
    """
    from banbucheng.window import completion

    name = _shell(shell)
    try:
        target, rc = install_script(name, Path.home())
    except OSError as exc:
        raise InvalidInput(f"无法写入补全脚本：{exc.strerror}") from None
    completion.save_tree(command_tree(ctx.find_root().command))  # the first TAB is fast too
    where = f"，并已在 {rc} 中加载" if rc is not None else ""
    typer.echo(f"已安装 {name} 命令补全：{target}{where}；重开终端后生效")


@completion_app.command("show")
def show(shell: ShellArg = None) -> None:
    """显示补全脚本，供自行安装（例如写入系统的补全目录）。

    例：bbc completion show bash > /etc/bash_completion.d/bbc
    """
    typer.echo(script(_shell(shell)), nl=False)
