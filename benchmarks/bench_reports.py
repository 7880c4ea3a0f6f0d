"""How long the reports take on a store of a few thousand cases (SQLite).

    python benchmarks/bench_reports.py [cases]

Builds a temporary store through the lifecycle (a year of cases: registered, most
dispatched, closed and visited, some reopened or extended), then times the daily
roll-up, a month's statistics and the overdue list. Every figure is computed in SQL
from the timeline, so the time grows with the number of cases and events, not with
anything loaded into Python.
"""

from __future__ import annotations

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


def timed(label: str, fn) -> None:  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    fn()
    print(f"{label:<28} {time.perf_counter() - t0:7.3f} s")


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(f"sqlite:///{Path(tmp) / 'bench.sqlite3'}")
        t0 = time.perf_counter()
        now = build(store, n)
        print(f"built {n} cases in {time.perf_counter() - t0:.1f} s")
        day = (now - timedelta(days=30)).date()
        with store.context(actor="基准", now=now, write=False) as ctx:
            s, p, cal = ctx.session, ctx.policy, ctx.calendar
            timed("daily roll-up", lambda: daily.daily_rollup(s, p, cal, day, now))
            first = day.replace(day=1)
            timed(
                "month statistics",
                lambda: period.period_stats(
                    s,
                    p,
                    timeline.day_start(first),
                    timeline.day_start((first + timedelta(days=32)).replace(day=1)),
                    now,
                ),
            )
            timed("statistics since the start", lambda: period.period_stats(s, p, None, now, now))
            timed("overdue list", lambda: supervision.supervision(s, cal, now))
        store.close()


if __name__ == "__main__":
    main()
