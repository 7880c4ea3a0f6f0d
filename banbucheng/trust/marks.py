"""Case numbers are never issued twice: the high-water marks a restore keeps.

A case number (BB20261123-002) is printed on work orders and given to the citizen, so
once issued it belongs to that case for good. Numbers come from per-day counters
(store.next_case_number). Restoring an older backup would bring its lower counters
back and the next registrations would get numbers that were already given to other
citizens. So restore, in its one write transaction, reads the live store's marks
before replacing anything and, after the backup's rows are in, raises every counter
to the highest number either store ever issued. The carried marks are recorded as a
store-level event in the chain ("restore"), so the record says why a day's numbering
continues after a gap.

A mark is the higher of the stored counter and the highest sequence found in the
case numbers themselves, so a counter row lost or lowered by hand cannot lower it.
"""

from __future__ import annotations

import json
import re
import sqlite3
from datetime import date, datetime
from typing import Any

from banbucheng.core.timeutil import to_beijing
from banbucheng.schema.chain import GENESIS, event_hash, event_mac

# The date and per-day sequence at the end of a case number: PREFIX + YYYYMMDD-NNN.
_NUMBER = re.compile(r"([0-9]{4})([0-9]{2})([0-9]{2})-([0-9]{1,9})$")


def high_water(con: sqlite3.Connection, schema: str = "main") -> dict[str, int]:
    """Per counter key ("case:2026-11-23"), the highest number the store issued."""
    marks: dict[str, int] = {}

    def raise_to(key: str, value: int) -> None:
        if value > marks.get(key, 0):
            marks[key] = value

    for key, value in con.execute(f"SELECT key, value FROM {schema}.counters"):
        if isinstance(key, str) and isinstance(value, int):
            raise_to(key, value)
    for (number,) in con.execute(f"SELECT number FROM {schema}.cases"):
        match = _NUMBER.search(number) if isinstance(number, str) else None
        if match is None:
            continue
        y, m, d, seq = (int(g) for g in match.groups())
        try:
            day = date(y, m, d)
        except ValueError:
            continue
        raise_to(f"case:{day.isoformat()}", seq)
    return marks


def carry(
    con: sqlite3.Connection,
    live: dict[str, int],
    *,
    actor: str,
    now: datetime,
    seal_key: bytes | None = None,
    backup: dict[str, Any],
    replaced: dict[str, Any],
) -> dict[str, int]:
    """After the backup's rows replaced the live ones (same transaction): raise the
    counters to the live marks and record the restore in the chain. Returns the
    counters that were raised (key -> new value)."""
    restored = high_water(con)
    raised = {k: v for k, v in sorted(live.items()) if v > restored.get(k, 0)}
    for key, value in raised.items():
        con.execute(
            "INSERT INTO counters (key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )
    # Counters the restored rows imply but whose row is missing or lower.
    for key, value in restored.items():
        con.execute(
            "INSERT INTO counters (key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = max(value, excluded.value)",
            (key, value),
        )
    text = (
        f"自备份恢复（备份锚点 {backup.get('anchor') or '—'}）；"
        f"{len(raised)} 天的案件编号接续恢复前已发出的最大编号"
        if raised
        else f"自备份恢复（备份锚点 {backup.get('anchor') or '—'}）"
    )
    detail = {
        "before": {"counters": {k: restored.get(k, 0) for k in raised}},
        "after": {"counters": raised},
        "backup": backup,
        "replaced": replaced,
        "text": text,
    }
    _append_store_event(
        con,
        actor=actor,
        now=now,
        action="restore",
        detail=json.dumps(detail, **_JSON),
        key=seal_key,
    )
    return raised


_JSON: dict[str, Any] = {"ensure_ascii": False, "sort_keys": True}


def _append_store_event(
    con: sqlite3.Connection,
    *,
    actor: str,
    now: datetime,
    action: str,
    detail: str,
    key: bytes | None,
) -> None:
    """A store-level event sealed into the chain exactly as store.py seals one
    (schema/chain.py), written with the restore's own connection and transaction."""
    head = con.execute("SELECT seq, hash FROM chain_head WHERE id = 1").fetchone()
    seq, prev = (head[0], head[1] or GENESIS) if head else (0, GENESIS)
    seq += 1
    at = to_beijing(now).replace(tzinfo=None)
    digest = event_hash(
        seq=seq, number="", at=at, actor=actor, action=action, detail=detail, prev_hash=prev
    )
    mac = event_mac(key, digest) if key is not None else None  # sealed as store.py seals
    con.execute(
        "INSERT INTO events (case_id, at, actor, action, detail, seq, prev_hash, hash, mac) "
        "VALUES (NULL, ?, ?, ?, ?, ?, ?, ?, ?)",
        (at.isoformat(sep=" ", timespec="microseconds"), actor, action, detail, seq, prev, digest,
         mac),
    )  # fmt: skip
    con.execute(
        "INSERT INTO chain_head (id, seq, hash) VALUES (1, ?, ?) "
        "ON CONFLICT(id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
        (seq, digest),
    )
