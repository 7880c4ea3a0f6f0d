"""Writes docs/reference.md, the command reference, from the commands' own help.

Walks the click command tree behind `bbc` (the app and every command and sub-command)
and renders each help with click's own formatter (the copy typer uses) at a fixed width of
100 columns, with no colours, so the page is the same on every machine and in every terminal.

Run: python scripts/gen_cli_reference.py            # writes docs/reference.md
     python scripts/gen_cli_reference.py --check    # exit 1 if the page is out of date
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "reference.md"
WIDTH = 100
PROG = "bbc"

HEADER = """# 命令参考

本页由 `python scripts/gen_cli_reference.py` 根据各命令自己的帮助（`bbc 命令 --help`）生成，
请勿手工编辑；命令的帮助改动后重新运行该脚本。CI 用 `--check` 检查本页是否过时。
"""


def _quiet_environment() -> None:
    """Pin everything that could make the rendered help depend on the machine."""
    os.environ.update({"COLUMNS": str(WIDTH), "NO_COLOR": "1", "TERM": "dumb"})
    for name in ("FORCE_COLOR", "PY_COLORS", "TERMINAL_WIDTH", "GITHUB_ACTIONS"):
        os.environ.pop(name, None)
    for name in list(os.environ):
        if name.startswith("BBC_"):
            del os.environ[name]


def _context(command, name: str, parent=None):
    # The command's own context class: typer may ship its own copy of click, so
    # `click.Context` is not necessarily the class its commands expect.
    return command.context_class(
        command, info_name=name, parent=parent, terminal_width=WIDTH, max_content_width=WIDTH
    )


def _walk(ctx) -> Iterator[tuple[str, str]]:
    """(command path, help text) for ctx's command and, depth first, its sub-commands."""
    command = ctx.command
    yield ctx.command_path, command.get_help(ctx).rstrip() + "\n"
    if getattr(command, "commands", None) is None:  # not a group
        return
    for name in command.list_commands(ctx):
        sub = command.get_command(ctx, name)
        if sub is None or sub.hidden:
            continue
        yield from _walk(_context(sub, name, parent=ctx))


def render() -> str:
    _quiet_environment()
    sys.path.insert(0, str(ROOT))  # document the working tree, not an installed copy
    import typer.main

    from banbucheng.cli import app

    root = typer.main.get_command(app)
    parts = [HEADER]
    for path, text in _walk(_context(root, PROG)):
        parts.append(f"## {path}\n\n```text\n{text}```\n")
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="生成命令参考 docs/reference.md")
    parser.add_argument(
        "--check", action="store_true", help="只检查：页面与将要生成的内容不同时以 1 退出"
    )
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = OUT.read_text(encoding="utf-8") if OUT.exists() else None
        if current != text:
            print(
                f"{OUT.relative_to(ROOT)} 已过时：请运行 python scripts/gen_cli_reference.py",
                file=sys.stderr,
            )
            return 1
        return 0
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text, encoding="utf-8")
    print(f"已写入 {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
