"""Benchmark of the working-day engine; run: python benchmarks/bench_deadlines.py.

Prints the cost of building a WorkCalendar, of 1,000,000 compute_deadline calls on
random 2021-2026 receipt times, and, for comparison, of chinese_calendar.find_workday.
"""

from __future__ import annotations

import random
import sys
from datetime import date, datetime, time
from pathlib import Path
from time import perf_counter

import chinese_calendar

CALLS = 1_000_000
FIND_WORKDAY_CALLS = 10_000
LIMITS = (3, 5, 7, 10, 15)
CLOSING = time(17, 30)


def main() -> None:
    # Run as a plain script from anywhere: make the project importable first.
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from banbucheng.deadlines import WorkCalendar, compute_deadline

    rng = random.Random(20210401)
    first, last = date(2021, 1, 1).toordinal(), date(2026, 12, 31).toordinal()
    receipts = [
        datetime.fromordinal(rng.randint(first, last)).replace(
            hour=rng.randint(0, 23), minute=rng.randint(0, 59)
        )
        for _ in range(CALLS)
    ]
    limits = [rng.choice(LIMITS) for _ in range(CALLS)]

    builds = []
    for _ in range(5):
        t0 = perf_counter()
        calendar = WorkCalendar()
        builds.append(perf_counter() - t0)
    print(f"WorkCalendar() build: {min(builds) * 1e3:.1f} ms (best of 5)")

    t0 = perf_counter()
    for received, days in zip(receipts, limits, strict=True):
        compute_deadline(received, days, calendar, CLOSING)
    ours = perf_counter() - t0
    print(f"compute_deadline x {CALLS:,}: {ours:.2f} s ({ours / CALLS * 1e6:.2f} us per call)")

    # find_workday(n, d) is what a naive implementation would call; note it counts
    # from the first working day on or after d, so it is only the same rule on
    # working days. Its results are not compared here, only its cost.
    sample = list(zip(receipts[:FIND_WORKDAY_CALLS], limits[:FIND_WORKDAY_CALLS], strict=True))
    failures = 0
    t0 = perf_counter()
    for received, days in sample:
        try:
            chinese_calendar.find_workday(days, received.date())
        except NotImplementedError:  # the deadline runs into a year it does not know
            failures += 1
    theirs = (perf_counter() - t0) / len(sample)
    print(
        f"chinese_calendar.find_workday x {len(sample):,}: {theirs * len(sample):.2f} s "
        f"({theirs * 1e6:.1f} us per call)"
    )
    print(f"  of which {failures} raised NotImplementedError (deadline past the package's data)")
    print(f"ratio: find_workday is {theirs / (ours / CALLS):.0f}x slower per call")


if __name__ == "__main__":
    main()
