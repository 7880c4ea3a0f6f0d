"""A store of any size, fast: realistic cases written by bulk insert, for the scale
benchmark (benchmarks/bench_scale.py) and the tests that need thousands of cases.

Three years of cases (by default) up to NOW (a Friday, as the window closes), spread
evenly over the working days; Chinese matters of 16 to 49 characters
(casegen.bulk_matters); 20 units; about 3.3% open by default (the last few days' cases,
and about one in 35 older ones left open and long overdue); most closed cases visited.
Every case has the events the lifecycle would have recorded (register, classify,
dispatch, close, visit), sealed into the event chain in the order they happened, so
`bbc verify` passes; the similar-case index and the citizens' keys are built as the
migrations would.

On PostgreSQL every batch goes in by COPY (`_Copying`): a row at a time through
psycopg's pipeline took about an hour for a million cases; COPY takes the server a
fraction of that. The rows and values are the same either way.

Memory stays bounded whatever the size: cases are made a day at a time, and events
wait in a heap only until their moment has passed (a few days' worth), so a million
cases never sit in Python at once. Works on SQLite and PostgreSQL (explicit ids, then
the sequences moved past them).
"""

from __future__ import annotations

import csv
import heapq
import json
import random
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from typing import Any

NOW = datetime(2026, 11, 27, 17, 45)  # BBC_NOW for the stores: a Friday, closing time
YEARS = 3
OPEN_OLD = 0.029  # of the older cases, the share left open (overdue): ~3.3% open in all
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
CHUNK = 5000  # rows per INSERT batch
ACTOR = "窗口甲"


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


class _Copying:
    """The connection, but a plain INSERT of many rows on PostgreSQL goes in by COPY, in
    the same transaction: the schema's own bulk fills (index.rebuild, citizens,
    totals) get it too. Values pass through each column's bind processing first, and
    columns a row leaves out get their scalar defaults, as an INSERT would give them."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn
        self._copy = conn.dialect.name == "postgresql"

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)

    def execute(self, stmt: Any, params: Any = None, *args: Any, **kwargs: Any) -> Any:
        from sqlalchemy.sql.dml import Insert

        plain = (
            type(stmt) is Insert
            and stmt._post_values_clause is None  # not ON CONFLICT
            and not stmt._returning
            and stmt.select is None
            and not stmt._values
            and not stmt._multi_values
        )
        if not (self._copy and plain and isinstance(params, list) and len(params) > 1):
            return self._conn.execute(stmt, params, *args, **kwargs)
        self._copy_rows(stmt.table, params)
        return None

    def _copy_rows(self, table: Any, rows: list[dict[str, Any]]) -> None:
        dialect = self._conn.dialect
        given = list(rows[0])
        defaults = {
            c.name: c.default.arg
            for c in table.columns
            if c.name not in given and c.default is not None and c.default.is_scalar
        }
        names = given + list(defaults)
        processors = [table.c[name].type._cached_bind_processor(dialect) for name in names]
        columns = ", ".join(dialect.identifier_preparer.quote(n) for n in names)
        raw = self._conn.connection.driver_connection
        tail = list(defaults.values())
        with (
            raw.cursor() as cursor,
            cursor.copy(f"COPY {table.name} ({columns}) FROM STDIN") as copy,
        ):
            for row in rows:
                values = [row[k] for k in given] + tail
                copy.write_row(
                    [v if f is None else f(v) for f, v in zip(processors, values, strict=True)]
                )


def _matters(n: int) -> Iterator[tuple[str, str, str, str | None]]:
    import casegen

    made = 0
    seed = 1
    while made < n:
        part = casegen.bulk_matters(min(10_000, n - made), seed=seed)
        yield from part
        made += len(part)
        seed += 1


def build(
    url: str,
    n: int,
    *,
    seed: int = 11,
    log: Any = None,
    years: int = YEARS,
    open_old: float = OPEN_OLD,
) -> dict[str, int]:
    """Fill the empty store at `url` with n cases over `years` years, of the older
    ones the share `open_old` left open (overdue); returns counts (cases, events, open)."""
    from sqlalchemy import insert, text

    from banbucheng.core.timeutil import BEIJING
    from banbucheng.core.validate import mask_name, mask_phone
    from banbucheng.deadlines import WorkCalendar
    from banbucheng.schema import citizens, index, sealed, totals
    from banbucheng.schema.chain import GENESIS, event_hash, event_mac
    from banbucheng.schema.history import time_text
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

    calendar = WorkCalendar()
    rng = random.Random(seed)
    now = NOW.replace(tzinfo=BEIJING)
    first = date(NOW.year - years, NOW.month, NOW.day) + timedelta(days=1)
    days = []
    day = first
    while day <= NOW.date():
        if calendar.is_workday(day):
            days.append(day)
        day += timedelta(days=1)
    per_day = n / len(days)
    recent = set(days[-4:])
    closing = clock(17, 30)
    store = Store(url)
    ring = store.require_keyring("")  # made for the new store, as its first case would
    counts = {"cases": 0, "events": 0, "open": 0}
    buffers: dict[str, list[dict[str, Any]]] = {
        "cases": [],
        "events": [],
        "helpers": [],
        "anchors": [],
        "citizens": [],  # (id, phone, id_number, received_at): hashed after their cases
    }
    tables = {
        "cases": Case.__table__,  # type: ignore[attr-defined]
        "events": Event.__table__,  # type: ignore[attr-defined]
        "helpers": CaseHelper.__table__,  # type: ignore[attr-defined]
        "anchors": CaseChain.__table__,  # type: ignore[attr-defined]
    }
    # Events wait here, by time, until nothing earlier can come: (at, case, order, row).
    pending: list[tuple[datetime, int, int, dict[str, Any]]] = []
    expected: dict[int, int] = {}  # events each case will have, to anchor it when sealed
    numbers: dict[int, str] = {}
    anchors: dict[int, dict[str, Any]] = {}
    chain = {"seq": 0, "hash": GENESIS}
    day_counters: dict[str, int] = {}

    with store.session(write=True) as session:
        conn = _Copying(session.connection())

        def flush(name: str, force: bool = False) -> None:
            rows = buffers[name]
            if rows and (force or len(rows) >= CHUNK):
                if name in ("events", "anchors"):
                    flush("cases", force=True)  # the cases they name go in first
                    flush("helpers", force=True)
                conn.execute(insert(tables[name]), rows)
                rows.clear()
                if name == "cases":
                    citizens.hash_and_flag(conn, buffers["citizens"], ring.lookup_key)
                    buffers["citizens"].clear()

        def seal_until(moment: datetime | None) -> None:
            while pending and (moment is None or pending[0][0] < moment):
                _, _, _, row = heapq.heappop(pending)
                case_id = row["case_id"]
                chain["seq"] += 1
                row["seq"], row["prev_hash"] = chain["seq"], chain["hash"]
                row["hash"] = chain["hash"] = event_hash(
                    seq=row["seq"],
                    number=numbers[case_id] if case_id is not None else "",
                    at=row["at"],
                    actor=row["actor"],
                    action=row["action"],
                    detail=row["detail"],
                    prev_hash=row["prev_hash"],
                )
                row["mac"] = event_mac(ring.seal_key, row["hash"])  # the keyed seal
                buffers["events"].append(row)
                counts["events"] += 1
                flush("events")
                if case_id is None:
                    continue
                anchor = anchors.setdefault(
                    case_id,
                    {"case_id": case_id, "number": numbers[case_id], "events": 0},
                )
                anchor.update(
                    events=anchor["events"] + 1, last_seq=row["seq"], last_hash=row["hash"]
                )
                if anchor["events"] == expected[case_id]:
                    buffers["anchors"].append(anchors.pop(case_id))
                    del expected[case_id], numbers[case_id]
                    flush("anchors")

        order = 0

        last_event: dict[int, tuple[dict[str, Any], dict[str, Any]]] = {}

        def event(
            case_id: int | None, moment: datetime, action: str, before: dict, after: dict, text=""
        ):
            nonlocal order
            order += 1
            detail: dict[str, Any] = {"before": before, "after": after, "text": text}
            if case_id is None:
                detail["source"] = ""
            row = {
                "case_id": case_id,
                "at": moment,
                "actor": ACTOR,
                "action": action,
                "detail": json.dumps(detail, ensure_ascii=False, sort_keys=True),
            }
            heapq.heappush(pending, (moment, case_id or 0, order, row))
            if case_id is not None:
                expected[case_id] = expected.get(case_id, 0) + 1
                last_event[case_id] = (row, detail)

        conn.execute(
            insert(Unit.__table__),  # type: ignore[attr-defined]
            [
                {"id": k + 1, "name": u, "contact": f"联系人{k + 1} 0571-870000{k:02d}",
                 "created_at": now - timedelta(days=2000)}
                for k, u in enumerate(UNITS)
            ],
        )  # fmt: skip
        for k, u in enumerate(UNITS):
            state = {
                "id": k + 1,
                "contact": f"联系人{k + 1} 0571-870000{k:02d}",
                "created_at": time_text(now - timedelta(days=2000)),
            }
            event(None, now - timedelta(days=2000), "unit_add", {"units": {u: None}},
                  {"units": {u: state}}, u)  # fmt: skip
        current_day = None
        for i, (matter, department, _, _) in enumerate(_matters(n)):
            case_id = i + 1
            day = days[min(int(i / per_day), len(days) - 1)]
            if day != current_day:
                # Nothing earlier than this day's first receipt can come any more.
                seal_until(datetime.combine(day, clock(0), BEIJING))
                current_day = day
            received = datetime.combine(day, clock(8, 30), BEIJING) + timedelta(
                minutes=int((i % per_day) * 480 / per_day)
            )
            key = day.isoformat()
            day_counters[key] = day_counters.get(key, 0) + 1
            number = f"BB{day:%Y%m%d}-{day_counters[key]:03d}"
            numbers[case_id] = number
            category = "impossible" if rng.random() < 0.25 else "unhandled"
            subtype = None
            if category == "unhandled":
                roll = rng.random()
                subtype = "hard" if roll < 0.15 else ("misconduct" if roll < 0.2 else None)
            limit = 3 if category == "impossible" else 5
            due_date = calendar.add_workdays(day, limit)
            due_at = datetime.combine(due_date, closing, BEIJING)
            name, phone = "群众", f"139{rng.randrange(10**8):08d}"
            is_open = day in recent or rng.random() < open_old
            unit = rng.randrange(len(UNITS)) + 1 if category == "unhandled" else None
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
                "registered_by": ACTOR,
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
                case_id, received, "register", {},
                {"channel": "window", "citizen": mask_name(name), "department": department,
                 "phone": mask_phone(phone)},
                matter,
            )  # fmt: skip
            event(
                case_id, received, "classify",
                {"category": None, "due_at": None, "due_date": None, "limit_days": None,
                 "status": "registered", "subtype": None},
                {"category": category, "due_at": _iso(due_at), "due_date": due_date.isoformat(),
                 "limit_days": limit, "status": "classified", "subtype": subtype},
            )  # fmt: skip
            if unit:
                helper = rng.randrange(len(UNITS)) + 1 if rng.random() < 0.1 else None
                if helper == unit:
                    helper = None
                if helper:
                    buffers["helpers"].append({"case_id": case_id, "unit_id": helper})
                event(
                    case_id, received + timedelta(minutes=30), "dispatch",
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
            if closed_at > now:
                is_open = True  # not closed yet
            if not is_open:
                on_time = closed_at <= due_at
                outcome = "replied" if category == "impossible" else "resolved"
                row.update(
                    status="closed",
                    closed_at=closed_at,
                    outcome=outcome,
                    result="已协调办理完毕"
                    if outcome == "resolved"
                    else "已答复群众不能办理的理由",
                    working_days_used=calendar.workdays_between(day, closed_at.date()),
                    on_time=on_time,
                )
                event(
                    case_id, closed_at, "close",
                    {"closed_at": None, "on_time": None, "outcome": None,
                     "status": "dispatched" if unit else "classified", "working_days_used": None},
                    {"closed_at": _iso(closed_at), "mechanism": None, "on_time": on_time,
                     "outcome": outcome, "status": "closed",
                     "working_days_used": row["working_days_used"]},
                    row["result"],
                )  # fmt: skip
                visited = closed_at + timedelta(days=1)
                if rng.random() < 0.8 and visited <= now:
                    level = rng.choice(SATISFACTION)
                    row.update(satisfaction=level, visited_at=visited)
                    event(
                        case_id, visited, "visit",
                        {"satisfaction": None, "visited_at": None},
                        {"satisfaction": level, "visited_at": _iso(visited)},
                    )  # fmt: skip
            else:
                counts["open"] += 1
            # The case's last event seals its row as it now stands (schema/sealed.py).
            last, detail = last_event.pop(case_id)
            added = buffers["helpers"][-1:]  # this case's helper is the last added, if any
            helper_names = [UNITS[h["unit_id"] - 1] for h in added if h["case_id"] == case_id]
            values = [row.get(name, False if kind == "flag" else None)
                      for name, kind in sealed.COLUMNS]  # fmt: skip
            detail["state"] = sealed.digest(
                sealed.canonical(values, UNITS[unit - 1] if unit else None, helper_names, None)
            )
            last["detail"] = json.dumps(detail, ensure_ascii=False, sort_keys=True)
            buffers["cases"].append(row)
            buffers["citizens"].append((case_id, phone, None, received))
            counts["cases"] += 1
            # Cases go in before the events that name them (the foreign key).
            if len(buffers["cases"]) >= CHUNK:
                flush("cases", force=True)
                flush("helpers", force=True)
            if log and case_id % 100_000 == 0:
                log(f"{case_id:,} 件")
        flush("cases", force=True)
        flush("helpers", force=True)
        seal_until(None)
        for name in ("events", "anchors"):
            flush(name, force=True)
        conn.execute(
            insert(ChainHead.__table__),  # type: ignore[attr-defined]
            [{"id": 1, "seq": chain["seq"], "hash": chain["hash"]}],
        )
        conn.execute(
            insert(Counter.__table__),  # type: ignore[attr-defined]
            [{"key": f"case:{d}", "value": v} for d, v in day_counters.items()],
        )
        if conn.dialect.name == "postgresql":
            # Explicit ids: the sequences start after them, for the next registration.
            for table in ("cases", "events", "units"):
                conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT max(id) FROM {table}))"
                    )
                )
        index.rebuild(conn)
        totals.rebuild(conn)  # the running totals, as a migration would count them
    if conn.dialect.name == "postgresql":
        with store.engine.connect() as raw:
            raw.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
    store.close()
    return counts


def import_sheet(path: Path, k: int, rows: int = 20) -> Path:
    """The k-th sheet for `bbc import` into a store this module built (its units, days
    before NOW): rows of its own for each k, never a repeat of another sheet's."""
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["姓名", "电话", "反映事项", "受理时间", "分类", "主办单位"])
        for i in range(rows):
            writer.writerow(
                [f"王{i}", f"138{k:03d}{i:05d}", f"第{k}-{i}件：不动产登记跑了三次还没办下来",
                 f"2026-11-2{i % 5} 10:{i:02d}", "应办未办", "不动产登记窗口"]
            )  # fmt: skip
    return path
