"""Pass 1 of `verify`, the chain checked by the database itself, a range of `seq` at
a time: one query per range returns aggregates only, and the events are not read into
Python. Each event's hash is recomputed over the canonical text that
walk._Walker._clean hashes (walk._EVENT), its link to the event before checked, its
keyed MAC there and of its form (computed, HMAC-SHA256, only when the walk checks
every MAC: walk.py), no NULLs, the positions contiguous and unique, the ids
increasing. The conditions are those of _Walker._clean, so a range found clean is one
the Python walk would pass without a finding; a range that is not clean is walked
again by the Python walk (`fallback`), which names every finding exactly as before.

PostgreSQL: the server's sha256() over the canonical text made in SQL (reading every
event into Python cost more there than hashing it: psycopg's per-row work). An actor
with a control character other than the ones JSON spells short (\\b \\f \\n \\r
\\t) is never taken as clean there: the Python walk decides it.

SQLite, which has no SHA-256: a function registered on the connection (register,
walk.event_hash) makes each event's canonical text from its columns read as bytes,
exactly as _clean does, and hashes it; SQLite compares, joins and counts. Measured at 10^6 cases
(callgrind, per event walked): 40,500 instructions against 48,200 for the events read
into Python and checked there, whose rows, one tuple and ten values each, cost more
than the call.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from banbucheng.schema.chain import pads

# Events per query on PostgreSQL. Each query joins the cases for their numbers, which
# PostgreSQL does by hashing the whole table (about 0.7 s at 10^6 cases): ranges of
# 100,000 spent 33 s on it at 10^6 cases, a walk of 53 s in one process, against 26 s
# in ranges of 10^6.
RANGE = 1_000_000
# A range that is not clean is checked again in parts of PART, and only the parts that
# are not clean are walked in Python (which names the findings): a finding costs a walk
# of PART events, not of RANGE.
PART = 100_000
# SQLite finds each event's case and predecessor by index, whatever the range: a range
# costs no more set-up than a part, so both are smaller.
SQLITE_RANGE = 100_000
SQLITE_PART = 5_000
SERVER = True  # False: the Python walk alone (tests compare the two)
# An event checked by the server costs the process that waits for it about this share of
# an event walked in Python (integrity._Helper's split): one process's walk of the
# 448,638 events of the store of 10^5 cases took 2.7-3.6 s so, 5.4-6.8 s in Python.
WEIGHT = 0.6
# An event checked by SQLite costs this share of one read into Python and checked there
# (the instructions of the module docstring; its process does the work).
SQLITE_WEIGHT = 0.84

# ---------------------------------------------------------------------- PostgreSQL

# walk._EVENT as SQL: the time as _Sql.at's text with "T", the actor as JSON.
_CANONICAL = (
    "'[\"bbc-event-1\",' || e.seq::text || ',\"' || "
    "CASE WHEN e.case_id IS NULL THEN '' ELSE c.number END || '\",\"' || "
    "to_char(e.at, 'YYYY-MM-DD\"T\"HH24:MI:SS.US') || '\",' || to_json(e.actor)::text || "
    "',\"' || e.action || '\",\"' || "
    "replace(replace(e.detail, '\\', '\\\\'), '\"', '\\\"') || '\",\"' || e.prev_hash || '\"]'"
)
_MAC = (
    "e.mac = encode(sha256(%(opad)s::bytea || "
    "sha256(%(ipad)s::bytea || convert_to(e.hash, 'UTF8'))), 'hex')"
)


_FORMED = "char_length(e.mac) = 64"  # walk._macs_formed: the MAC there, of its form


def _holds(mac: bool, every: bool) -> str:
    """One event as _Walker._clean takes it (NULL counts as not); `every`: its MAC
    computed (walk._Walker.every_mac), else only its form checked."""
    return (
        # Its place: the first after the walk's end, linked to it; each later one
        # linked to the event just before it in the range, with a lower id.
        "CASE WHEN e.seq = %(lo)s "
        "THEN convert_to(e.prev_hash, 'UTF8') = %(prev)s::bytea AND e.id > %(prev_id)s "
        "ELSE p.hash = e.prev_hash AND p.id < e.id END "
        "AND octet_length(e.prev_hash) = 64 "
        # A year of four digits, as _clean wants its time (26 characters).
        "AND e.at BETWEEN '0001-01-01' AND '9999-12-31 23:59:59.999999' "
        # JSON spells these as \u00XX: left to the Python walk (chain._json_string).
        "AND e.actor !~ '[\\x01-\\x07\\x0b\\x0e-\\x1f]' "
        f"AND e.hash = encode(sha256(convert_to({_CANONICAL}, 'UTF8')), 'hex')"
        + (f" AND (e.seq < %(mac_from)s OR {_MAC if every else _FORMED})" if mac else "")
    )


# ---------------------------------------------------------------------- SQLite

# The values _Walker._clean hashes, as it reads them (walk._columns: bytes).
_FIELDS = (
    "e.seq, CASE WHEN e.case_id IS NULL THEN x'' ELSE CAST(c.number AS BLOB) END, "
    + ", ".join(f"CAST(e.{name} AS BLOB)" for name in ("at", "actor", "action", "detail"))
    + ", CAST(e.prev_hash AS BLOB)"
)
_FORMED_SQLITE = "(typeof(e.mac) = 'text' AND length(e.mac) = 64)"  # walk._macs_formed


def _holds_sqlite(mac: bool, every: bool) -> str:
    """One event as _Walker._clean takes it (NULL counts as not), on SQLite: its hash
    by bbc_event_hash (register), its MAC by bbc_event_mac when `every`."""
    return (
        "typeof(e.seq) = 'integer' AND "
        "CASE WHEN e.seq = :lo THEN CAST(e.prev_hash AS BLOB) = :prev AND e.id > :prev_id "
        "ELSE p.hash = e.prev_hash AND p.id < e.id END "
        f"AND e.hash = bbc_event_hash({_FIELDS})"
        + (
            " AND (e.seq < :mac_from OR "
            + ("e.mac = bbc_event_mac(e.hash)" if every else _FORMED_SQLITE)
            + ")"
            if mac
            else ""
        )
    )


def register(sql: Any, event_hash: Callable[..., str | None], mac: Any) -> None:
    """SQLite: the functions its query calls on this connection: `event_hash`, an
    event's hash from _FIELDS as _Walker._clean makes it (walk.event_hash), None for
    what _clean would not take; with the seal key (`mac`, a chain.EventMac), each
    event's MAC from its hash, as chain.event_mac."""
    conn = sql.dbapi
    conn.create_function("bbc_event_hash", 7, event_hash, deterministic=True)
    if mac is not None:

        def event_mac(hash_: Any) -> str | None:
            return mac(hash_.encode("ascii", "replace")) if type(hash_) is str else None

        conn.create_function("bbc_event_mac", 1, event_mac, deterministic=True)


# ---------------------------------------------------------------------- both


def _query(postgres: bool, mac: bool, every: bool, bounded: bool) -> str:
    """One range's aggregates: its count, first and last position, last id, how many
    events do not hold (_holds, _holds_sqlite) and the hash at the anchor's position."""
    holds = (_holds if postgres else _holds_sqlite)(mac, every)
    lo, hi, anchor = ("%(lo)s", "%(hi)s", "%(anchor)s") if postgres else (":lo", ":hi", ":anchor")
    return (
        "SELECT count(*), min(e.seq), max(e.seq), max(e.id), "
        f"sum(CASE WHEN {holds} THEN 0 ELSE 1 END), "
        f"max(CASE WHEN e.seq = {anchor} THEN e.hash END) "
        "FROM events e LEFT JOIN cases c ON c.id = e.case_id "
        f"LEFT JOIN events p ON p.seq = e.seq - 1 AND p.seq >= {lo}"
        + (f" AND p.seq < {hi}" if bounded else "")
        + f" WHERE e.seq >= {lo}"
        + (f" AND e.seq <= {hi}" if bounded else "")
    )


def _clean(sql: Any, walker: Any, lo: int, hi: int | None) -> bool:
    """The events from `lo` (to `hi`, if given) checked by the database; when clean
    the walker goes on after them, as _Walker._clean would, and True."""
    if walker.expected != lo:
        return False  # the walk ended elsewhere (events missing): _Walker._row names it
    mac = walker.mac_from is not None
    params: dict[str, Any] = {
        "lo": lo,
        "hi": hi,
        "prev": bytes(walker.prev),
        "prev_id": walker.prev_id,
        "anchor": walker.anchor_seq,
    }
    every = mac and walker.every_mac
    if mac:
        params["mac_from"] = walker.mac_from
    if every and sql.postgres:
        params["ipad"], params["opad"] = pads(walker.key)
    query = _query(sql.postgres, mac, every, hi is not None)
    n, first, last, last_id, bad, anchored = sql.one(query, params)
    if n == 0:
        return hi is None  # nothing after lo: nothing to walk
    if bad or first != lo or last - lo + 1 != n or (hi is not None and last != hi):
        return False
    row = sql.one(f"SELECT hash FROM events WHERE seq = {sql.mark}", (last,))
    if row is None or type(row[0]) is not str:
        return False
    if anchored is not None and lo <= walker.anchor_seq <= last:
        walker.anchored = anchored
    walker.walked += n
    walker.expected, walker.prev_id = last + 1, last_id
    walker.prev = row[0].encode("ascii", "replace")
    return True


def ranges(
    sql: Any, walker: Any, start: int, end: int | None, fallback: Callable[..., Iterator[None]]
) -> Iterator[None]:
    """The events after `start` (to `end`, if given), a range of RANGE at a time (on
    SQLite, after `register`, of SQLITE_RANGE); a range that is not clean checked again
    in parts of PART (SQLITE_PART), a part that is not clean walked by
    `fallback(after, to)` (the Python walk of the events after `after`, to `to` or the
    end). Yields after each range, part or batch."""
    top = end
    if top is None and sql.postgres:
        top = sql.one("SELECT max(seq) FROM events")[0]
    elif top is None:  # the last number (SQLite sorts text after numbers), by the index
        top = sql.one("SELECT seq FROM events WHERE seq < '' ORDER BY seq DESC LIMIT 1")
        top = top[0] if top else None
    if not isinstance(top, int) or top <= start:
        yield from fallback(start, end)  # nothing, or only odd positions: walked there
        return
    size, part = (RANGE, PART) if sql.postgres else (SQLITE_RANGE, SQLITE_PART)
    for lo, to in _split(start + 1, top, end, size):
        if _clean(sql, walker, lo, to):
            yield
            continue
        for part_lo, part_to in _split(lo, to if to is not None else top, to, part):
            if _clean(sql, walker, part_lo, part_to):
                yield
            else:
                yield from fallback(part_lo - 1, part_to)


def _split(lo: int, top: int, end: int | None, size: int) -> Iterator[tuple[int, int | None]]:
    """[lo, top] in ranges of `size` as (first, last); the last range open (None) when
    `end` is (as the Python walk's query is: an event added meanwhile is walked too)."""
    while lo <= top:
        hi = min(lo + size - 1, top)
        yield lo, (None if (hi == top and end is None) else hi)
        lo = hi + 1
