"""Every word a person reads is Chinese: the help of every command and sub-command
(--help and -h), and the usage mistakes people make, each one Chinese line with exit
code 2, never a traceback and never click's or typer's English."""

from __future__ import annotations

import re

import pytest
import typer.main
from typer.testing import CliRunner

from banbucheng.cli import app

# What click and typer write in English, and must never reach the user.
ENGLISH = [
    "Usage:",
    "Error:",
    "Options",
    "Commands",
    "Arguments",
    "Show this message",
    "[required]",
    "required",
    "default:",
    "Try '",
    "No such",
    "Missing",
    "Invalid value",
    "Did you mean",
    "Aborted",
    "Got unexpected",
    "Possible options",
    "Input should be",
    "<str>",
    "<int",
    "env var",
    "install-completion",
    "show-completion",
]
# ASCII words that may appear in Chinese text: names, formats, tools and examples.
TECHNICAL = {
    "bbc", "sqlalchemy", "url", "json", "csv", "xlsx", "docx", "excel", "wps", "utf", "bom",
    "gbk", "markdown", "postgresql", "sqlite", "pg", "dump", "cron", "bash", "zsh", "fish",
    "shell", "tab", "less", "chinese", "calendar", "id", "or", "and",
}  # fmt: skip


def _commands() -> list[list[str]]:
    """The path of every command and group, the root first."""
    out: list[list[str]] = []
    stack: list[tuple[list[str], object]] = [([], typer.main.get_command(app))]
    while stack:
        path, command = stack.pop()
        out.append(path)
        subcommands = getattr(command, "commands", None) or {}
        for name in sorted(subcommands):
            stack.append(([*path, name], subcommands[name]))
    return out


def _english_sentences(text: str) -> list[str]:
    """Runs of three or more plain English words that are not names or examples."""
    found = []
    for line in text.splitlines():
        if "例：" in line or line.startswith("用法：") or re.match(r"\s*(bbc|root)\b", line):
            continue  # an example, or the usage line: command names
        line = re.sub(r"每个命令的帮助：.*", "", line)
        words = re.findall(r"(?<![\w./-])[A-Za-z]+(?![\w./-])", line)
        run: list[str] = []
        for word in [*words, ""]:
            if word and word.lower() not in TECHNICAL and not word.isupper():
                run.append(word)
                continue
            if len(run) >= 3:
                found.append(" ".join(run))
            run = []
    return found


def _assert_chinese(text: str) -> None:
    for marker in ENGLISH:
        assert marker not in text, (marker, text)
    assert "Traceback" not in text, text
    assert not _english_sentences(text), (_english_sentences(text), text)


COMMANDS = _commands()
TECHNICAL |= {part for path in COMMANDS for name in path for part in name.split("-")}


def bbc(*args: str):
    return CliRunner().invoke(app, list(args), prog_name="bbc")


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "bbc")
@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help_is_chinese_for_every_command(path, flag):
    result = bbc(*path, flag)
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert result.stdout.startswith("用法："), result.stdout
    assert result.stderr == ""
    _assert_chinese(result.stdout)
    assert "-h, --help" in result.stdout and "显示本帮助并退出" in result.stdout


def test_every_summary_is_whole():
    """The command list shows each command's first sentence, never cut mid-phrase."""
    text = bbc("--help").stdout
    commands = text.split("命令：\n", 1)[1]
    assert "..." not in commands and "…" not in commands
    flat = "".join(commands.split())
    for whole in (
        "体检：完整性、表结构版本、日历覆盖（11月起提醒载入明年放假安排）、期限是否与现行日历和政策一致、"
        "文件权限、事件链。",
        "从Excel/WPS表格导入此前登记的案件：CSV（UTF-8、带BOM的UTF-8、GBK/GB18030）或XLSX。",
        "在其他窗口照常登记时做一致的备份（SQLite在线备份），备份文件仅所有者可读写。",
    ):
        assert whole in flat, whole


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["registr"], "没有命令「registr」，是不是要 register"),
        (["--dbb", "x", "list"], "没有选项 --dbb，是不是要 --db"),
        (["list", "--bogus"], "没有选项 --bogus"),
        (["show"], "缺少案件编号"),
        (["units", "add"], "缺少单位名称"),
        (["list", "--limit", "abc"], "--limit 应为整数"),
        (["list", "--limit", "0"], "--limit 应不小于 1"),
        (["search", "年检", "--limit", "1000"], "--limit 应不大于 100"),
        (["completion", "install", "tcsh"], "shell 应为 bash、zsh 或 fish"),
        (["list", "--status"], "--status 后面缺少值"),
        (["list", "--json", "多余"], "多余的参数"),
        (["calendar", "frobnicate"], "没有命令「frobnicate」"),
        (["-x"], "没有选项 -x"),
    ],
)
def test_usage_mistakes_are_one_chinese_line_with_exit_code_2(args, says):
    result = bbc(*args)
    assert result.exit_code == 2, (result.stdout, result.stderr)
    message = result.stderr.strip()
    assert "\n" not in message and message.startswith("用法错误："), message
    assert says in message, message
    assert message.endswith("查看用法）"), message
    assert result.stdout == ""
    _assert_chinese(result.stderr)


def test_usage_errors_never_repeat_what_may_be_personal():
    result = bbc("张三")
    assert result.exit_code == 2 and "张三" not in result.stderr
    result = bbc("show", "BB20210401-001", "13812345678")
    assert result.exit_code == 2 and "13812345678" not in result.stderr


def test_a_group_without_a_command_shows_its_help():
    result = bbc("units")
    assert result.exit_code == 0 and result.stdout.startswith("用法：bbc units")
    _assert_chinese(result.stdout)


def test_completion_is_installed_in_chinese(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    result = bbc("completion", "install", "bash")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("已安装 bash 命令补全")
    _assert_chinese(result.stdout)
    script = (tmp_path / ".bash_completions" / "bbc.sh").read_text(encoding="utf-8")
    assert "-m banbucheng" in script and "_BBC_COMPLETE=complete_bash" in script
    assert f"source {tmp_path}/.bash_completions/bbc.sh" in (tmp_path / ".bashrc").read_text()
    # Installing again adds nothing twice.
    bbc("completion", "install", "bash")
    assert (tmp_path / ".bashrc").read_text().count("source ") == 1
