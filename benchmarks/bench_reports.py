"""How the reports' time grows with the cases (SQLite).

    python benchmarks/bench_reports.py [cases ...]     # default: 500 1000 2000

For each size, builds a temporary store through the lifecycle (a year of cases:
registered, most dispatched, closed and visited, some reopened or extended), then
times the daily roll-up, a month's statistics, the statistics since the start and
the overdue list, each in its own read transaction, and prints the growth exponent
between consecutive sizes (log t2/t1 over log n2/n1: 1 is linear, 2 quadratic).
Every figure is computed in SQL from the timeline; before 0.2 a correlated subquery
per case made the roll-up quadratic (exponent 2.0) on a store never analysed.
"""

from __future__ import annotations

import math
import random
import sys
import tempfile
import time
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

from banbucheng.core import labels
from banbucheng.core.timeutil import BEIJING
from banbucheng.domain import lifecycle
from banbucheng.reports import daily, period, supervision, timeline
from banbucheng.services import cases as case_service
from banbucheng.store import Store

UNITS = [f"单位{i:02d}" for i in range(20)]


def build(store: Store, n: int, seed: int = 3) -> datetime:
    rng = random.Random(seed)
    start = datetime(2025, 11, 3, 9, 0, tzinfo=BEIJING)
    last = start
    with store.context(actor="基准", now=start) as ctx:
        for i in range(n):
            at = start + timedelta(minutes=int(i * 525_600 / n))
            c = replace(ctx, now=at)
            category = "impossible" if rng.random() < 0.25 else "unhandled"
            case = case_service.register(
                c,
                citizen_name="张三",
                phone="13800000000",
                matter=f"事项{i}",
                channel="window",
                category=category,
            )
            if category == "unhandled":
                lifecycle.dispatch(
                    replace(c, now=at + timedelta(hours=1)), case, unit=rng.choice(UNITS)
                )
            if rng.random() < 0.1:
                lifecycle.extend(
                    replace(c, now=at + timedelta(hours=2)), case, reason="r", approver="a", days=3
                )
            if rng.random() < 0.85:
                closed = at + timedelta(days=rng.randint(0, 9), hours=3)
                case_service.close(replace(c, now=closed), case, result="已办结")
                if rng.random() < 0.6:
                    visited = closed + timedelta(days=1)
                    level = rng.choice(list(labels.SATISFACTION))
                    lifecycle.visit(replace(c, now=visited), case, satisfaction=level)
                    if level == "very_dissatisfied":
                        lifecycle.reopen(
                            replace(c, now=visited + timedelta(hours=1)), case, reason="r"
                        )
                last = max(last, closed)
    return last + timedelta(days=2)


def measure(n: int) -> dict[str, float]:
    """Seconds per report on a store of n cases."""
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(f"sqlite:///{Path(tmp) / 'bench.sqlite3'}")
        t0 = time.perf_counter()
        now = build(store, n)
        print(f"built {n} cases in {time.perf_counter() - t0:.1f} s")
        day = (now - timedelta(days=30)).date()
        first = day.replace(day=1)
        month = (
            timeline.day_start(first),
            timeline.day_start((first + timedelta(days=32)).replace(day=1)),
        )
        reports = {
            "daily roll-up": lambda c: daily.daily_rollup(
                c.session, c.policy, c.calendar, day, now
            ),
            "month statistics": lambda c: period.period_stats(c.session, c.policy, *month, now),
            "statistics since the start": lambda c: period.period_stats(
                c.session, c.policy, None, now, now
            ),
            "overdue list": lambda c: supervision.supervision(c.session, c.calendar, now),
        }
        out = {}
        for label, run in reports.items():
            with store.context(actor="基准", now=now, write=False) as ctx:
                t0 = time.perf_counter()
                run(ctx)
                out[label] = time.perf_counter() - t0
        store.close()
    return out


def main() -> None:
    sizes = [int(a) for a in sys.argv[1:]] or [500, 1000, 2000]
    results = {n: measure(n) for n in sizes}
    print(f"{'report':<28}" + "".join(f"{n:>10}" for n in sizes) + "  growth exponent")
    for label in results[sizes[0]]:
        times = [results[n][label] for n in sizes]
        exponents = [
            math.log(t2 / t1) / math.log(n2 / n1)
            for (n1, t1), (n2, t2) in zip(
                zip(sizes, times, strict=True), zip(sizes[1:], times[1:], strict=True), strict=False
            )
        ]
        print(
            f"{label:<28}"
            + "".join(f"{t:9.3f}s" for t in times)
            + "  "
            + " ".join(f"{e:.2f}" for e in exponents)
        )


if __name__ == "__main__":
    main()
