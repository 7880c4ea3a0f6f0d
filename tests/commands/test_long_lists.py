"""Long lists: the table shows the latest 50 (a screenful on a terminal) and says how
many more there are; --all, --json and --csv give every case, written as they are
read, so that a list of twenty thousand cases needs no more memory than one of two
thousand."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import bulkgen
import pytest

NOW = "2026-11-27 17:45"


def _store(factory: pytest.TempPathFactory, n: int) -> Path:
    path = factory.mktemp(f"n{n}") / "bbc.sqlite3"
    bulkgen.build(f"sqlite:///{path}", n)
    return path


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _store(tmp_path_factory, 2000)


@pytest.fixture(scope="module")
def large(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _store(tmp_path_factory, 20000)


def _bbc(store: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, BBC_DB=str(store), BBC_NOW=NOW)
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run(
        [sys.executable, "-m", "banbucheng", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )


def test_json_array_is_the_text_json_dumps_gives():
    from banbucheng.reports.exports import json_array

    for rows in ([], [{"a": "办不成事", "b": [1, {"c": None}]}], [{"x": i} for i in range(3)]):
        expected = json.dumps(rows, ensure_ascii=False, indent=2) + "\n"
        assert "".join(json_array(iter(rows))) == expected


def test_the_table_shows_fifty_and_counts_the_rest(small):
    store = small
    table = _bbc(store, "list")
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0] == "案件（2000 件）"
    rows = [line for line in lines if line.startswith("BB")]
    assert len(rows) == 50
    assert rows[-1].startswith("BB20261127-")  # the latest received, at the bottom
    assert "另有 1950 件未显示，用 --all 查看全部" in lines

    everything = _bbc(store, "list", "--all")
    assert everything.returncode == 0, everything.stderr
    rows = [line for line in everything.stdout.splitlines() if line.startswith("BB")]
    assert len(rows) == 2000 and "未显示" not in everything.stdout

    data = json.loads(_bbc(store, "list", "--json").stdout)
    assert len(data) == 2000
    assert [r["number"] for r in data] == [row.split()[0] for row in rows]
    assert data[0]["masked"] is True and "*" in data[0]["citizen"]

    text = _bbc(store, "list", "--csv").stdout
    assert text.startswith("\ufeff编号,状态,分类")
    records = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert len(records) == 2001
    assert [r[0] for r in records[1:]] == [r["number"] for r in data]

    # --limit N: the latest N, as on the terminal, in the table and in files alike.
    table = _bbc(store, "list", "--limit", "5")
    assert [line.split()[0] for line in table.stdout.splitlines() if line.startswith("BB")] == [
        r["number"] for r in data[-5:]
    ]
    assert "另有 1995 件未显示" in table.stdout
    latest = json.loads(_bbc(store, "list", "--limit", "5", "--json").stdout)
    assert [r["number"] for r in latest] == [r["number"] for r in data[-5:]]

    # --status open, as a script reads it: every open case, none left out.
    open_cases = json.loads(_bbc(store, "list", "--status", "open", "--json").stdout)
    assert open_cases and all(r["status"] != "closed" for r in open_cases)


def test_overdue_shows_fifty_and_streams_everything(small):
    store = small
    table = _bbc(store, "overdue")
    assert table.returncode == 4
    late = json.loads(_bbc(store, "overdue", "--json").stdout)
    assert len(late) > 50
    assert f"另有 {len(late) - 50} 件未显示，用 --all 查看全部" in table.stderr
    shown = [line for line in table.stdout.splitlines() if line.startswith("BB")]
    assert len(shown) == 50
    assert {line.split()[0] for line in shown} <= {r["number"] for r in late[:50]}
    every = _bbc(store, "overdue", "--all")
    assert len([line for line in every.stdout.splitlines() if line.startswith("BB")]) == len(late)
    rows = list(csv.reader(io.StringIO(_bbc(store, "overdue", "--csv").stdout.lstrip("\ufeff"))))
    assert [r[0] for r in rows[1:]] == [r["number"] for r in late]
    assert all(r["overdue"] and r["unit_contact"] is not None for r in late)


def _peak_kb(store: Path, *args: str) -> int:
    """The peak resident memory of one `bbc` process, measured by a parent of its own."""
    probe = (
        "import resource, subprocess, sys\n"
        "subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL)\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    env = dict(os.environ, BBC_DB=str(store), BBC_NOW=NOW)
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
    out = subprocess.run(
        [sys.executable, "-c", probe, sys.executable, "-m", "banbucheng", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    return int(out.stdout.strip().splitlines()[-1])


def test_a_long_list_needs_no_more_memory(small, large):
    """Ten times the cases, about the same peak memory: nothing holds the whole list
    (20,000 case dicts alone would add some 60 MB)."""
    for args in (("list", "--csv"), ("list", "--json"), ("list", "--all"), ("overdue", "--csv")):
        few, many = _peak_kb(small, *args), _peak_kb(large, *args)
        assert many < few * 1.15 + 4096, (args, few, many)


def _case_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("BB")]


def _sections(text: str) -> dict[str, list[str]]:
    """The daily roll-up's terminal text cut at its section titles: the lines of each."""
    titles = ("超期案件", "下一工作日到期", "在办案件", "今日新登记", "今日办结", "今日上报与移交")
    parts: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        named = next((t for t in titles if line.startswith(t)), None)
        if named:
            current = named
            parts[current] = []
        elif current is not None:
            parts[current].append(line)
    return parts


def test_due_shows_fifty_and_gives_every_case_to_files(large):
    store = large
    every = json.loads(_bbc(store, "due", "--within", "5", "--json").stdout)
    assert len(every) > 50  # enough to be cut short
    table = _bbc(store, "due", "--within", "5")
    assert table.returncode in (4, 5), table.stderr
    assert f"（{len(every)} 件）" in table.stdout.splitlines()[0]  # the title counts them all
    shown = _case_lines(table.stdout)
    assert len(shown) == 50
    assert {line.split()[0] for line in shown} == {r["number"] for r in every[:50]}
    assert f"另有 {len(every) - 50} 件未显示，用 --all 查看全部" in table.stderr

    full = _bbc(store, "due", "--within", "5", "--all")
    assert full.returncode == table.returncode
    assert len(_case_lines(full.stdout)) == len(every) and "未显示" not in full.stderr
    rows = list(csv.reader(io.StringIO(_bbc(store, "due", "--within", "5", "--csv").stdout[1:])))
    assert [r[0] for r in rows[1:]] == [r["number"] for r in every]
    md = _bbc(store, "due", "--within", "5", "--md").stdout
    assert all(r["number"] in md for r in every)

    few = _bbc(store, "due", "--within", "1")
    n = len(json.loads(_bbc(store, "due", "--within", "1", "--json").stdout))
    assert n <= 50 and len(_case_lines(few.stdout)) == n and "未显示" not in few.stderr


def test_daily_report_lists_fifty_a_table_and_exports_every_case(small, tmp_path):
    store = small
    data = json.loads(_bbc(store, "daily-report", "--json").stdout)
    assert len(data["open_cases"]) == data["open"] > 50
    assert len(data["overdue_cases"]) == data["overdue"] > 50

    table = _bbc(store, "daily-report")
    assert table.returncode == 0, table.stderr
    parts = _sections(table.stdout)
    for title, key in (("在办案件", "open_cases"), ("超期案件", "overdue_cases")):
        rows = _case_lines("\n".join(parts[title]))
        assert [line.split()[0] for line in rows] == [r["number"] for r in data[key][:50]]
        assert f"另有 {len(data[key]) - 50} 件未显示，用 --all 查看全部" in parts[title]
    shorter = _case_lines("\n".join(parts["下一工作日到期"]))
    assert len(shorter) == data["due_next_workday"] <= 50
    assert not any("未显示" in line for line in parts["下一工作日到期"])
    # The figures count every case, not the ones listed.
    assert re.search(rf"│ 在办 +│ +{data['open']} │", table.stdout)
    assert re.search(rf"│ 超期 +│ +{data['overdue']} │", table.stdout)

    full = _bbc(store, "daily-report", "--all")
    assert "未显示" not in full.stdout
    parts = _sections(full.stdout)
    assert len(_case_lines("\n".join(parts["在办案件"]))) == data["open"]
    assert len(_case_lines("\n".join(parts["超期案件"]))) == data["overdue"]

    # Every file holds every case: CSV, Markdown and the cron export.
    text = _bbc(store, "daily-report", "--csv").stdout
    md = _bbc(store, "daily-report", "--md").stdout
    assert all(r["number"] in text and r["number"] in md for r in data["open_cases"])
    done = _bbc(store, "export", "--dir", str(tmp_path), "--date", "2026-11-27")
    assert done.returncode == 0, done.stderr
    exported = json.loads((tmp_path / "2026-11-27-每日汇总.json").read_text(encoding="utf-8"))
    assert len(exported["open_cases"]) == exported["open"] == data["open"]


def test_the_cut_roll_up_has_the_same_figures_and_first_cases(small):
    """daily_rollup with a limit (the terminal's) reads only the first cases of each
    list, in the order of the whole list, and says how many each leaves out."""
    from datetime import date, datetime

    from banbucheng.core.timeutil import BEIJING
    from banbucheng.reports import daily
    from banbucheng.store import Store, load_calendar, load_policy

    now = datetime(2026, 11, 27, 17, 45, tzinfo=BEIJING)
    store = Store(f"sqlite:///{small}")
    with store.session(write=False) as s:
        policy, calendar = load_policy(s), load_calendar(s)
        for day in (date(2026, 11, 26), date(2026, 11, 27)):
            whole = daily.daily_rollup(s, policy, calendar, day, now)
            assert "hidden" not in whole
            for limit in (1, 3, 50):
                cut = daily.daily_rollup(s, policy, calendar, day, now, limit=limit)
                assert cut.keys() - {"hidden"} == whole.keys()
                for key, value in whole.items():
                    if isinstance(value, list) and key not in ("trend", "by_unit"):
                        assert cut[key] == value[:limit], (day, limit, key)
                        assert cut["hidden"][key] == len(value) - len(cut[key]), (day, limit, key)
                    else:
                        assert cut[key] == value, (day, limit, key)
