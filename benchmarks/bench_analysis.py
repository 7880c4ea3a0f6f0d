"""How grouping a period's matters into types (`bbc analyse`'s 类案) grows with them.

    python benchmarks/bench_analysis.py [matters ...]   # default: 1000 2000 4000 16000

For each size, makes that many matters in the fixture's words (tests/casegen.py's
wordings with a place and an ending, as the bulk stores hold), weighs their terms by
IDF over the same matters, times `clustering.cluster` alone (no store: the SQL around it
is measured by bench_scale.py), and prints the seconds, the types found and the growth
exponent between consecutive sizes (log t2/t1 over log n2/n1: 1 linear, 2 quadratic).

Before issue 14 every pair sharing a place name or an ending was compared (2.75 /
14.7 / 62.9 s for 1,000 / 2,000 / 4,000 matters, exponent about 2.3); now only pairs
that can reach the threshold are looked for, by prefix filtering, and the links that
average linkage sums are computed inside the connected groups those pairs form.
"""

from __future__ import annotations

import math
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import casegen  # noqa: E402

from banbucheng.core import bigrams  # noqa: E402
from banbucheng.reports import clustering  # noqa: E402


def measure(n: int) -> tuple[float, int]:
    """Seconds to group n matters, and how many types they make."""
    docs = {i: bigrams.terms(m[0]) for i, m in enumerate(casegen.bulk_matters(n))}
    df = Counter(t for d in docs.values() for t in set(d))
    weight = {t: bigrams.weight(t, k, n) for t, k in df.items()}
    t0 = time.process_time()
    groups = clustering.cluster(docs, weight)
    return time.process_time() - t0, len(groups)


def main() -> None:
    sizes = [int(a) for a in sys.argv[1:]] or [1000, 2000, 4000, 16000]
    print(f"{'matters':>8} {'CPU s':>9} {'types':>6}  growth exponent")
    previous: tuple[int, float] | None = None
    for n in sizes:
        seconds, types = measure(n)
        growth = ""
        if previous and previous[1] > 0 and seconds > 0:
            growth = f"{math.log(seconds / previous[1]) / math.log(n / previous[0]):.2f}"
        print(f"{n:>8} {seconds:>9.3f} {types:>6}  {growth}", flush=True)
        previous = (n, seconds)


if __name__ == "__main__":
    main()
