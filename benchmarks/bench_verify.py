"""What `bbc verify` costs: events per second and peak memory, full and incremental.

    python benchmarks/bench_verify.py 100000            # events (about 5 per case)
    python benchmarks/bench_verify.py 100000 1000000
    python benchmarks/bench_verify.py 100000 --postgres  # PostgreSQL too (tests' server)
    python benchmarks/bench_verify.py 100000 --store /tmp/v.sqlite3   # keep the store

The store is built by bulk insert in seconds, sealed as bbc seals it: cases of five
events each (register, classify, dispatch, close, visit), every event hashed into the
one chain, the case anchors and chain head set, each case's events carrying the digest
of its row (schema/sealed.py), units recorded by store-level events. `bbc verify
--full` and then `bbc verify` (incremental: only rows and events since the last run)
run as separate processes; wall and CPU seconds and the peak resident memory of the
process (getrusage of the child) are printed. Target (issue 14): a full run ≥ 200,000
events/s, memory that does not grow with the store.
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
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

UNITS = [f"第{i}办理科" for i in range(1, 21)]
MATTERS = [
    "营业执照与医疗机构执业许可证名称不一致，供货商拒绝供药",
    "社保卡多年未年检，养老金停发，需要补办并补发",
    "不动产登记材料反复补正，跑了三次仍未办结",
    "公积金提取被要求提供无法开具的证明材料",
]


def build(url: str, events_wanted: int) -> tuple[int, int]:
    from sqlalchemy import insert

    from banbucheng.core.labels import snap
    from banbucheng.core.timeutil import BEIJING
    from banbucheng.schema import sealed
    from banbucheng.schema.chain import GENESIS, event_hash
    from banbucheng.schema.history import time_text
    from banbucheng.schema.models import Case, CaseChain, ChainHead, Event, Unit
    from banbucheng.store import Store

    store = Store(url)
    start = datetime(2021, 1, 4, 9, 0, tzinfo=BEIJING)
    n_cases = max(1, events_wanted // 5)
    seq, prev = 0, GENESIS
    head_events: list[dict[str, Any]] = []

    def event(case_id: int | None, number: str, at: datetime, action: str, detail: dict) -> dict:
        nonlocal seq, prev
        seq += 1
        text = json.dumps(detail, ensure_ascii=False, sort_keys=True)
        digest = event_hash(seq=seq, number=number, at=at, actor="窗口甲", action=action,
                            detail=text, prev_hash=prev)  # fmt: skip
        row = {"case_id": case_id, "at": at, "actor": "窗口甲", "action": action,
               "detail": text, "seq": seq, "prev_hash": prev, "hash": digest}  # fmt: skip
        prev = digest
        return row

    with store.session(write=True) as session:
        units = [{"id": i + 1, "name": u, "contact": "", "created_at": start}
                 for i, u in enumerate(UNITS)]  # fmt: skip
        session.execute(insert(Unit.__table__), units)  # type: ignore[attr-defined]
        for u in units:
            state = {"id": u["id"], "contact": "", "created_at": time_text(start)}
            head_events.append(
                event(None, "", start, "unit_add",
                      {"before": {"units": {u["name"]: None}},
                       "after": {"units": {u["name"]: state}}, "source": "", "text": u["name"]})
            )  # fmt: skip
        session.execute(insert(Event.__table__), head_events)  # type: ignore[attr-defined]
        cases, evs, anchors = [], [], []
        for k in range(1, n_cases + 1):
            received = start + timedelta(minutes=7 * k)
            day = received.date()
            number = f"BB{day:%Y%m%d}-{k:07d}"
            unit_id = k % 20 + 1
            due = day + timedelta(days=7)
            due_at = datetime.combine(due, datetime.min.time(), BEIJING).replace(hour=17, minute=30)
            closed = received + timedelta(days=2)
            visited = closed + timedelta(days=1)
            row = {
                "id": k, "number": number, "status": "closed", "citizen_name": "张三",
                "phone": "13800000000", "id_number": None, "matter": MATTERS[k % 4],
                "department": "窗口", "channel": "window", "received_at": received,
                "registered_at": received, "registered_by": "窗口甲", "category": "unhandled",
                "subtype": None, "unit_id": unit_id, "dispatched_at": received,
                "clock_start": received, "limit_days": 5, "extension_days": 0,
                "due_fixed": None, "due_date": due, "due_at": due_at, "provisional": False,
                "unit_due_at": None, "escalated_at": None, "referred_at": None,
                "closed_at": closed, "outcome": "resolved", "result": "已办结，群众认可",
                "mechanism": None, "working_days_used": 2, "on_time": True,
                "closed_provisional": False, "satisfaction": "satisfied", "visited_at": visited,
                "reopen_count": 0, "repeat_of_id": None,
            }  # fmt: skip
            cases.append(row)
            state = sealed.digest(
                sealed.canonical(sealed.case_values(_Row(row)), UNITS[unit_id - 1], [], None)
            )
            steps = [
                (received, "register", {}, {"channel": "window", "department": "窗口",
                 "received_at": snap(received), "citizen": "张*", "phone": "138****0000"},
                 row["matter"]),
                (received, "classify", {"status": "registered", "category": None},
                 {"status": "classified", "category": "unhandled", "limit_days": 5,
                  "due_date": due.isoformat(), "due_at": snap(due_at)}, ""),
                (received, "dispatch", {"status": "classified", "unit": None, "helpers": []},
                 {"status": "dispatched", "unit": UNITS[unit_id - 1], "helpers": []}, ""),
                (closed, "close", {"status": "dispatched"},
                 {"status": "closed", "closed_at": snap(closed), "outcome": "resolved",
                  "working_days_used": 2, "on_time": True, "mechanism": None}, row["result"]),
                (visited, "visit", {"satisfaction": None},
                 {"satisfaction": "satisfied", "visited_at": snap(visited)}, ""),
            ]  # fmt: skip
            for at, action, before, after, text in steps:
                detail = {"before": before, "after": after, "state": state, "text": text}
                evs.append(event(k, number, at, action, detail))
            anchors.append({"case_id": k, "number": number, "events": 5, "last_seq": seq,
                            "last_hash": prev})  # fmt: skip
            if len(evs) >= 20000:
                _flush(session, cases, evs, anchors)
        _flush(session, cases, evs, anchors)
        session.execute(insert(ChainHead.__table__), [{"id": 1, "seq": seq, "hash": prev}])  # type: ignore[attr-defined]
        session.connection().exec_driver_sql("ANALYZE")
    store.close()
    _ = (Case, CaseChain, date)
    return seq, n_cases


class _Row:
    def __init__(self, row: dict[str, Any]) -> None:
        self.__dict__.update(row)


def _flush(session: Any, cases: list, evs: list, anchors: list) -> None:
    from sqlalchemy import insert

    from banbucheng.schema.models import Case, CaseChain, Event

    for table, rows in ((Case, cases), (Event, evs), (CaseChain, anchors)):
        if rows:
            session.execute(insert(table.__table__), rows)  # type: ignore[attr-defined]
        rows.clear()


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


def run(url: str, n: int, label: str) -> None:
    started = time.perf_counter()
    events, cases = build(url, n)
    built = time.perf_counter() - started
    print(f"{label}：{events:,} 条事件、{cases:,} 件案件（生成 {built:.0f} 秒）")
    for name, args in (("全量 --full", ("--full",)), ("增量", ())):
        m = measure(url, *args)
        rate = events / m["wall"]
        print(
            f"  {name:10} 墙钟 {m['wall']:6.2f} 秒（{rate:>9,.0f} 条/秒），CPU {m['cpu']:6.2f} 秒"
            f"（{events / m['cpu']:>9,.0f} 条/秒），重算 {m['report']['walked']:,} 条，"
            f"峰值内存 {m['rss_mb']:.0f} MB"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("events", nargs="*", type=int, default=[100_000])
    parser.add_argument("--store", help="SQLite 文件（保留）；默认临时文件")
    parser.add_argument("--postgres", action="store_true", help="同时在 PostgreSQL 上测")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.events:
            path = Path(args.store) if args.store else Path(tmp) / f"verify-{n}.sqlite3"
            if path.exists():
                path.unlink()
            run(f"sqlite:///{path}", n, "SQLite")
            if args.postgres:
                sys.path.insert(0, str(ROOT / "tests"))
                from pg_server import PostgresServer  # type: ignore[import-not-found]

                with PostgresServer(Path(tmp) / f"pg-{n}") as server:
                    run(server.url(f"bench{n}"), n, "PostgreSQL")


if __name__ == "__main__":
    main()
