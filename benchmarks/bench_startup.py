"""What a command costs the clerk who types it: CPU time of whole `bbc` processes,
as ratios to Python importing what they are built on, measured in one run.

    python benchmarks/bench_startup.py                  # 100,000 cases, 15 rounds
    python benchmarks/bench_startup.py --cases 20000 --runs 5
    python benchmarks/bench_startup.py --store /tmp/bench.sqlite3   # keep the store
    python benchmarks/bench_startup.py --only register,close --runs 30   # some, more often

Targets (issue 10), each the median CPU time (user + system) of the process over the
median of its baseline, every process started the same way:

- TAB completion of case numbers and units     ≤ 1.5 × python -c "import sqlite3"
- bbc --help, bbc -h, bbc list --help          ≤ 1.5 × python -c "import typer"
- register, close, show, list, overdue,
  daily-report on 100,000 cases                ≤ 1.15 × python -c "import typer, sqlmodel"

A bbc process pauses Python's cyclic garbage collector while it imports, until the
store is open, then freezes what it imported (cli.run, commands/common.open_store),
so the collector neither walks those objects while they are made nor at exit; the
baseline does neither. For comparison the same baseline with the collector paused and
its imports frozen is measured too ("import typer, sqlmodel" 暂停回收), and each
command's ratio to it printed in the last column: what a command costs beyond its
imports when both sides are spared that collection.

Commands run in a pseudo-terminal of 120×40, as at the window (so `list` shows a
screenful, not 100,000 lines). CPU time rather than wall time: the machine may be
busy with other work, and what is measured is what bbc itself does. Baselines and
commands take turns, round after round, in an order shuffled each round (a fixed
seed), so a slow spell touches them alike and no probe always follows the same one;
each command is run right after a run of its baseline (counted with the baseline's
other runs), so each pair is measured under the same load. Bytecode is cached (in a
temporary folder) as in any installed copy, for bbc and the baselines.

The verdict is the ratio of the medians. Beside it the spread: the middle half
(quartiles) of the ratios of the pairs, so a noisy run shows as a wide spread rather
than as one misleading number; and the baselines' own spread. A ratio whose spread
reaches past its target is marked as not clear of it (未稳达标) even when the median
meets it (the exit code follows the medians only).

The store is built by bulk inserts in a minute or so (not 100,000 registrations), by
tests/bulkgen.py as for bench_scale.py: five years of cases, about 80 a working day,
nearly all closed and most visited, the last days' cases open and a few dozen
overdue; every case with its events, sealed into the event chain as bbc would have
(row digests, keyed MACs, units' events), its personal data encrypted, indexed for
similar-case search and counted in the running totals, so `bbc verify --full` passes
and `bbc close` works on it. The store's key goes to $BBC_KEY_DIR (the temporary
folder of the run unless set; set it to reuse a store kept with --store).

The commands run on a copy of the store, made for the run and removed after it:
`register` and `close` change the store, and on the store itself every run would
start where the last one stopped (more of the day's cases for daily-report, more
earlier registrations of the same citizen and matter for register to find), so the
figures would drift from run to run. A store kept with --store stays as it was built.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import pty
import random
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import bulkgen  # noqa: E402  (tests/, on the path above)

NOW = bulkgen.NOW  # BBC_NOW: a Friday, as the window closes


# ---------------------------------------------------------------- the store

YEARS = 5
OPEN_OLD = 0.0005  # of the older cases, the share left open: a few dozen overdue


def build(path: Path, n: int) -> None:
    """n cases with their events, by bulk insert (see the module docstring)."""
    started = time.perf_counter()
    from banbucheng.store import Store, refresh_statistics

    counts = bulkgen.build(f"sqlite:///{path}", n, years=YEARS, open_old=OPEN_OLD)
    store = Store(f"sqlite:///{path}")
    with store.session(write=True) as session:
        refresh_statistics(session)  # the planner's statistics, as after an import
    store.close()
    seconds = time.perf_counter() - started
    made = f"已生成 {counts['cases']:,} 件案件、{counts['events']:,} 条事件"
    print(f"{made}（{counts['open']:,} 件未办结）：{path}（{seconds:.0f} 秒）", file=sys.stderr)


# ---------------------------------------------------------------- measuring


def cpu_seconds(argv: list[str], env: dict[str, str], columns: int = 120, rows: int = 40) -> float:
    """CPU time (user + system) of one process run in a pseudo-terminal."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    process = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env)
    os.close(slave)

    def drain() -> None:
        try:
            while os.read(master, 65536):
                pass
        except OSError:
            pass

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    reader.join(timeout=5)
    os.close(master)
    return usage.ru_utime + usage.ru_stime


FLOOR = "python -c 'import typer, sqlmodel'"
PAUSED = "同上，暂停回收并冻结"  # the floor with the collector paused, as bbc does
PAUSED_CODE = "import gc; gc.disable(); import typer, sqlmodel; gc.freeze()"


@dataclass
class Probe:
    label: str
    argv: list[str]
    env: dict[str, str]
    baseline: str | None = None  # the label of the probe it is compared with
    target: float | None = None
    before: Any = None  # called before each run (e.g. to pick a case to close)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="bbc 各命令的 CPU 时间与基准之比")
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=15, help="轮数（每轮各运行一次）")
    parser.add_argument(
        "--store", type=Path, help="数据库文件（已存在则使用；在其副本上测量，原文件不变）"
    )
    parser.add_argument(
        "--only",
        metavar="命令,…",
        help="只测这些项（名称中含所给的词，如 register,close,daily-report）及其基准",
    )
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="bbc-bench-"))
    store = args.store or folder / f"bench-{args.cases}.sqlite3"
    os.environ.setdefault("BBC_KEY_DIR", str(folder / "keys"))  # the store's key
    if not store.exists():
        build(store, args.cases)
    try:
        return _measure(args, folder, _copy(store, folder / "measured.sqlite3"))
    finally:
        for suffix in ("", "-wal", "-shm", "-journal"):
            (folder / f"measured.sqlite3{suffix}").unlink(missing_ok=True)


def _copy(store: Path, to: Path) -> Path:
    """A copy of the store to measure on (SQLite's backup: whole, even with a WAL)."""
    import sqlite3

    source = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    target = sqlite3.connect(to)
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()
    return to


def _measure(args: Any, folder: Path, store: Path) -> int:
    """Every probe, round after round, on `store` (the copy); the table printed."""
    python = sys.executable
    env = {k: v for k, v in os.environ.items() if not k.startswith("BBC_") and k != "COLUMNS"}
    # Compiled bytecode is kept, as for any installed package (pip compiles it at
    # install time); in a folder of its own, so the source tree stays clean even
    # where PYTHONDONTWRITEBYTECODE is set.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(
        PYTHONPYCACHEPREFIX=str(folder / "pycache"),
        PYTHONPATH=os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
        BBC_DB=str(store),
        BBC_KEY_DIR=os.environ["BBC_KEY_DIR"],
        BBC_NOW=NOW.isoformat(sep=" ", timespec="minutes"),
        BBC_OPERATOR="窗口甲",
        BBC_NO_PROMPT="1",
        XDG_CACHE_HOME=str(folder / "cache"),
        TERM="xterm",
    )
    bbc = [python, "-c", "import sys; from banbucheng.cli import run; sys.exit(run())"]
    tab = [python, "-P", "-m", "banbucheng"]

    def completing(words: str) -> dict[str, str]:
        cword = len(words.split()) - (0 if words.endswith(" ") else 1)
        return dict(env, _BBC_COMPLETE="complete_bash", COMP_WORDS=words, COMP_CWORD=str(cword))

    open_cases = _open_cases(store)
    counter = iter(range(10**9))

    # register's matter and close's case number sit third from the end of argv.
    def next_to_close(probe: Probe) -> None:
        probe.argv[-3] = open_cases.pop()

    def next_matter(probe: Probe) -> None:
        probe.argv[-3] = f"第{next(counter)}件基准测试登记的事项：营业执照地址变更一直办不下来"

    probes = [
        Probe("python -c 'import sqlite3'", [python, "-c", "import sqlite3"], env),
        Probe("python -c 'import typer'", [python, "-c", "import typer"], env),
        Probe("python -c 'import typer, sqlmodel'", [python, "-c", "import typer, sqlmodel"], env),
        Probe(PAUSED, [python, "-c", PAUSED_CODE], env),
        Probe("TAB：bbc show BB2026112<TAB>", tab, completing("bbc show BB2026112"),
              "python -c 'import sqlite3'", 1.5),
        Probe("TAB：bbc dispatch … --unit 社<TAB>", tab,
              completing("bbc dispatch BB20261127-001 --unit 社"),
              "python -c 'import sqlite3'", 1.5),
        Probe("bbc --help", [*bbc, "--help"], env, "python -c 'import typer'", 1.5),
        Probe("bbc -h", [*bbc, "-h"], env, "python -c 'import typer'", 1.5),
        Probe("bbc list --help", [*bbc, "list", "--help"], env, "python -c 'import typer'", 1.5),
        Probe("bbc register", [*bbc, "register", "--name", "张三", "--phone", "13800000000",
              "--matter", "", "--category", "应办未办"], env,
              "python -c 'import typer, sqlmodel'", 1.15, next_matter),
        Probe("bbc close", [*bbc, "close", "", "--result", "已办结"], env,
              "python -c 'import typer, sqlmodel'", 1.15, next_to_close),
        Probe("bbc show", [*bbc, "show", open_cases[0]], env,
              "python -c 'import typer, sqlmodel'", 1.15),
        Probe("bbc list", [*bbc, "list"], env, "python -c 'import typer, sqlmodel'", 1.15),
        Probe("bbc overdue", [*bbc, "overdue"], env, "python -c 'import typer, sqlmodel'", 1.15),
        Probe("bbc daily-report", [*bbc, "daily-report"], env,
              "python -c 'import typer, sqlmodel'", 1.15),
    ]  # fmt: skip
    if args.only:
        words = [w.strip() for w in args.only.split(",") if w.strip()]
        chosen = [p for p in probes if p.baseline and any(w in p.label for w in words)]
        keep = {p.label for p in chosen} | {p.baseline for p in chosen}
        if FLOOR in keep:
            keep.add(PAUSED)  # the last column's baseline
        probes = [p for p in probes if p.label in keep]
    times: dict[str, list[float]] = {p.label: [] for p in probes}
    for p in probes:  # once each first: caches warm, the completion tree built
        _run(p, times, record=False)
    # Each round runs every probe once, in an order shuffled each round, and each
    # probe that has a baseline right after a run of that baseline: the pair's ratio
    # is measured under the same load (the baselines' runs all count for their
    # medians too).
    by_label = {p.label: p for p in probes}
    pairs: dict[str, list[float]] = {p.label: [] for p in probes if p.baseline}
    order = random.Random(10)  # the same orders in every run of the benchmark
    for _ in range(args.runs):
        for p in order.sample(probes, len(probes)):
            if p.baseline is None:
                _run(p, times)
                continue
            base = _run(by_label[p.baseline], times)
            pairs[p.label].append(_run(p, times) / base)
    return _report(probes, times, pairs, args)


def _pad(text: str, columns: int) -> str:
    """`text` padded to `columns` terminal columns (a Chinese character takes two)."""
    wide = sum(unicodedata.east_asian_width(ch) in "WF" for ch in text)
    return text + " " * max(0, columns - len(text) - wide)


def _quartiles(values: list[float]) -> tuple[float, float]:
    if len(values) < 2:  # --runs 1
        return values[0], values[0]
    q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q1, q3


def _report(
    probes: list[Probe], times: dict[str, list[float]], pairs: dict[str, list[float]], args: Any
) -> int:
    """The table: medians, the verdict (ratio of medians), the spread of the ratios of
    the pairs, the ratio of the fastest runs and the ratio to the paused baseline."""
    medians = {label: statistics.median(ts) for label, ts in times.items()}
    fastest = {label: min(ts) for label, ts in times.items()}
    head = (
        "CPU 中位数   与基准之比   目标           成对之比的四分位"
        "   （最少一次之比）  与暂停回收的基准之比"
    )
    print(f"\n{'':38}{head}")
    failed = unclear = 0
    for p in probes:
        m = medians[p.label]
        if p.baseline is None:
            low, high = _quartiles(times[p.label])
            spread = f"四分位 {low * 1000:.0f}–{high * 1000:.0f} 毫秒"
            least = f"最少 {fastest[p.label] * 1000:.0f}"
            print(f"{_pad(p.label, 38)}{m * 1000:7.0f} 毫秒   （{spread}，{least}）")
            continue
        ratio = m / medians[p.baseline]
        target = p.target or 0
        q1, q3 = _quartiles(pairs[p.label])
        ok = ratio <= target
        failed += not ok
        clear = ok and q3 <= target
        unclear += ok and not clear
        mark = "达标" if clear else "未稳达标" if ok else "未达标"
        low = fastest[p.label] / fastest[p.baseline]
        paused = f"{m / medians[PAUSED]:6.2f}×" if p.baseline == FLOOR else ""
        print(
            f"{_pad(p.label, 38)}{m * 1000:7.0f} 毫秒   {ratio:6.2f}×     ≤ {p.target}× "
            f"{_pad(mark, 8)}  {q1:5.2f}–{q3:.2f}×      （{low:.2f}×）  {paused}"
        )
    print(
        f"\n{args.cases:,} 件案件；{args.runs} 轮，每轮各运行 1 次、顺序随机，"
        "有基准的项紧接在一次基准运行之后（另先各运行 1 次预热），120×40 伪终端。"
    )
    print("目标按中位数之比判断；四分位为每次运行与紧接其前的一次基准运行之比的中间一半，")
    print("其上四分位超出目标的记为「未稳达标」（退出码仍只看中位数）；")
    print("括号内为各自最少一次的 CPU 时间之比（受机器负载影响最小）。")
    print("bbc 导入期间暂停垃圾回收、打开数据库后冻结已导入的对象；最后一列与同样做法的基准相比。")
    if unclear:
        print(f"{unclear} 项中位数达标但波动超出目标：机器较忙时可加大 --runs 再测。")
    return 1 if failed else 0


def _run(probe: Probe, times: dict[str, list[float]], record: bool = True) -> float:
    if probe.before is not None:
        probe.before(probe)
    seconds = cpu_seconds(probe.argv, probe.env)
    if record:
        times[probe.label].append(seconds)
    return seconds


def _open_cases(store: Path) -> list[str]:
    import sqlite3

    con = sqlite3.connect(store)
    try:
        rows = con.execute(
            "SELECT number FROM cases WHERE status = 'dispatched' ORDER BY number"
        ).fetchall()
    finally:
        con.close()
    return [r[0] for r in rows]


if __name__ == "__main__":
    sys.exit(main())
