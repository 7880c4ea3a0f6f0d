"""Bounds everywhere: every number a user can type has a declared range, every path
and text value is screened before use, and extreme values give one Chinese line,
never an internal error (exit 70), never a traceback, never a changed store.

The commands and their options are found by walking the click tree, so an option
added later is covered without touching this file: a whole-number option must
declare min and max (its help then shows the range), and an option or argument that
names a file or folder (its help says 文件, 目录, 文件夹 or 路径) must be marked as
a path (metavar FILE, DIR or PATH, or typed Path), which is what screens it.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer.main
from conftest import dump_store
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from banbucheng.cli import app
from banbucheng.commands.chinese import is_path

NOW = "2026-06-01 10:00"
SCALE = float(os.environ.get("BBC_FUZZ_SCALE", "1"))
SKIP = {"demo"}  # builds its own store elsewhere; its --db is checked by the root's
PATH_WORDS = ("文件", "目录", "文件夹", "路径")
# What a command needs besides the value under test to get past its first checks, so
# the extreme value reaches the code that uses it.
COMPANIONS = {
    "extend": ["--reason", "待省里回函", "--approver", "王主任"],
    "reopen": ["--reason", "群众不满意"],
    "dispatch": ["--unit", "省农保中心"],
    "print": ["--work-order"],
    "restore": ["--yes"],
    "daily-report": ["--csv"],
}
FILLERS = {  # required arguments, by name
    "number": "BB20260527-001",
    "year": "2026",
    "key": "limit.hard",
    "value": "7",
    "day": "2026-06-01",
    "shell": "bash",
    "ref": "1",
    "name": "新单位",
    "text": "社保",
}


def _walk() -> Iterator[tuple[str, Any, Any]]:
    root = typer.main.get_command(app)
    stack: list[tuple[str, Any]] = [("", root)]
    while stack:
        path, cmd = stack.pop()
        for param in cmd.params:
            yield path, cmd, param
        for name, sub in (getattr(cmd, "commands", None) or {}).items():
            full = f"{path} {name}".strip()
            if full not in SKIP:
                stack.append((full, sub))


def _annotation(param: Any) -> Any:
    return getattr(getattr(param, "type_descriptor", None), "annotation", None)


PARAMS = sorted(
    ((path, cmd, param) for path, cmd, param in _walk()),
    key=lambda pcp: (pcp[0], pcp[2].name),
)
NUMERIC = [(p, c, q) for p, c, q in PARAMS if _annotation(q) is int]
PATHS = [(p, c, q) for p, c, q in PARAMS if is_path(q)]


def test_the_options_are_found():
    """The walk sees the options this file is about (so an empty list cannot pass)."""
    numeric = {(p, q.name) for p, _, q in NUMERIC}
    paths = {(p, q.name) for p, _, q in PATHS}
    assert {("extend", "days"), ("list", "limit"), ("due", "within")} <= numeric
    assert {("", "db"), ("print", "out"), ("backup", "target"), ("export", "directory")} <= paths
    assert len(numeric) >= 10 and len(paths) >= 15


@pytest.mark.parametrize(("path", "name"), [(p, q.name) for p, _, q in NUMERIC])
def test_every_number_option_declares_its_range(path, name):
    param = next(q for p, _, q in NUMERIC if p == path and q.name == name)
    low, high = getattr(param, "min", None), getattr(param, "max", None)
    assert low is not None and high is not None, f"bbc {path} {name}: declare min= and max="
    assert 0 <= low <= high <= 100_000


def test_every_file_option_is_screened_as_a_path():
    unmarked = [
        f"bbc {p} {q.name}"
        for p, _, q in PARAMS
        if not getattr(q, "is_flag", False)
        and any(word in (q.help or "") for word in PATH_WORDS)
        and not is_path(q)
    ]
    assert unmarked == [], "give these metavar='FILE' / 'DIR' / 'PATH'"


# ---------------------------------------------------------------- extreme values


def _numbers(param: Any) -> st.SearchStrategy[str]:
    low, high = getattr(param, "min", 0) or 0, getattr(param, "max", 0) or 0
    edges = [low - 1, low, high, high + 1, -1, 0, 10_000, 100_000, 10**9, 2**31, 2**63, 10**30]
    return st.one_of(
        st.sampled_from([str(n) for n in edges]),
        st.sampled_from([" 60 ", "1e3", "0x10", "٣", "-0", "1_000", "9" * 5000, "", "½"]),
        st.integers(-(10**40), 10**40).map(str),
    )


def _paths(folder: Path) -> st.SearchStrategy[str]:
    """Extreme paths, every one inside the test's folder (the tests may run as root)."""
    named = [
        "李" * 100 + ".csv",
        "a" * 256,
        "a" * 255,
        "no-such-dir/x.csv",
        "no-such-dir/deeper/x.sqlite3",
        os.fsdecode(b"\xff\xfe.csv"),  # undecodable bytes, as argv gives them
        "a\x00b",
        "a\nb.csv",
        "sub",
        ".",
        "existing.txt",
    ]
    return st.one_of(
        st.sampled_from([str(folder / n) for n in named]),
        st.sampled_from(["", " ", str(folder) + "/" * 5000, str(folder / ("x/" * 2100))]),
        st.text(st.characters(blacklist_characters="/"), min_size=1, max_size=300).map(
            lambda n: str(folder / n)
        ),
    )


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("bounds") / "template.sqlite3"
    runner = CliRunner()
    env = {"BBC_DB": str(db), "BBC_OPERATOR": "窗口甲", "BBC_NOW": "2026-05-29 16:00"}

    def bbc(*args: str) -> str:
        result = runner.invoke(app, list(args), env=env)
        assert result.exit_code == 0, (args, result.output, result.stderr)
        return result.stdout.strip()

    number = bbc(
        "register", "--name", "霍某某", "--phone", "13712341111", "--matter", "两证名称不一致",
        "--at", "2026-05-27 09:30", "--category", "应办未办",
    )  # fmt: skip
    assert number == FILLERS["number"]
    bbc("dispatch", number, "--unit", "中心综合协调科")
    bbc(
        "register", "--name", "赵六", "--phone", "13600000000", "--matter", "早已答复",
        "--at", "2026-05-06 10:00", "--category", "完全不能",
    )  # fmt: skip
    return db


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("BBC_NOW", NOW)
    monkeypatch.setenv("BBC_OPERATOR", "窗口甲")
    monkeypatch.chdir(tmp_path)  # default output files land here
    (tmp_path / "existing.txt").write_text("x")
    (tmp_path / "sub").mkdir()
    return tmp_path


def _fresh(template: Path, db: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(template, db)
    os.chmod(db, 0o600)


def _base_args(path: str, cmd: Any, skip: Any) -> list[str]:
    args = []
    for param in cmd.params:
        if param is skip or param.param_type_name != "argument" or not param.required:
            continue
        args.append(FILLERS.get(param.name, "文字"))
    return args + COMPANIONS.get(path, [])


def _invocation(path: str, cmd: Any, param: Any, value: str, db: Path) -> list[str]:
    words = path.split()
    if param.param_type_name == "argument":
        base = []
        for p in cmd.params:
            if p.param_type_name == "argument" and (p.required or p is param):
                base.append(value if p is param else FILLERS.get(p.name, "文字"))
        args = [*words, *base, *COMPANIONS.get(path, [])]
    else:
        args = [*words, *_base_args(path, cmd, param), param.opts[0], value]
    if path == "" and param.name == "db":
        return ["--db", value, "list"]
    return ["--db", str(db), *args]


def _check(args: list[str], result: Any, db: Path, before: dict) -> None:
    shown = f"{args!r}\nexit {result.exit_code}\nstdout {result.stdout[-300:]!r}\n" + (
        f"stderr {result.stderr[-600:]!r}"
    )
    assert "Traceback" not in result.stdout + result.stderr, shown
    assert result.exit_code != 70, shown
    if result.exception is not None:
        assert isinstance(result.exception, SystemExit), (shown, result.exception)
    if result.exit_code in (0, 4, 5):  # done; overdue cases; a due-soon or doctor's finding
        return
    message = result.stderr.strip()
    assert message and "\n" not in message, shown  # one line, on stderr
    assert any("\u4e00" <= ch <= "\u9fff" for ch in message), shown  # in Chinese
    assert dump_store(db) == before, shown


def examples(n: int) -> settings:
    return settings(
        max_examples=max(1, int(n * SCALE)),
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


@examples(150)
@given(data=st.data())
def test_extreme_numbers_and_paths(template, folder, data):
    path, cmd, param = data.draw(st.sampled_from(NUMERIC + PATHS), label="option")
    kind = _numbers(param) if _annotation(param) is int else _paths(folder)
    value = data.draw(kind, label=f"{path} {param.name}")
    db = folder / "fuzz.sqlite3"
    _fresh(template, db)
    before = dump_store(db)
    args = _invocation(path, cmd, param, value, db)
    result = CliRunner().invoke(app, args)
    _check(args, result, db, before)


@pytest.mark.parametrize(
    "args",
    [
        ["extend", "BB20260527-001", "--days", "100000", "--reason", "x", "--approver", "y"],
        ["extend", "BB20260527-001", "--days", "10000", "--reason", "x", "--approver", "y"],
        ["extend", "BB20260527-001", "--to", "2064-01-04", "--reason", "x", "--approver", "y"],
        ["dispatch", "BB20260527-001", "--unit", "甲", "--days", "100000"],
        ["reopen", "BB20260527-001", "--reason", "x", "--days", "61"],
        ["list", "--limit", "9" * 30],
        ["list", "--limit", "100001"],
        ["due", "--within", "61"],
        ["list", "--unit", os.fsdecode(b"\xe6\xac\xa7\xff")],
        ["config", "set", "center_name", os.fsdecode(b"\xff")],
        ["config", "set", "template_dir", "/tmp/" + "a" * 300],
        ["print", "BB20260527-001", "--work-order", "--out", "李" * 300 + ".docx"],
        ["print", "BB20260527-001", "--work-order", "--out", "no-such-dir/x.docx"],
        ["calendar", "show", "2100"],
    ],
)
def test_the_reported_cases_are_one_line(template, folder, args):
    """The inputs that gave exit 70 (or a due date in 2064) in issue 13."""
    db = folder / "fuzz.sqlite3"
    _fresh(template, db)
    before = dump_store(db)
    result = CliRunner().invoke(app, ["--db", str(db), *args])
    _check(args, result, db, before)
    assert result.exit_code != 0, args


def test_a_deadline_past_2099_is_one_line(folder):
    db = folder / "late.sqlite3"
    db.touch(mode=0o600)
    runner = CliRunner()
    env = {"BBC_DB": str(db), "BBC_NOW": "2099-12-31 10:00"}
    result = runner.invoke(
        app,
        [
            "register",
            "--name",
            "甲",
            "--phone",
            "13712341111",
            "--matter",
            "事",
            "--category",
            "应办未办",
        ],
        env=env,
    )
    assert result.exit_code == 1 and "2099" in result.stderr, result.stderr
    assert "Traceback" not in result.output
