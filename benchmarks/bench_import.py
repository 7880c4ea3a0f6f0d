"""How fast `bbc import` brings in a register: rows per second and peak memory of the
whole `bbc import` process, on a realistic sheet of N rows.

    python benchmarks/bench_import.py              # 20,000 rows
    python benchmarks/bench_import.py 5000 100000  # several sizes, one after the other
    python benchmarks/bench_import.py --runs 3     # the best of three (the machine is shared)
    python benchmarks/bench_import.py --keep /tmp/bench   # keep the sheet and the store

The sheet is what a window's register looks like after three years: Chinese matters of
16 to 49 characters (tests/casegen.py's wordings with a place and an ending), 20 units,
times spread over working hours of three years, three in ten citizens coming back
(the same phone, often about the same matter: repeats), an ID number on one row in
eight, seven in ten cases closed (a third of those with a mechanism), half of those
visited. Each size is imported into a new store by `bbc import` in a subprocess, as a
user would run it; afterwards `bbc verify --full` checks it. Target (issue 14):
at least 2,000 rows per CPU second.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

NOW = "2026-11-27 17:45"
FIRST_DAY = date(2023, 11, 1)
UNITS = [
    "中心综合协调科", "市场监管窗口", "卫健窗口", "社保窗口", "医保窗口", "公积金窗口",
    "不动产登记窗口", "税务窗口", "公安分局", "交警大队", "住建局", "自然资源局",
    "人民银行分行", "民政局", "教育局", "省农保中心", "社区居委会", "街道办事处", "城管局",
    "水务集团",
]  # fmt: skip
MECHANISMS = ["窗口核实两证后直接出具证明", "由中心出具情况说明", "社保窗口上门办理年检"]
HEADER = ["姓名", "电话", "身份证号", "反映事项", "受阻部门", "受理时间", "分类", "子类",
          "主办单位", "办结时间", "办理结果", "长效机制", "满意度"]  # fmt: skip
_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))


def id_number(rng: random.Random) -> str:
    born = date(1950, 1, 1) + timedelta(days=rng.randrange(20000))
    body = f"110105{born:%Y%m%d}{rng.randrange(1000):03d}"
    return body + "10X98765432"[sum(int(c) * w for c, w in zip(body, _WEIGHTS, strict=True)) % 11]


def write_sheet(path: Path, n: int, seed: int = 1) -> None:
    import casegen

    from banbucheng.deadlines import WorkCalendar

    rng = random.Random(seed)
    calendar = WorkCalendar()
    days = [
        d for d in (FIRST_DAY + timedelta(days=i) for i in range(3 * 365)) if calendar.is_workday(d)
    ]
    citizens: list[tuple[str, str, str]] = []
    with path.open("w", newline="", encoding="utf-8") as out:
        sheet = csv.writer(out)
        sheet.writerow(HEADER)
        for i, (matter, department, category, subtype) in enumerate(casegen.bulk_matters(n)):
            matter = matter[:49]
            if len(matter) < 16:
                matter += "，多次到窗口仍未办成"
            if citizens and rng.random() < 0.3:
                name, phone, card = rng.choice(citizens)
            else:
                name = rng.choice("张王李赵刘陈杨黄周吴") + rng.choice(["某", "某某", "女士"])
                phone = f"1{rng.choice('3578')}{rng.randrange(10**9):09d}"
                card = id_number(rng) if rng.random() < 0.125 else ""
                citizens.append((name, phone, card))
            day = days[i * len(days) // n]
            received = datetime.combine(day, datetime.min.time()) + timedelta(
                minutes=8 * 60 + 30 + rng.randrange(8 * 60)
            )
            closed = received + timedelta(days=rng.randrange(6), hours=rng.randrange(3))
            is_closed = rng.random() < 0.7 and closed.date() < date(2026, 11, 27)
            sheet.writerow(
                [
                    name,
                    phone,
                    card,
                    matter,
                    department,
                    f"{received:%Y-%m-%d %H:%M}",
                    "应办未办" if category == "unhandled" else "完全不能",
                    {"hard": "很难办", "misconduct": "不作为"}.get(subtype or "", ""),
                    rng.choice(UNITS) if category == "unhandled" else "",
                    f"{closed:%Y-%m-%d %H:%M}" if is_closed else "",
                    ("已办结" if category == "unhandled" else "已答复") if is_closed else "",
                    rng.choice(MECHANISMS) if is_closed and rng.random() < 0.3 else "",
                    rng.choice(["非常满意", "满意", "基本满意"]) if is_closed and i % 2 else "",
                ]
            )


def run_import(sheet: Path, store: Path) -> dict[str, float]:
    """`bbc import` in its own process: wall and CPU seconds, peak memory."""
    env = _env(store, BBC_NOW=NOW, BBC_OPERATOR="窗口甲")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    store.unlink(missing_ok=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "banbucheng", "import", str(sheet)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit(f"bbc import failed ({done.returncode}): {done.stderr[-500:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall": wall, "cpu": cpu, "peak_mb": after.ru_maxrss / 1024}


def _env(store: Path, **extra: str) -> dict[str, str]:
    """The store's key (personal data is encrypted) beside it, not in the user's folder;
    the tool's bytecode compiled once beside them, as an installed package has it (an
    environment with PYTHONDONTWRITEBYTECODE would compile every module at each start)."""
    keys = os.environ.get("BBC_KEY_DIR") or str(store.parent / "keys")
    env = dict(os.environ, BBC_DB=str(store), BBC_KEY_DIR=keys, **extra)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(store.parent / "pycache")
    return env


def compile_tool(folder: Path) -> None:
    """The bytecode of every module `bbc import` loads, made before anything is timed
    (pip does it at install): a small sheet imported once, untimed."""
    sheet, store = folder / "warm-up.csv", folder / "warm-up.sqlite3"
    write_sheet(sheet, 20)
    run_import(sheet, store)


def verify(store: Path) -> bool:
    """`bbc verify --full`: the chain, the MACs and every row against its sealed state."""
    env = _env(store)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, "-m", "banbucheng", "verify", "--full"],
        env=env,
        capture_output=True,
        text=True,
    )
    return done.returncode == 0


def busy() -> float:
    """CPU seconds of a fixed pure-Python loop, printed beside the figures: on a shared
    machine one CPU second does less work when the other cores are busy."""
    started = time.process_time()
    sum(range(10**7))
    return time.process_time() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("rows", nargs="*", type=int, default=[20_000], help="rows per sheet")
    parser.add_argument("--runs", type=int, default=1, help="imports per size; the best counts")
    parser.add_argument("--keep", type=Path, help="folder for the sheets and stores (kept)")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="bench-import-"))
    folder.mkdir(parents=True, exist_ok=True)
    columns = ("行数", "墙钟秒", "CPU 秒", "行/CPU 秒", "行/秒", "峰值内存")
    compile_tool(folder)
    print(" ".join(f"{c:>8}" for c in columns), " 校验")
    for n in args.rows:
        sheet, store = folder / f"register-{n}.csv", folder / f"store-{n}.sqlite3"
        write_sheet(sheet, n)
        runs = [run_import(sheet, store) for _ in range(args.runs)]
        best = min(runs, key=lambda r: r["cpu"])
        ok = "通过" if verify(store) else "失败"
        print(
            f"{n:>8} {best['wall']:>8.1f} {best['cpu']:>8.1f} {n / best['cpu']:>10.0f}"
            f" {n / best['wall']:>8.0f} {max(r['peak_mb'] for r in runs):>7.0f} MB  {ok}"
        )
    print(f"（机器忙闲：固定循环 sum(range(10**7)) 用 {busy():.2f} CPU 秒）")
    if not args.keep:
        shutil.rmtree(folder)


if __name__ == "__main__":
    main()
