"""Does every command stay close to what its query costs the database, from a
thousand cases to a million? (issue 14)

    python benchmarks/bench_scale.py                          # 10^3, 10^4, 10^5 on SQLite
    python benchmarks/bench_scale.py --sizes 1000,10000 --db both --gate 1.2   # CI
    python benchmarks/bench_scale.py --sizes 1000000 --db sqlite

For each size, a store of realistic cases (tests/bulkgen.py: three years, 20 units,
Chinese matters of 16-49 characters, 3.3% open, every event sealed in the chain) is
built by bulk insert and kept under the temporary folder (bbc-scale/, one file per
size, reused by later runs; PostgreSQL stores are built afresh in a throwaway cluster,
as tests/pg_server.py makes one). Every command runs on a working copy, as its own
`python -m banbucheng` process, as a clerk or cron would run it:

    overdue, due --within 2, list (the table of the latest 50), list --csv (every case),
    search, similar, daily-report, report --month, export --dir, verify, doctor,
    import (a file of 20 rows), register, close

Printed per command and size: wall seconds (median of --runs), the process's CPU
seconds, its peak memory (getrusage of a parent process of its own), and the ratio
to its floor: the start-up floor (`python -c "import typer, sqlmodel"`, measured in
the same run) plus the same query run by the database alone (the raw SQL below,
timed inside one connection; verify and doctor: reading every event in chain order).

Time compared: on SQLite the process's CPU seconds (the database works inside it,
and a shared machine's other work does not count); on PostgreSQL wall seconds (the
server's work is in another process).

Growth exponent between two sizes n1 < n2: log(e2 / e1) / log(n2 / n1), where e is the
command's time minus the start-up floor, counted as at least NOISE (0.15 s of CPU on
SQLite; 0.5 s of wall time on PostgreSQL, where a busy machine's waits show): a command
whose own work stays under that at both sizes shows 0 rather than the noise of a
shared machine. 1 is linear, 2 quadratic. With --gate G the script exits 1 when any
exponent exceeds G.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

NOW = "2026-11-27 17:45"  # bulkgen.NOW: a Friday, as the window closes
TODAY = "2026-11-27"
YESTERDAY = "2026-11-26"
MONTH = "2026-10"  # the last whole month: the monthly ranking
NOISE = {"sqlite": 0.15, "postgres": 0.5}  # seconds of own work below which growth is noise
GENERATOR = 3  # bump when bulkgen changes, so cached stores are rebuilt
OPEN = "('registered', 'classified', 'dispatched')"
SEARCH_TEXT = "社保卡年检 养老金停发"

# The query each command runs, by the database alone. {now} etc. are filled in; the
# same text runs on SQLite and PostgreSQL unless a pair (sqlite, postgres) is given.
_J = {  # a JSON field of events.detail
    "sqlite": "json_extract(detail, '$.after.{k}')",
    "postgres": "(detail::jsonb -> 'after' ->> '{k}')",
}


def _j(db: str, key: str) -> str:
    return _J[db].format(k=key)


def raw_queries(db: str, search: tuple[str, str]) -> dict[str, list[str]]:
    now, today, ystd = f"'{NOW}:00'", f"'{TODAY}'", f"'{YESTERDAY}'"
    if db == "postgres":
        now = f"TIMESTAMP '{NOW}:00'"
    month_lo, month_hi = f"'{MONTH}-01'", "'2026-11-01'"
    day = "date(at)" if db == "sqlite" else "CAST(at AS date)"
    running = [
        f"SELECT count(*) FROM cases WHERE received_at < {now}",
        f"SELECT count(*), sum(CASE WHEN {_j(db, 'outcome')} = 'resolved' THEN 1 ELSE 0 END) "
        f"FROM events WHERE action = 'close'",
        f"SELECT {_j(db, 'satisfaction')}, count(*) FROM events WHERE action = 'visit' GROUP BY 1",
    ]

    def daily(d: str) -> list[str]:
        return [
            f"SELECT * FROM cases WHERE status IN {OPEN} OR date(received_at) = {d}"
            if db == "sqlite"
            else f"SELECT * FROM cases WHERE status IN {OPEN} OR CAST(received_at AS date) = {d}",
            f"SELECT * FROM events WHERE at >= {d} AND action IN ('close', 'escalate', 'refer')",
            *running,
            f"SELECT {day}, count(*) FROM events WHERE at >= date({d}, '-30 days') GROUP BY 1"
            if db == "sqlite"
            else f"SELECT {day}, count(*) FROM events WHERE at >= DATE {d} - 30 GROUP BY 1",
        ]

    overdue = f"SELECT * FROM cases WHERE status IN {OPEN} AND due_at < {now} ORDER BY due_at"
    return {
        "overdue": [overdue],
        "due": [
            f"SELECT * FROM cases WHERE status IN {OPEN} AND due_at >= {now} "
            f"AND due_date <= '2026-12-01' ORDER BY due_at",
            f"SELECT count(*) FROM cases WHERE status IN {OPEN} AND due_at < {now}",
        ],
        "list": [
            "SELECT * FROM cases ORDER BY received_at DESC, number DESC LIMIT 50",
            "SELECT count(*) FROM cases",
        ],
        "list --csv": ["SELECT * FROM cases ORDER BY received_at, number"],
        "search": [search[0]],
        "similar": [search[1]],
        "daily-report": daily(today),
        "report --month": [
            f"SELECT unit_id, count(*) FROM cases WHERE received_at >= {month_lo} "
            f"AND received_at < {month_hi} GROUP BY unit_id",
            f"SELECT action, count(*) FROM events WHERE at >= {month_lo} AND "
            f"action IN ('close', 'visit', 'escalate', 'refer', 'extend', 'reopen') GROUP BY 1",
            f"SELECT unit_id, count(*) FROM cases WHERE status IN {OPEN} AND due_at < {now} "
            f"GROUP BY unit_id",
        ],
        "export --dir": daily(ystd),
        "verify": ["SELECT * FROM events ORDER BY seq"],
        "doctor": ["SELECT * FROM events ORDER BY seq"],
        "import": [],
        "register": [],
        "close": [],
    }


# ---------------------------------------------------------------- stores


def cache_dir() -> Path:
    path = Path(tempfile.gettempdir()) / "bbc-scale"
    path.mkdir(exist_ok=True)
    return path


def sqlite_store(n: int) -> Path:
    """The cached store of n cases (built once, by bulk insert)."""
    import bulkgen

    path = cache_dir() / f"sqlite-{n}-v{GENERATOR}.sqlite3"
    if not path.exists():
        started = time.perf_counter()
        partial = path.with_suffix(".building")
        partial.unlink(missing_ok=True)
        counts = bulkgen.build(f"sqlite:///{partial}", n, log=lambda s: say(f"  …{s}"))
        partial.rename(path)
        seconds = time.perf_counter() - started
        say(f"已生成 SQLite 数据库 {n:,} 件（{counts['events']:,} 条事件，"
            f"在办 {counts['open']:,}）：{seconds:.0f} 秒")  # fmt: skip
    return path


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- measuring

_PROBE = """
import json, resource, subprocess, sys, time
started = time.perf_counter()
done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
wall = time.perf_counter() - started
use = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"wall": wall, "cpu": use.ru_utime + use.ru_stime,
                  "rss_kb": use.ru_maxrss, "code": done.returncode,
                  "err": done.stderr.decode("utf-8", "replace")[-300:]}))
"""


@dataclass
class Run:
    wall: float
    cpu: float
    rss_mb: float


def measure(argv: list[str], env: dict[str, str], expect: tuple[int, ...] = (0,)) -> Run:
    """One process, timed by a parent of its own (so its peak memory is its own)."""
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, *argv], capture_output=True, text=True, env=env, check=True
    )
    data = json.loads(out.stdout)
    if data["code"] not in expect:
        raise RuntimeError(f"{' '.join(argv[3:])} → {data['code']}: {data['err']}")
    return Run(data["wall"], data["cpu"], data["rss_kb"] / 1024)


def time_sql(url: str, statements: list[str], runs: int) -> float:
    """The median time the database takes for the statements (fetching every row)."""
    if not statements:
        return 0.0
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    times = []
    with engine.connect() as conn:
        for _ in range(runs + 1):  # the first run warms the cache, as a command's would be
            started = time.perf_counter()
            for sql in statements:
                conn.execute(text(sql.replace(":", r"\:"))).fetchall()
            times.append(time.perf_counter() - started)
    engine.dispose()
    return statistics.median(times[1:])


@dataclass
class Result:
    command: str
    n: int
    wall: float
    cpu: float
    rss_mb: float
    floor: float  # start-up floor + the query alone
    query: float
    time: float  # what is compared: CPU seconds on SQLite, wall seconds on PostgreSQL
    exponent: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _search_sql(db: str, similar: str) -> tuple[str, str]:
    from banbucheng.core import bigrams

    results = []
    for text in (SEARCH_TEXT, similar):
        terms = sorted(set(bigrams.terms(text)))
        if db == "sqlite":
            q = " OR ".join(f'"{t}"' for t in terms)
            results.append(
                f"SELECT * FROM cases WHERE id IN (SELECT rowid FROM case_terms_fts WHERE "
                f"case_terms_fts MATCH '{q}' ORDER BY bm25(case_terms_fts) LIMIT 10)"
            )
        else:
            from banbucheng.knowledge.similar import _PG_VECTOR

            q = " | ".join(f"''{t}''" for t in terms)
            results.append(
                f"SELECT * FROM cases WHERE id IN (SELECT case_id FROM case_terms WHERE "
                f"{_PG_VECTOR} @@ CAST('{q}' AS tsquery) ORDER BY case_id DESC LIMIT 10)"
            )
    return results[0], results[1]


def import_file(folder: Path) -> Path:
    path = folder / "台账.csv"
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["姓名", "电话", "反映事项", "受理时间", "分类", "主办单位"])
        for i in range(20):
            writer.writerow(
                [f"王{i}", f"1380000{i:04d}", f"第{i}件：不动产登记跑了三次还没办下来，要求说明",
                 f"2026-11-2{i % 5} 10:{i:02d}", "应办未办", "不动产登记窗口"]
            )  # fmt: skip
    return path


def commands(folder: Path) -> list[tuple[str, list[str], tuple[int, ...]]]:
    """(name, arguments, accepted exit codes)."""
    return [
        ("overdue", ["overdue"], (0, 4)),
        ("due", ["due", "--within", "2"], (0, 4, 5)),
        ("list", ["list"], (0,)),
        ("list --csv", ["list", "--csv"], (0,)),
        ("search", ["search", SEARCH_TEXT], (0,)),
        ("similar", ["similar", "{similar}"], (0,)),
        ("daily-report", ["daily-report"], (0,)),
        ("report --month", ["report", "--month", MONTH], (0,)),
        ("export --dir", ["export", "--dir", str(folder / "out"), "--date", YESTERDAY], (0,)),
        ("verify", ["verify"], (0, 5)),
        ("doctor", ["doctor"], (0, 5)),
        ("import", ["import", str(import_file(folder))], (0,)),
        ("register", REGISTER, (0,)),
        ("close", ["close", "{open}", "--result", "已协调办结"], (0,)),
    ]


REGISTER = [
    "register", "--name", "霍某某", "--phone", "13712341111", "--matter",
    "诊所营业执照与医疗机构执业许可证名称不一致，供货商拒绝供药", "--department",
    "市场监管窗口", "--category", "应办未办",
]  # fmt: skip


def open_numbers(url: str, k: int) -> list[str]:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            text(f"SELECT number FROM cases WHERE status IN {OPEN} ORDER BY id LIMIT {k}")
        ).all()
    engine.dispose()
    return [r[0] for r in rows]


def case_at(url: str, case_id: int) -> tuple[str, str]:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as conn:
        number, matter = conn.execute(
            text(f"SELECT number, matter FROM cases WHERE id = {case_id}")
        ).one()
    engine.dispose()
    return number, matter


def run_size(db: str, n: int, url: str, runs: int, floor: float) -> list[Result]:
    folder = Path(tempfile.mkdtemp(prefix=f"bbc-scale-{db}-{n}-"))
    env = dict(os.environ, BBC_DB=url, BBC_NOW=NOW, BBC_OPERATOR="窗口甲", BBC_NO_PROMPT="1")
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    closable = open_numbers(url, runs)
    similar_number, similar_matter = case_at(url, n // 2)
    queries = raw_queries(db, _search_sql(db, similar_matter))
    out = []
    try:
        for name, args, codes in commands(folder):
            times = []
            for r in range(runs):
                fill = {"{open}": closable[r], "{similar}": similar_number}
                argv = [sys.executable, "-m", "banbucheng", *[fill.get(a, a) for a in args]]
                times.append(measure(argv, env, codes))
            query = time_sql(url, queries[name], runs)
            wall = statistics.median(t.wall for t in times)
            cpu = statistics.median(t.cpu for t in times)
            out.append(
                Result(
                    command=name,
                    n=n,
                    wall=wall,
                    cpu=cpu,
                    rss_mb=max(t.rss_mb for t in times),
                    floor=floor + query,
                    query=query,
                    time=cpu if db == "sqlite" else wall,
                )
            )
            say(f"  {db} {n:>9,} {name:<15} {wall:7.2f} 秒（CPU {cpu:.2f}）")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return out


def startup_floor(runs: int) -> tuple[float, float]:
    """(wall, CPU) seconds of `python -c "import typer, sqlmodel"`, medians."""
    env = dict(os.environ)
    argv = [sys.executable, "-c", "import typer, sqlmodel"]
    made = [measure(argv, env) for _ in range(max(5, runs))]
    return statistics.median(m.wall for m in made), statistics.median(m.cpu for m in made)


def exponents(results: list[Result], startup: float, noise: float) -> None:
    by_command: dict[str, list[Result]] = {}
    for r in results:
        by_command.setdefault(r.command, []).append(r)
    for rows in by_command.values():
        rows.sort(key=lambda r: r.n)
        for a, b in itertools.pairwise(rows):
            ea, eb = max(a.time - startup, noise), max(b.time - startup, noise)
            b.exponent = math.log(eb / ea) / math.log(b.n / a.n)


def print_table(db: str, results: list[Result], startup: float) -> None:
    what = "CPU 时间" if db == "sqlite" else "墙钟时间"
    print(f"\n{db}：比值与增长指数按{what}；启动基准 python -c \"import typer, sqlmodel\" "
          f"{startup:.2f} 秒")  # fmt: skip
    print("| 命令 | 件数 | 墙钟秒 | CPU 秒 | 峰值内存 MB | 查询本身秒 | 与（基准+查询）之比 "
          "| 增长指数 |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in sorted(results, key=lambda r: (ORDER.index(r.command), r.n)):
        k = "—" if r.exponent is None else f"{r.exponent:.2f}"
        print(
            f"| `{r.command}` | {r.n:,} | {r.wall:.2f} | {r.cpu:.2f} | {r.rss_mb:.0f} | "
            f"{r.query:.3f} | {r.time / r.floor:.2f} | {k} |"
        )


ORDER = [
    "overdue", "due", "list", "list --csv", "search", "similar", "daily-report",
    "report --month", "export --dir", "verify", "doctor", "import", "register", "close",
]  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="sqlite")
    parser.add_argument("--runs", type=int, default=1, help="runs per command (median)")
    parser.add_argument("--gate", type=float, default=None, help="fail above this exponent")
    args = parser.parse_args(argv)
    sizes = sorted(int(s.replace("_", "")) for s in args.sizes.split(","))
    startup_wall, startup_cpu = startup_floor(args.runs)
    failed = []
    for db in ("sqlite", "postgres") if args.db == "both" else (args.db,):
        startup = startup_cpu if db == "sqlite" else startup_wall
        results: list[Result] = []
        for n in sizes:
            for url, done in stores(db, n):
                try:
                    results += run_size(db, n, url, args.runs, startup)
                finally:
                    done()
        exponents(results, startup, NOISE[db])
        print_table(db, results, startup)
        if args.gate is not None:
            failed += [
                f"{db} {r.command} {r.n:,}: {r.exponent:.2f}"
                for r in results
                if r.exponent is not None and r.exponent > args.gate
            ]
    if failed:
        print(f"\n增长指数超过 {args.gate}：" + "；".join(failed))
        return 1
    return 0


def stores(db: str, n: int) -> list[tuple[str, Callable[[], None]]]:
    """A working copy of the store of n cases (writes go to the copy), and its cleanup."""
    if db == "sqlite":
        pristine = sqlite_store(n)
        work = pristine.with_name(f"work-{os.getpid()}-{pristine.name}")
        shutil.copyfile(pristine, work)
        return [(f"sqlite:///{work}", lambda: work.unlink(missing_ok=True))]
    import bulkgen
    from pg_server import PgServer

    server = _pg_server()
    name = server.create_database()
    url = server.url(name)
    started = time.perf_counter()
    bulkgen.build(url, n)
    say(f"已生成 PostgreSQL 数据库 {n:,} 件：{time.perf_counter() - started:.0f} 秒")
    assert isinstance(server, PgServer)
    return [(url, lambda: server.drop_database(name))]


_SERVER: list[Any] = []


def _pg_server() -> Any:
    if not _SERVER:
        import atexit

        from pg_server import PgServer

        server = PgServer()
        server.start()
        atexit.register(server.stop)
        _SERVER.append(server)
    return _SERVER[0]


if __name__ == "__main__":
    sys.exit(main())
