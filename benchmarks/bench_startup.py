"""What a command costs the clerk who types it: CPU time of whole `bbc` processes,
as ratios to Python importing what they are built on, measured in one run.

    python benchmarks/bench_startup.py                  # 100,000 cases, 9 runs each
    python benchmarks/bench_startup.py --cases 20000 --runs 5
    python benchmarks/bench_startup.py --store /tmp/bench.sqlite3   # keep the store

Targets (issue 10), each the median CPU time (user + system) of the process over the
median of its baseline, every process started the same way:

- TAB completion of case numbers and units     ≤ 1.5 × python -c "import sqlite3"
- bbc --help, bbc -h, bbc list --help          ≤ 1.5 × python -c "import typer"
- register, close, show, list, overdue,
  daily-report on 100,000 cases                ≤ 1.15 × python -c "import typer, sqlmodel"

Commands run in a pseudo-terminal of 120×40, as at the window (so `list` shows a
screenful, not 100,000 lines). CPU time rather than wall time: the machine may be
busy with other work, and what is measured is what bbc itself does. Baselines and
commands take turns, run after run, so a slow spell touches them alike. Bytecode is
cached (in a temporary folder) as in any installed copy, for bbc and the baselines.

The store is built by bulk inserts in a minute or so (not 100,000 registrations):
five years of cases, about 80 a working day, nearly all closed and most visited, the
last days' cases open and a few dozen overdue; every case with its events, sealed
into the event chain as bbc would have, and indexed for similar-case search.
"""

from __future__ import annotations

import argparse
import fcntl
import json
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
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

NOW = datetime(2026, 11, 27, 17, 45)  # BBC_NOW: a Friday, as the window closes
FIRST_DAY = date(2022, 1, 4)
UNITS = [
    "中心综合协调科",
    "市场监管窗口",
    "卫健窗口",
    "社保窗口",
    "医保窗口",
    "公积金窗口",
    "不动产登记窗口",
    "税务窗口",
    "公安分局",
    "交警大队",
    "住建局",
    "自然资源局",
    "人民银行分行",
    "民政局",
    "教育局",
    "省农保中心",
    "社区居委会",
    "街道办事处",
    "城管局",
    "水务集团",
]
SATISFACTION = ["very_satisfied"] * 5 + ["satisfied"] * 3 + ["basically_satisfied", "dissatisfied"]


# ---------------------------------------------------------------- the store


def build(path: Path, n: int) -> None:
    """n cases with their events, by bulk insert (see the module docstring)."""
    import casegen
    from sqlalchemy import insert

    from banbucheng.core.timeutil import BEIJING
    from banbucheng.core.validate import mask_name, mask_phone
    from banbucheng.deadlines import WorkCalendar
    from banbucheng.schema import citizens, index
    from banbucheng.schema.chain import GENESIS, event_hash
    from banbucheng.schema.models import (
        Case,
        CaseChain,
        CaseHelper,
        ChainHead,
        Counter,
        Event,
        Unit,
    )
    from banbucheng.schema.personal import personal_columns
    from banbucheng.store import Store

    started = time.perf_counter()
    calendar = WorkCalendar()
    rng = random.Random(11)
    days = []
    day = FIRST_DAY
    while day <= NOW.date():
        if calendar.is_workday(day):
            days.append(day)
        day += timedelta(days=1)
    closing = clock(17, 30)
    matters = casegen.bulk_matters(n)
    store = Store(f"sqlite:///{path}")
    ring = store.require_keyring("")  # made for the new store, as its first case would
    phones: dict[int, tuple[str, datetime]] = {}
    cases: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    helpers: list[dict[str, Any]] = []
    counters: dict[str, int] = {}
    per_day = n / len(days)
    last_days = set(days[-4:])

    def at(moment: datetime) -> str:
        return moment.isoformat(timespec="seconds")

    def event(case_id: int, moment: datetime, action: str, before: dict, after: dict, text=""):
        detail = {"before": before, "after": after, "text": text}
        events.append(
            {
                "case_id": case_id,
                "at": moment,
                "actor": "窗口甲",
                "action": action,
                "detail": json.dumps(detail, ensure_ascii=False, sort_keys=True),
            }
        )

    for i, (matter, department, category, subtype) in enumerate(matters):
        case_id = i + 1
        day = days[min(int(i / per_day), len(days) - 1)]
        received = datetime.combine(day, clock(8, 30), BEIJING) + timedelta(
            minutes=int((i % per_day) * 480 / per_day)
        )
        counters[day.isoformat()] = counters.get(day.isoformat(), 0) + 1
        number = f"BB{day:%Y%m%d}-{counters[day.isoformat()]:03d}"
        category = "impossible" if rng.random() < 0.25 else "unhandled"
        subtype = None
        if category == "unhandled":
            roll = rng.random()
            subtype = "hard" if roll < 0.15 else ("misconduct" if roll < 0.2 else None)
        limit = 3 if category == "impossible" else (10 if subtype == "hard" else 5)
        due_date = calendar.add_workdays(day, limit)
        due_at = datetime.combine(due_date, closing, BEIJING)
        name, phone = "群众", f"139{rng.randrange(10**8):08d}"
        # Open: the last days' cases, and one in 2,000 of the older ones (overdue).
        is_open = day in last_days or (i % 2000 == 7 and day >= days[-60])
        unit = rng.randrange(len(UNITS)) + 1 if category == "unhandled" else None
        phones[case_id] = (phone, received)
        row: dict[str, Any] = {
            "id": case_id,
            "number": number,
            "status": "dispatched" if unit else "classified",
            **personal_columns(number, name, phone, None, ring),
            "matter": matter,
            "department": department,
            "channel": "window",
            "received_at": received,
            "registered_at": received,
            "registered_by": "窗口甲",
            "category": category,
            "subtype": subtype,
            "unit_id": unit,
            "dispatched_at": received + timedelta(minutes=30) if unit else None,
            "clock_start": received,
            "limit_days": limit,
            "extension_days": 0,
            "due_date": due_date,
            "due_at": due_at,
            "provisional": False,
            "reopen_count": 0,
            **dict.fromkeys(
                ("closed_at", "outcome", "result", "working_days_used", "on_time"), None
            ),
            **dict.fromkeys(("satisfaction", "visited_at"), None),
        }
        event(
            case_id,
            received,
            "register",
            {},
            {"channel": "window", "citizen": mask_name(name), "department": department,
             "phone": mask_phone(phone)},
            matter,
        )  # fmt: skip
        event(
            case_id,
            received,
            "classify",
            {"category": None, "due_at": None, "due_date": None, "limit_days": None,
             "status": "registered", "subtype": None},
            {"category": category, "due_at": at(due_at), "due_date": due_date.isoformat(),
             "limit_days": limit, "status": "classified", "subtype": subtype},
        )  # fmt: skip
        if unit:
            helper = rng.randrange(len(UNITS)) + 1 if rng.random() < 0.1 else None
            if helper == unit:
                helper = None
            if helper:
                helpers.append({"case_id": case_id, "unit_id": helper})
            event(
                case_id,
                received + timedelta(minutes=30),
                "dispatch",
                {"status": "classified", "unit": None, "helpers": []},
                {"status": "dispatched", "unit": UNITS[unit - 1],
                 "helpers": [UNITS[helper - 1]] if helper else []},
            )  # fmt: skip
        used = rng.choice([0, 1, 1, 2, 2, 3, 3, 4, 5, limit + 1])
        closed_day = calendar.add_workdays(day, used) if used else day
        closed_at = max(
            datetime.combine(closed_day, clock(15, 0), BEIJING),
            received + timedelta(hours=1),  # after the dispatch
        )
        if closed_at > NOW.replace(tzinfo=BEIJING):
            is_open = True  # not closed yet
        if not is_open:
            on_time = closed_at <= due_at
            outcome = "replied" if category == "impossible" else "resolved"
            row.update(
                status="closed",
                closed_at=closed_at,
                outcome=outcome,
                result="已协调办理完毕" if outcome == "resolved" else "已答复群众不能办理的理由",
                working_days_used=calendar.workdays_between(day, closed_at.date()),
                on_time=on_time,
            )
            event(
                case_id,
                closed_at,
                "close",
                {"closed_at": None, "on_time": None, "outcome": None,
                 "status": "dispatched" if row["dispatched_at"] else "classified",
                 "working_days_used": None},
                {"closed_at": at(closed_at), "mechanism": None, "on_time": on_time,
                 "outcome": outcome, "status": "closed",
                 "working_days_used": row["working_days_used"]},
                row["result"],
            )  # fmt: skip
            if rng.random() < 0.8:
                level = rng.choice(SATISFACTION)
                visited = closed_at + timedelta(days=1)
                if visited <= NOW.replace(tzinfo=BEIJING):
                    row.update(satisfaction=level, visited_at=visited)
                    event(
                        case_id,
                        visited,
                        "visit",
                        {"satisfaction": None, "visited_at": None},
                        {"satisfaction": level, "visited_at": at(visited)},
                    )
        cases.append(row)

    # The chain, in the order the events happened (as bbc would have sealed them).
    events.sort(key=lambda e: (e["at"], e["case_id"]))
    numbers = {c["id"]: c["number"] for c in cases}
    anchors: dict[int, dict[str, Any]] = {}
    previous = GENESIS
    for seq, e in enumerate(events, 1):
        e["seq"], e["prev_hash"] = seq, previous
        e["hash"] = previous = event_hash(
            seq=seq,
            number=numbers[e["case_id"]],
            at=e["at"],
            actor=e["actor"],
            action=e["action"],
            detail=e["detail"],
            prev_hash=e["prev_hash"],
        )
        anchor = anchors.setdefault(
            e["case_id"], {"case_id": e["case_id"], "number": numbers[e["case_id"]], "events": 0}
        )
        anchor.update(events=anchor["events"] + 1, last_seq=seq, last_hash=e["hash"])

    with store.session(write=True) as session:
        now = NOW.replace(tzinfo=BEIJING)
        session.execute(
            insert(Unit.__table__),  # type: ignore[attr-defined]
            [
                {"id": k + 1, "name": u, "contact": f"联系人{k + 1} 0571-870000{k:02d}",
                 "created_at": now - timedelta(days=2000)}
                for k, u in enumerate(UNITS)
            ],
        )  # fmt: skip
        for table, rows in (
            (Case.__table__, cases),  # type: ignore[attr-defined]
            (Event.__table__, events),  # type: ignore[attr-defined]
            (CaseHelper.__table__, helpers),  # type: ignore[attr-defined]
            (CaseChain.__table__, list(anchors.values())),  # type: ignore[attr-defined]
        ):
            for k in range(0, len(rows), 5000):
                session.execute(insert(table), rows[k : k + 5000])
        session.execute(
            insert(ChainHead.__table__),  # type: ignore[attr-defined]
            [{"id": 1, "seq": len(events), "hash": previous}],
        )
        session.execute(
            insert(Counter.__table__),  # type: ignore[attr-defined]
            [{"key": f"case:{d}", "value": v} for d, v in counters.items()],
        )
        index.rebuild(session)
        rows = [(cid, phone, None, when) for cid, (phone, when) in phones.items()]
        citizens.hash_and_flag(session, rows, ring.lookup_key)
        session.connection().exec_driver_sql("ANALYZE")
    store.close()
    seconds = time.perf_counter() - started
    made = f"已生成 {n:,} 件案件、{len(events):,} 条事件"
    print(f"{made}：{path}（{seconds:.0f} 秒）", file=sys.stderr)


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
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--store", type=Path, help="数据库文件（已存在则直接使用）")
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="bbc-bench-"))
    store = args.store or folder / f"bench-{args.cases}.sqlite3"
    if not store.exists():
        build(store, args.cases)

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
    times: dict[str, list[float]] = {p.label: [] for p in probes}
    for p in probes:  # once each first: caches warm, the completion tree built
        _run(p, times, record=False)
    for _ in range(args.runs):
        for p in probes:
            _run(p, times)
    medians = {label: statistics.median(ts) for label, ts in times.items()}
    fastest = {label: min(ts) for label, ts in times.items()}
    print(f"\n{'':38}CPU 中位数   与基准之比   目标          （最少一次之比）")
    failed = 0
    for p in probes:
        m = medians[p.label]
        if p.baseline is None:
            print(f"{p.label:38}{m * 1000:7.0f} 毫秒")
            continue
        ratio = m / medians[p.baseline]
        ok = ratio <= (p.target or 0)
        failed += not ok
        mark = "达标" if ok else "未达标"
        low = fastest[p.label] / fastest[p.baseline]
        print(
            f"{p.label:38}{m * 1000:7.0f} 毫秒   {ratio:6.2f}×     ≤ {p.target}× {mark:4}"
            f"  （{low:.2f}×）"
        )
    print(f"\n{args.cases:,} 件案件；每项 {args.runs} 次（另先各运行 1 次预热），120×40 伪终端。")
    print("目标按中位数之比判断；括号内为各自最少一次的 CPU 时间之比（受机器负载影响最小）。")
    return 1 if failed else 0


def _run(probe: Probe, times: dict[str, list[float]], record: bool = True) -> None:
    if probe.before is not None:
        probe.before(probe)
    seconds = cpu_seconds(probe.argv, probe.env)
    if record:
        times[probe.label].append(seconds)


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
