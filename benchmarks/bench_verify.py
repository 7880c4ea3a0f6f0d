"""What `bbc verify` costs: events per second and peak memory, full and incremental.

    python benchmarks/bench_verify.py 100000            # events (about 5 per case)
    python benchmarks/bench_verify.py 100000 1000000
    python benchmarks/bench_verify.py 100000 --postgres  # PostgreSQL too (tests' server)
    python benchmarks/bench_verify.py 100000 --store /tmp/v.sqlite3   # keep the store

The store is built by bulk insert (tests/bulkgen.py, as for bench_scale.py), sealed as
bbc seals it: realistic cases of about 4.5 events each (register, classify, dispatch,
close, visit), every event hashed into the one chain and carrying its keyed MAC, the
case anchors and chain head set, each case's last event carrying the digest of its row
(schema/sealed.py), units recorded by store-level events, personal data encrypted and
the citizens' keyed hashes made. The number of cases is chosen for about the events
asked; the events made are printed. The store's key goes to $BBC_KEY_DIR (a temporary
folder unless set). `bbc verify --full` and then `bbc verify` (incremental: only rows
and events since the last run) run as separate processes; wall and CPU seconds and the
peak resident memory (getrusage of the child: the larger of `bbc verify` and the
helper process it starts for a large store, which walks the later half of the chain
and checks a share of the cases: trust/integrity.py) are printed; the CPU
seconds are both processes' together. Target (issue 14): a full run ≥ 200,000
events/s, memory that does not grow with the store. `--reuse` with `--store` measures
an existing store again (its key in $BBC_KEY_DIR) instead of building it.

`--floor` (SQLite) also measures, in the same run, what no verify can do without, in
CPU seconds of this one process: every event's hashed columns read by SQLite itself
(with the join for its case number; the walk no longer reads the events into Python:
trust/walk_db.py), one SHA-256 per event (of its detail: nothing escaped or
formatted), the case pass's query with every row fetched into Python, and per case
one SHA-256 of its row's canonical form and the AES-GCM opening of its tokens;
nothing compared. Half of that is the least wall time on two idle cores; the ratio
of verify's CPU seconds to it is how much verify adds to the floor.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

EVENTS_PER_CASE = 4.5  # about, in bulkgen's stores


def build(url: str, events_wanted: int) -> tuple[int, int]:
    """A sealed store of about `events_wanted` events; returns (events, cases)."""
    import bulkgen  # type: ignore[import-not-found]

    from banbucheng.store import Store, refresh_statistics

    counts = bulkgen.build(url, max(1, round(events_wanted / EVENTS_PER_CASE)))
    store = Store(url)
    with store.session(write=True) as session:
        refresh_statistics(session)  # the planner's statistics, as after an import
    store.close()
    return counts["events"], counts["cases"]


def measure(url: str, *args: str) -> dict[str, Any]:
    """One `bbc verify` process: wall and CPU seconds, peak memory, its report."""
    env = dict(os.environ, BBC_DB=url, PYTHONPATH=str(ROOT))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "banbucheng", "verify", "--json", *args],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    report = json.loads(done.stdout)
    assert report["ok"], report["problems"][:3]
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall": wall, "cpu": cpu, "rss_mb": after.ru_maxrss / 1024, "report": report}


def counted(url: str) -> tuple[int, int]:
    """(events, cases) of a store built before (--reuse)."""
    from sqlalchemy import text

    from banbucheng.store import Store

    store = Store(url)
    with store.session(write=False) as session:
        events = session.execute(text("SELECT count(*) FROM events")).scalar_one()
        cases = session.execute(text("SELECT count(*) FROM cases")).scalar_one()
    store.close()
    return events, cases


def floor(url: str) -> dict[str, float]:
    """The floor of a full verify (the docstring's `--floor`), CPU seconds by part."""
    import hashlib
    from binascii import a2b_base64
    from collections import deque
    from operator import itemgetter

    from banbucheng.schema.personal import FIELDS, aad
    from banbucheng.store import Store
    from banbucheng.trust import integrity, rows, walk
    from banbucheng.trust.personal import Checker

    store = Store(url)
    spent = dict.fromkeys(("事件读取", "事件哈希", "案件读取", "案件摘要与解密"), 0.0)
    sha, digest = hashlib.sha256, walk._digest
    try:
        assert store.seal_key is not None and store.keyring is not None, "需要密钥"
        aeads = Checker(store.keyring).aeads
        with store.session(write=False) as session:
            sql = integrity._Sql(session)
            # The events read by SQLite alone (the walk's columns, its join for the case
            # numbers); then a SHA-256 each, of their details read apart (not counted).
            clock = time.process_time()
            sql.one(
                "SELECT count(e.at), count(e.actor), count(e.action), count(e.detail), "
                "count(e.prev_hash), count(e.hash), count(e.mac), count(c.number) FROM events e "
                "LEFT JOIN cases c ON c.id = e.case_id WHERE e.seq > 0"
            )
            spent["事件读取"] = time.process_time() - clock
            for batch in sql.batches("SELECT CAST(detail AS BLOB) FROM events"):
                clock = time.process_time()
                deque(map(digest, map(sha, map(itemgetter(0), batch))), 0)
                spent["事件哈希"] += time.process_time() - clock
            query, params = rows._query(sql, True, True, True, None, None)
            tokens = [(6 + 2 * i, field) for i, field in enumerate(FIELDS)]
            clock = time.process_time()
            for batch in sql.batches(query, params):
                read = time.process_time()
                deque(map(digest, map(sha, map(itemgetter(3), batch))), 0)
                for row in batch:
                    for at, field in tokens:
                        if row[at]:
                            key_id, _, body = row[at].partition(":")
                            raw = a2b_base64(body)
                            bound = aad(row[1], field).encode()
                            aeads[key_id].decrypt(raw[:12], raw[12:], bound)
                done = time.process_time()
                spent["案件读取"] += read - clock
                spent["案件摘要与解密"] += done - read
                clock = done
    finally:
        store.close()
    return spent


def run(url: str, n: int, label: str, reuse: bool = False, with_floor: bool = False) -> None:
    started = time.perf_counter()
    events, cases = counted(url) if reuse else build(url, n)
    built = time.perf_counter() - started
    made = "沿用已有的数据库" if reuse else f"生成 {built:.0f} 秒"
    print(f"{label}：{events:,} 条事件、{cases:,} 件案件（{made}）")
    for name, args in (("全量 --full", ("--full",)), ("增量", ())):
        m = measure(url, *args)
        rate = events / m["wall"]
        print(
            f"  {name:10} 墙钟 {m['wall']:6.2f} 秒（{rate:>9,.0f} 条/秒），CPU {m['cpu']:6.2f} 秒"
            f"（{events / m['cpu']:>9,.0f} 条/秒），重算 {m['report']['walked']:,} 条，"
            f"峰值内存 {m['rss_mb']:.0f} MB"
        )
        if name.startswith("全量") and with_floor:
            parts = floor(url)
            total = sum(parts.values())
            shown = "、".join(f"{k} {v:.2f}" for k, v in parts.items())
            print(
                f"  下限（同一轮，单进程 CPU 秒）：{shown}，共 {total:.2f} 秒；"
                f"两核全空闲时墙钟至少 {total / 2:.2f} 秒（{events / (total / 2):,.0f} 条/秒）；"
                f"verify 的 CPU 为下限的 {m['cpu'] / total:.2f} 倍"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("events", nargs="*", type=int, default=[100_000])
    parser.add_argument("--store", help="SQLite 文件（保留）；默认临时文件")
    parser.add_argument("--postgres", action="store_true", help="同时在 PostgreSQL 上测")
    parser.add_argument("--floor", action="store_true", help="同一轮测出全量核对的下限（SQLite）")
    parser.add_argument(
        "--reuse", action="store_true", help="--store 的文件已存在时直接沿用（密钥在 $BBC_KEY_DIR）"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if not args.store:  # temporary stores' keys beside them, unless a folder is set
            os.environ.setdefault("BBC_KEY_DIR", str(Path(tmp) / "keys"))
        for n in args.events:
            path = Path(args.store) if args.store else Path(tmp) / f"verify-{n}.sqlite3"
            reuse = bool(args.reuse and args.store and path.exists())
            if path.exists() and not reuse:
                path.unlink()
            run(f"sqlite:///{path}", n, "SQLite", reuse, args.floor)
            if args.postgres:
                from pg_server import PgServer  # type: ignore[import-not-found]

                server = PgServer()
                server.start()
                try:
                    run(server.url(server.create_database()), n, "PostgreSQL")
                finally:
                    server.stop()


if __name__ == "__main__":
    main()
