"""The installed `bbc` as a real process: start-up cost, time zones, several windows."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

BBC = shutil.which("bbc", path=str(Path(sys.executable).parent)) or shutil.which("bbc")


def run(
    *args: str, env: dict[str, str] | None = None, tz: str | None = None
) -> subprocess.CompletedProcess:
    full_env = dict(os.environ, **(env or {}))
    if tz:
        full_env["TZ"] = tz
    return subprocess.run(command(*args), capture_output=True, text=True, env=full_env, timeout=120)


def command(*args: str) -> list[str]:
    """The installed `bbc` with `args` (python -m banbucheng where it is not installed)."""
    return [BBC, *args] if BBC else [sys.executable, "-m", "banbucheng", *args]


def test_cli_import_stays_light() -> None:
    heavy = ("sqlmodel", "sqlalchemy", "rich.table", "dateutil.parser")
    code = f"import sys, banbucheng.cli; print(sorted(m for m in {heavy!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_command_that_reads_loads_only_what_it_uses() -> None:
    """list, overdue and daily-report on the terminal: no export modules, no actions on
    cases (no deadline is provisional), not the tables they never touch; and the
    collector, paused while bbc imports, runs again once the store is open."""
    out = run(
        "register", "--name", "霍某", "--phone", "13712341111", "--matter", "两证名称不一致",
        "--category", "应办未办", env={"BBC_NOW": "2021-04-01 10:30"},
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    unused = (
        "banbucheng.schema.models_extra", "banbucheng.domain.lifecycle",
        "banbucheng.reports.exports", "openpyxl", "rich.table",
    )  # fmt: skip
    code = (
        "import atexit, gc, sys\n"
        f"atexit.register(lambda: print(gc.isenabled(), sorted(m for m in {unused!r} "
        "if m in sys.modules)))\n"
        "from banbucheng.cli import run\n"
        "run()\n"
    )
    env = dict(os.environ, BBC_NOW="2021-04-02 17:00")
    for command in (["list"], ["overdue"], ["daily-report"]):
        done = subprocess.run(
            [sys.executable, "-c", code, *command], capture_output=True, text=True, env=env
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.splitlines()[-1] == "True []", command


def test_installed_command_runs() -> None:
    if BBC is None and os.environ.get("CI"):
        pytest.fail("bbc is not installed in CI")
    out = run("--version")
    assert out.returncode == 0 and out.stdout.startswith("bbc ")
    bad = run("show", "BB20200101-001")
    assert bad.returncode == 1
    assert bad.stderr.strip() == "错误：没有编号为 BB20200101-001 的案件"
    assert "Traceback" not in bad.stderr


@pytest.mark.parametrize("tz", ["America/Los_Angeles", "Pacific/Kiritimati", "UTC"])
def test_deadlines_ignore_the_machine_time_zone(tz: str) -> None:
    out = run(
        "register", "--name", "霍某", "--phone", "13712341111", "--matter", "两证名称不一致",
        "--category", "应办未办", "--json",
        env={"BBC_NOW": "2021-04-01 23:30"}, tz=tz,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    case = json.loads(out.stdout)
    assert case["received_at"] == "2021-04-01T23:30:00+08:00"
    assert case["due_date"] == "2021-04-09"
    assert case["number"].startswith("BB20210401-")


def test_windows_registering_at_once_never_collide(isolated: Path) -> None:
    """Six processes, eight registrations each, on one SQLite file."""

    def window(i: int) -> list[str]:
        numbers = []
        for j in range(8):
            out = run(
                "register", "--name", f"群众{i}", "--phone", "13800000000",
                "--matter", f"窗口{i}第{j}件", "--category", "应办未办",
                env={"BBC_OPERATOR": f"窗口{i}", "BBC_NOW": "2026-11-27 10:00"},
            )  # fmt: skip
            assert out.returncode == 0, out.stderr
            numbers.append(out.stdout.strip())
        return numbers

    with ThreadPoolExecutor(max_workers=6) as pool:
        numbers = [n for batch in pool.map(window, range(6)) for n in batch]
    assert len(set(numbers)) == 48
    assert sorted(numbers) == [f"BB20261127-{k:03d}" for k in range(1, 49)]
    listed = json.loads(run("list", "--json").stdout)
    assert len(listed) == 48
    assert sorted(r["matter"] for r in listed) == sorted(
        f"窗口{i}第{j}件" for i in range(6) for j in range(8)
    )


def _rare_name_case() -> str:
    """A case whose citizen and matter have 䶮, a character of CJK Extension A that
    GBK (Chinese Windows' code page 936) has no byte for."""
    out = run(
        "register", "--name", "王䶮", "--phone", "13712343333", "--matter",
        "䶮字姓名的户籍证明办不下来", "--category", "应办未办",
        env={"BBC_NOW": "2021-04-01 10:30"},
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_output_redirected_in_a_gbk_code_page_is_utf8(isolated: Path) -> None:
    """On Chinese Windows a redirected standard output (bbc list --csv > 案件.csv) is in
    code page 936 (GBK), simulated here with PYTHONIOENCODING: it is written in UTF-8
    instead, the CSV with its BOM, a name's rare character kept; a message on the
    standard error too. (In GBK the BOM alone stopped every CSV with an internal
    error.)"""
    number = _rare_name_case()
    gbk = {"PYTHONIOENCODING": "gbk", "BBC_NOW": "2021-04-02 09:00"}
    out = {}
    for args in (["list", "--csv"], ["list"], ["show", number], ["list", "--json"]):
        done = subprocess.run(
            command(*args),
            capture_output=True, env=dict(os.environ, **gbk), timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr.decode("utf-8", "replace")
        assert "䶮字姓名的户籍证明办不下来" in done.stdout.decode("utf-8"), args
        out[args[-1]] = done.stdout
    assert out["--csv"].startswith("\ufeff编号".encode())
    wrong = subprocess.run(
        command("show", "BB2021"),
        capture_output=True, env=dict(os.environ, **gbk), timeout=120,
    )  # fmt: skip
    assert wrong.returncode == 1
    assert wrong.stderr.decode("utf-8").startswith("错误：")


def test_a_gbk_terminal_shows_what_it_can(isolated: Path) -> None:
    """A terminal whose encoding is GBK keeps it (its Chinese shows), and a character
    it cannot show is printed as "?", not an internal error."""
    import pexpect

    number = _rare_name_case()
    env = dict(os.environ, PYTHONIOENCODING="gbk", BBC_NOW="2021-04-02 09:00")
    child = pexpect.spawn(
        sys.executable, ["-m", "banbucheng", "show", number], env=env, timeout=60,
        dimensions=(24, 160),
    )  # fmt: skip
    out = child.read().decode("gbk")
    child.close()
    assert child.exitstatus == 0, out
    assert "?字姓名的户籍证明办不下来" in out
    assert "内部错误" not in out
