"""Similar-case lookup on a large store: how long search, `bbc similar`, the suggestions
shown at registration and a whole registration take on 100,000 cases, and how many of
the best cases (scoring every case that shares a term) `bbc similar` and the
suggestions find.

    python benchmarks/bench_similar.py                 # SQLite, 100,000 cases
    python benchmarks/bench_similar.py --cases 20000   # smaller
    python benchmarks/bench_similar.py --postgres      # also on a throwaway PostgreSQL
    python benchmarks/bench_similar.py --compare       # tokenizer choices on the fixture

The store is filled with bulk inserts (not 100,000 registrations) from the test
fixture's wordings, each with a place and an ending of its own, then indexed with
index.rebuild and citizens.backfill as a migration would.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import casegen  # noqa: E402

from banbucheng.core import bigrams  # noqa: E402
from banbucheng.core.timeutil import BEIJING  # noqa: E402

QUERIES = [
    "社保",
    "年检",
    "名称",
    "营业执照地址变更",
    "两证名字不一样，药进不来",
    "养老金停了好几年 社保卡没去年审",
    "单位倒闭了公积金取不出来",
    "证",
]


def fill(store: Any, n: int) -> float:
    """n cases by bulk insert, indexed; returns the seconds it took."""
    from sqlalchemy import insert
    from sqlalchemy import select as sa_select

    from banbucheng.schema import citizens, index
    from banbucheng.schema.models import Case
    from banbucheng.schema.personal import personal_columns

    ring = store.require_keyring("")

    started = time.perf_counter()
    rng = random.Random(7)
    start = datetime(2016, 1, 1, 9, 0, tzinfo=BEIJING)
    matters = casegen.bulk_matters(n)
    rows = []
    phones: dict[str, str] = {}
    per_day: dict[str, int] = {}
    for i, (matter, dept, category, subtype) in enumerate(matters):
        received = start + timedelta(minutes=int(i * 60 * 24 * 3650 / n))
        day = f"{received:%Y%m%d}"
        per_day[day] = per_day.get(day, 0) + 1
        # One citizen in fifty comes back, with a phone seen before.
        phone = f"139{rng.randrange(10**8):08d}" if i % 50 else f"139{(i // 2):08d}"
        phones[f"BB{day}-{per_day[day]:03d}"] = phone
        rows.append(
            {
                "number": f"BB{day}-{per_day[day]:03d}",
                "status": "closed" if i % 3 else "classified",
                **personal_columns(f"BB{day}-{per_day[day]:03d}", "群众", phone, None, ring),
                "matter": matter,
                "department": dept,
                "channel": "window",
                "received_at": received,
                "registered_at": received,
                "registered_by": "bench",
                "category": category,
                "subtype": subtype,
                "clock_start": received,
                "limit_days": 5,
                "extension_days": 0,
                "provisional": False,
                "reopen_count": 0,
                "closed_at": received + timedelta(days=3) if i % 3 else None,
                "result": "已协调办理完毕" if i % 3 else None,
            }
        )
    with store.session(write=True) as session:
        table = Case.__table__  # type: ignore[attr-defined]
        for i in range(0, n, 5000):
            session.execute(insert(table), rows[i : i + 5000])
        index.rebuild(session)
        ids = dict(session.execute(sa_select(table.c.number, table.c.id)).all())
        citizens.hash_and_flag(
            session,
            [(ids[r["number"]], phones[r["number"]], None, r["received_at"]) for r in rows],
            ring.lookup_key,
        )
    return time.perf_counter() - started


def timed(fn: Callable[[], Any], runs: int) -> dict[str, float]:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return {
        "median": statistics.median(times),
        "p95": times[min(len(times) - 1, int(len(times) * 0.95))],
        "max": times[-1],
    }


def measure(store: Any, n: int, label: str) -> None:
    from banbucheng.knowledge import similar
    from banbucheng.schema.models import Case

    rng = random.Random(3)
    print(f"\n{label}: {n:,} cases")
    print(f"{'lookup':44} {'median ms':>10} {'p95 ms':>8} {'max ms':>8} {'hits':>5}")
    now = datetime(2026, 1, 5, 10, 0, tzinfo=BEIJING)
    with store.context(actor="bench", now=now, write=False) as ctx:
        for q in QUERIES:
            hits = similar.search(ctx.session, q, limit=10)
            stats = timed(lambda q=q: similar.search(ctx.session, q, limit=10), 20)
            _row(f"search {q[:14]!r}", stats, len(hits))
        ids = [rng.randrange(1, n + 1) for _ in range(30)]
        cases = [ctx.session.get(Case, i) for i in ids]
        it = iter(cases * 2)
        stats = timed(lambda: similar.similar_to(ctx.session, next(it), limit=5), 30)
        _row("similar N (top 5)", stats, 5)
        it = iter(cases * 2)
        stats = timed(lambda: similar.suggestions(ctx.session, next(it)), 30)
        _row("suggestions at registration (+ details)", stats, 3)
        top5, top3 = recall(ctx.session, cases)
        print(f"{'best 5 found (similar N), of every case':44} {top5:10.1%}")
        print(f"{'best 3 found (suggestions), of every case':44} {top3:10.1%}")
    matters = casegen.bulk_matters(20, seed=99)
    times: list[float] = []
    for i, (matter, dept, category, subtype) in enumerate(matters):
        at = now + timedelta(minutes=i)
        with contextlib.suppress(_Undo):  # the store has rolled the registration back
            _register_and_undo(store, at, (matter, dept, category, subtype), i, times)
    times.sort()
    _row(
        "register (index, repeat check, suggestions)",
        {"median": statistics.median(times), "p95": times[-2], "max": times[-1]},
        0,
    )


class _Undo(Exception):
    """Raised in a store's context to roll back what was done in it."""


def _register_and_undo(
    store: Any, now: datetime, spec: tuple[str, str, str, str | None], i: int, times: list[float]
) -> None:
    from banbucheng.knowledge import similar
    from banbucheng.services import cases as case_service

    matter, dept, category, subtype = spec
    with store.context(actor="bench", now=now) as ctx:
        t0 = time.perf_counter()
        case = case_service.register(
            replace(ctx, now=now),
            citizen_name="群众",
            phone=f"13700{i:06d}",
            matter=matter,
            channel="window",
            department=dept,
            category=category,
            subtype=subtype,
        )
        similar.suggestions(ctx.session, case)
        times.append((time.perf_counter() - t0) * 1000)
        raise _Undo  # the store rolls back on the way out (a rollback inside cannot)


def recall(session: Any, cases: list[Any]) -> tuple[float, float]:
    """The share of the best cases the lookup finds, against scoring every case that
    shares a term with the query (bigrams.score, as the lookup scores its candidates):
    the best 5 for `similar N`, and the best 3 at least SUGGEST_MIN for the
    suggestions. A case found counts if its score reaches the last best one's (ties)."""
    from sqlalchemy import select as sa_select

    from banbucheng.knowledge import similar
    from banbucheng.schema.index import Weights
    from banbucheng.schema.models import CaseTerms

    docs: dict[int, bigrams.Doc] = {}
    postings: dict[str, list[int]] = {}
    for case_id, main, extra in session.execute(
        sa_select(CaseTerms.case_id, CaseTerms.main, CaseTerms.extra)
    ):
        docs[case_id] = doc = bigrams.Doc(frozenset(main.split()), frozenset(extra.split()))
        for t in doc.main | doc.extra:
            postings.setdefault(t, []).append(case_id)
    weights = Weights(session)
    weights.load(postings)
    found5: list[float] = []
    found3: list[float] = []
    for case in cases:
        query = {
            t for t in similar.case_terms(session, case) if len(t) > 1 or not bigrams.is_han(t)
        }
        weights.load(query)
        candidates = {i for t in query for i in postings.get(t, ())} - {case.id}
        best = sorted((bigrams.score(query, docs[i], weights) for i in candidates), reverse=True)
        for limit, floor, out in ((5, 0.0, found5), (3, similar.SUGGEST_MIN, found3)):
            wanted = [sc for sc in best if sc > 0 and sc >= floor][:limit]
            if not wanted:
                continue
            got = similar.lookup(
                session, query, limit=limit, exclude=[case.id], min_score=floor, weights=weights
            )
            out.append(sum(h.score >= wanted[-1] - 1e-12 for h in got) / len(wanted))
    return statistics.mean(found5), statistics.mean(found3)


def _row(name: str, stats: dict[str, float], hits: int) -> None:
    print(f"{name:44} {stats['median']:10.1f} {stats['p95']:8.1f} {stats['max']:8.1f} {hits:5}")


def run_sqlite(n: int) -> None:
    from banbucheng.store import Store

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.sqlite3"
        store = Store(f"sqlite:///{path}")
        seconds = fill(store, n)
        size = sum(f.stat().st_size for f in Path(tmp).iterdir()) / 2**20
        print(f"filled and indexed {n:,} cases in {seconds:.1f} s; store {size:.0f} MiB")
        measure(store, n, "SQLite " + __import__("sqlite3").sqlite_version)
        store.close()


def run_postgres(n: int) -> None:
    from pg_server import PgServer

    from banbucheng.store import Store

    server = PgServer()
    server.start()
    try:
        store = Store(server.url(server.create_database()))
        seconds = fill(store, n)
        print(f"\nfilled and indexed {n:,} cases in {seconds:.1f} s (PostgreSQL)")
        with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")  # as autovacuum would, after a bulk load
            version = conn.exec_driver_sql("SHOW server_version").scalar()
        measure(store, n, f"PostgreSQL {version}")
        store.close()
    finally:
        server.stop()


# ---------------------------------------------------------------- tokenizer choices


def _rank_quality(tokenize: Callable[[str], list[str]]) -> tuple[int, float, float]:
    """Top-1 hits and mean reciprocal rank of the fixture's queries, ranking the
    fixture's matters by bigrams.score with IDF over the fixture; and the mean number
    of distinct terms per matter (what the index stores)."""
    specs = casegen.cases()
    docs = [set(tokenize(s.matter)) for s in specs]
    df: dict[str, int] = {}
    for d in docs:
        for t in d:
            df[t] = df.get(t, 0) + 1

    class W(dict[str, float]):
        def __missing__(self, t: str) -> float:
            return bigrams.weight(t, df.get(t, 0), len(docs))

    w = W()
    top1, rr = 0, 0.0
    for query, cls in casegen.QUERIES:
        q = set(tokenize(query))
        scored = sorted(
            (
                (bigrams.score(q, bigrams.Doc(frozenset(d), frozenset()), w), s.cls)
                for d, s in zip(docs, specs, strict=True)
            ),
            reverse=True,
        )
        ranks = [i for i, (_, c) in enumerate(scored, start=1) if c == cls]
        top1 += ranks[0] == 1
        rr += 1 / ranks[0]
    return top1, rr / len(casegen.QUERIES), statistics.mean(len(d) for d in docs)


def compare() -> None:
    def with_unigrams(text: str) -> list[str]:
        out = bigrams.terms(text)
        han_run = bigrams._patterns()[2]  # a text of Han characters
        for run in han_run.findall(bigrams.normalize(text)):
            out.extend(run)
        return out

    def no_synonyms(text: str) -> list[str]:
        return bigrams.terms(text, fold=False)

    variants: list[tuple[str, Callable[[str], list[str]]]] = [
        ("bigrams (used)", bigrams.terms),
        ("bigrams + single characters", with_unigrams),
        ("bigrams, no synonym folding", no_synonyms),
    ]
    try:
        t0 = time.perf_counter()
        import jieba  # type: ignore[import-not-found]

        jieba.setLogLevel(60)
        jieba.initialize()
        load = time.perf_counter() - t0
        variants.append(
            (
                f"jieba cut_for_search (loads in {load:.2f} s)",
                lambda text: [
                    w
                    for w in jieba.cut_for_search(bigrams.normalize(text))
                    if w.strip() and bigrams._RUN.fullmatch(w)
                ],
            )
        )
    except ImportError:
        print("(jieba not installed: pip install jieba to compare it too)")
    n = len(casegen.QUERIES)
    print(f"{'tokenizer':44} {'top-1':>7} {'MRR':>6} {'terms/case':>11}")
    for name, fn in variants:
        top1, mrr, terms = _rank_quality(fn)
        print(f"{name:44} {top1:>3}/{n:<3} {mrr:6.3f} {terms:11.1f}")
    sample = casegen.bulk_matters(10_000)
    t0 = time.perf_counter()
    for matter, *_ in sample:
        bigrams.terms(matter)
    per = (time.perf_counter() - t0) / len(sample) * 1e6
    print(f"bigrams.terms: {per:.0f} µs per matter")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--postgres", action="store_true", help="also on PostgreSQL")
    parser.add_argument("--compare", action="store_true", help="tokenizer choices only")
    args = parser.parse_args()
    os.environ.setdefault("BBC_OPERATOR", "bench")
    if args.compare:
        compare()
        return
    run_sqlite(args.cases)
    if args.postgres:
        run_postgres(args.cases)


if __name__ == "__main__":
    main()
