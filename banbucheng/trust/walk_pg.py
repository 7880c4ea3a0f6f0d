"""Pass 1 of `verify` on PostgreSQL: the chain checked by the server itself.

Reading every event into Python costs more than hashing it (psycopg's per-row work),
so on PostgreSQL each range of `seq` is checked by one query that returns aggregates
only: every event's hash recomputed with the server's sha256() over the canonical
text that walk._Walker._clean hashes (walk._EVENT), its link to the event before,
its keyed MAC there and of its form (computed, HMAC-SHA256 from the key's pads as
chain.EventMac, only when the walk checks every MAC: walk.py), no NULLs, the
positions contiguous and unique, the ids increasing. The conditions are those of
_Walker._clean, so a range found clean is one the Python walk would pass without a
finding; a range that is not clean is walked again by the Python walk (`fallback`),
which names every finding exactly as before. An actor with a control character
other than the ones JSON spells short (\\b \\f \\n \\r \\t) is never taken as clean
here: the Python walk decides it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from banbucheng.schema.chain import pads

# Events per query. Each query joins the cases for their numbers, which PostgreSQL does
# by hashing the whole table (about 0.7 s at 10^6 cases): ranges of 100,000 spent 33 s
# on it at 10^6 cases, a walk of 53 s in one process, against 26 s in ranges of 10^6.
RANGE = 1_000_000
# A range that is not clean is checked again in parts of PART, and only the parts that
# are not clean are walked in Python (which names the findings): a finding costs a walk
# of PART events, not of RANGE.
PART = 100_000
SERVER = True  # False: the Python walk on PostgreSQL too (tests compare the two)
# An event checked by the server costs the process that waits for it about this share of
# an event walked in Python (integrity._Helper's split): one process's walk of the
# 448,638 events of the store of 10^5 cases took 2.7-3.6 s so, 5.4-6.8 s in Python.
WEIGHT = 0.6

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


def _query(mac: bool, every: bool, bounded: bool) -> str:
    return (
        "SELECT count(*), min(e.seq), max(e.seq), max(e.id), "
        f"count(*) FILTER (WHERE ({_holds(mac, every)}) IS NOT TRUE), "
        "max(e.hash) FILTER (WHERE e.seq = %(anchor)s) "
        "FROM events e LEFT JOIN cases c ON c.id = e.case_id "
        "LEFT JOIN events p ON p.seq = e.seq - 1 AND p.seq >= %(lo)s"
        + (" AND p.seq < %(hi)s" if bounded else "")
        + " WHERE e.seq >= %(lo)s"
        + (" AND e.seq <= %(hi)s" if bounded else "")
    )


def _clean(sql: Any, walker: Any, lo: int, hi: int | None) -> bool:
    """The events from `lo` (to `hi`, if given) checked by the server; when clean the
    walker goes on after them, as _Walker._clean would, and True."""
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
    if every:
        params["ipad"], params["opad"] = pads(walker.key)
    query = _query(mac, every, hi is not None)
    n, first, last, last_id, bad, anchored = sql.one(query, params)
    if n == 0:
        return hi is None  # nothing after lo: nothing to walk
    if bad or first != lo or last - lo + 1 != n or (hi is not None and last != hi):
        return False
    row = sql.one("SELECT hash FROM events WHERE seq = %(last)s", {"last": last})
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
    """The events after `start` (to `end`, if given), a range of RANGE at a time; a
    range that is not clean checked again in parts of PART, a part that is not clean
    walked by `fallback(after, to)` (the Python walk of the events after `after`, to
    `to` or the end). Yields after each range, part or batch."""
    top = end
    if top is None:
        top = sql.one("SELECT max(seq) FROM events")[0]
    if not isinstance(top, int) or top <= start:
        yield from fallback(start, end)  # nothing, or only odd positions: walked there
        return
    for lo, to in _split(start + 1, top, end, RANGE):
        if _clean(sql, walker, lo, to):
            yield
            continue
        for part_lo, part_to in _split(lo, to if to is not None else top, to, PART):
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
