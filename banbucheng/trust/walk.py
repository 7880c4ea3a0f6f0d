"""Pass 1 of `verify` (trust/integrity.py): the event chain walked in order of `seq`,
a batch at a time. Usually the database checks it first, a range at a time
(walk_db.py), and only a range that is not clean is walked here.

Each event's hash is recomputed from its fields read as bytes (the bytes
chain.digest_bytes hashes), its link to the one before checked, gaps and duplicates
found. A batch is checked at once, one C-level pass per step (_Walker._clean); a batch
with anything unusual is walked again event by event (_Walker._row), which names each
finding.

The keyed MACs (with a seal key): each event's hash covers the one before it, so the
MAC of the last event walked, checked at the end (_head_sealed), authenticates every
event before it once the chain holds. A batch taken at once then needs only its MACs
present and of their form; an event walked on its own has its MAC checked. When the
last MAC does not hold (history rewritten and rehashed without the key, or another
key), the walk is done again checking every event's MAC (every_mac), which names them
from the first that does not hold, exactly as a walk that checked each would. What is
not reported so: a MAC edited on its own on an event the chain authenticates (the
record is as written; only the seal column differs). Measured at 10^5 cases: a MAC
for each event was 3 µs of the 14 an event walked took.
"""

from __future__ import annotations

import hashlib
import hmac
from binascii import hexlify
from collections.abc import Callable
from itertools import repeat
from operator import getitem, gt
from typing import Any

from banbucheng.schema.chain import (
    FORMAT,
    GENESIS,
    EventMac,
    _digest,
    _json_string,
    digest_bytes,
    event_mac,
    stored_at,
)
from banbucheng.trust import walk_db
from banbucheng.trust.findings import Problem, Report, _iso, _span


def as_text(value: Any) -> Any:
    """A value read as bytes, as text (undecodable bytes shown, not refused)."""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


CHUNK = 500  # events checked at once (_clean): in smaller steps than the batches
# fetched, whose columns then stay in the processor's cache (10% faster than 5,000)

# chain.digest_bytes's canonical form, with the time given as its two halves around "T".
_EVENT = b'["' + FORMAT.encode() + b'",%d,"%b","%bT%b",%b,"%b","%b","%b"]'


def _at(value: Any) -> bytes:
    """An event's time as the canonical text of its hash (chain._at_text)."""
    if isinstance(value, bytes) and len(value) == 26 and value[10] == 32:
        return value[:10] + b"T" + value[11:]
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return stored_at(value)[1].encode("utf-8", "surrogatepass")


class _Actors(dict):
    """An actor's JSON form (bytes), made once per distinct actor."""

    def __missing__(self, actor: bytes) -> bytes:
        shown = self[actor] = _json_string(actor)
        return shown


_HEAD, _TAIL = slice(0, 10), slice(11, None)  # an event's time around its "T"


def event_hash(actors: _Actors) -> Callable[..., str | None]:
    """_Walker._clean's hash of one event, for SQLite to call on each event of a range
    (walk_db.py): from the same values (walk_db._FIELDS, as bytes), the same canonical
    text; None for an event _clean would not take (a NULL, a time of another form),
    which the Python walk then decides."""
    sha256, event, actor_json = hashlib.sha256, _EVENT, actors.__getitem__

    def hashed(
        seq: Any, number: Any, at: Any, actor: Any, action: Any, detail: Any, prev: Any
    ) -> str | None:
        try:
            if len(at) != 26 or at[10] != 32:
                return None
            escaped = detail.replace(b"\\", b"\\\\").replace(b'"', b'\\"')
            head, tail, shown = at[_HEAD], at[_TAIL], actor_json(actor)
            text = event % (seq, number, head, tail, shown, action, escaped, prev)
        except Exception:  # a value of another type: not clean, whatever it is
            return None
        return sha256(text).hexdigest()

    return hashed


def _macs_hold(mac: EventMac, hashes: tuple[bytes, ...], macs: tuple[Any, ...]) -> bool:
    """Every event's MAC is the HMAC of its hash (as ASCII bytes, EventMac.many); the
    MACs compared joined, each checked to be text of 64 characters first."""
    try:
        if set(map(len, macs)) != {64}:
            return False
        joined = "".join(macs)
    except TypeError:  # a MAC that is not text (NULL, a number, bytes)
        return False
    return hexlify(b"".join(mac.many(hashes))).decode() == joined


def _macs_formed(macs: tuple[Any, ...]) -> bool:
    """Every event's MAC there and of its form (text of 64 characters): what a batch
    needs when only the last event's MAC is computed (_head_sealed)."""
    return set(map(type, macs)) == {str} and set(map(len, macs)) == {64}


class _Walker:
    """Pass 1's state between batches: where the chain should go on."""

    def __init__(
        self,
        report: Report,
        start: int,
        prev_hash: str,
        key: bytes | None,
        first_mac: int | None,
        anchor: tuple[int, str] | None,
        every_mac: bool = False,
    ) -> None:
        self.problems = report.problems
        self.every_mac = every_mac  # each clean batch's MACs computed (module docstring)
        self.expected, self.prev_id, self.anchored = start + 1, 0, None
        self.prev = prev_hash.encode("ascii", "replace")
        self.key = key
        self.mac_from = first_mac if (key and first_mac is not None) else None
        self.mac = EventMac(key) if key else None
        self.anchor_seq = anchor[0] if anchor else None
        self.actors = _Actors()
        self.walked = 0

    def batch(self, rows: list[Any], again: Any) -> None:
        """One batch of the fast query (_chain), CHUNK events at a time; `again(rows)`:
        the same events read with every column (_careful), for _row, when they are
        not clean."""
        for k in range(0, len(rows), CHUNK):
            part = rows[k : k + CHUNK]
            if not self._clean(part):
                for row in again(part):
                    self._row(row)

    def _clean(self, rows: list[Any]) -> bool:
        """The whole batch checked at once, each step one pass in C over its column
        (map, zip, comparisons of lists, joined text): True when every event is as
        the tool wrote it, its hash, link and MAC right; nothing is reported then.
        Else False, and the batch is read again with every column and walked event
        by event (_row), which names what is wrong. Hashes and links are compared
        joined, each checked to be 64 characters long first (so that joined equality
        is equality of each); a hash or MAC that is not text fails the join."""
        columns = zip(*rows, strict=True)
        ids, seqs, prevs, hashes, macs, ats, actors, actions, details, numbers = columns
        n, expected = len(rows), self.expected
        if not (
            seqs == tuple(range(expected, expected + n))
            and ids[0] > self.prev_id
            and all(map(gt, ids[1:], ids))
            and None not in numbers
            and None not in details
            and None not in actors
            and None not in actions
            and None not in ats
            and None not in prevs
            and set(map(type, ats)) == {bytes}
            and set(map(type, details)) == {bytes}
            and set(map(len, ats)) == {26}
            and set(map(getitem, ats, repeat(10))) == {32}
            and set(map(len, prevs)) == {64}
            and prevs[0] == self.prev
        ):
            return False
        escaped = map(
            bytes.replace,
            map(bytes.replace, details, repeat(b"\\"), repeat(b"\\\\")),
            repeat(b'"'),
            repeat(b'\\"'),
        )
        canonical = map(
            _EVENT.__mod__,
            zip(
                seqs,
                numbers,
                map(getitem, ats, repeat(_HEAD)),
                map(getitem, ats, repeat(_TAIL)),
                map(self.actors.__getitem__, actors),
                actions,
                escaped,
                prevs,
                strict=True,
            ),
        )
        computed = hexlify(b"".join(map(_digest, map(hashlib.sha256, canonical))))
        try:
            if set(map(len, hashes)) != {64} or computed.decode() != "".join(hashes):
                return False
        except TypeError:  # a hash that is not text (NULL, a number, bytes)
            return False
        # Each event's link: its prev_hash is the hash before it (the first's, the
        # hash the walk ended on); the hashes are the computed ones, as bytes.
        raw = (*prevs[1:], computed[-64:])
        if b"".join(raw[:-1]) != computed[:-64]:
            return False
        if self.mac_from is not None and self.mac is not None:
            first = max(0, self.mac_from - expected)
            if first < n and not (
                _macs_hold(self.mac, raw[first:], macs[first:])
                if self.every_mac
                else _macs_formed(macs[first:])
            ):
                return False
        if self.anchor_seq is not None and expected <= self.anchor_seq < expected + n:
            self.anchored = hashes[self.anchor_seq - expected]
        self.walked += n
        self.expected, self.prev_id, self.prev = expected + n, ids[-1], raw[-1]
        return True

    def problem(self, kind: str, message: str, row: Any, number: Any) -> None:
        self.problems.append(
            Problem(
                kind,
                message,
                case=as_text(number) or None,
                event=row[0],
                seq=row[2],
                action=as_text(row[8]),
                at=_iso(stored_at(as_text(row[6]).replace("T", " "))[0]),
            )
        )

    def _row(self, row: Any) -> None:
        """One event, every finding named."""
        self.walked += 1
        event_id, case_id, seq, prev_b, hash_, mac, at_b, actor, action, detail, number = row
        expected, prev, prev_id, problem = self.expected, self.prev, self.prev_id, self.problem
        if number is None and case_id is None:
            number = b""  # a store-level event (schema/history.py)
        if (
            seq == expected
            and prev_b == prev
            and event_id > prev_id
            and number is not None
            and type(detail) is bytes
            and type(at_b) is bytes
            and len(at_b) == 26
            and at_b[10] == 32
        ):  # the usual event, checked without detours
            if digest_bytes(seq, number, _at(at_b), actor, action, detail, prev_b) != hash_:
                problem("edited", "内容与校验值不符：事件被修改（或案件编号被改）", row, number)
        elif not isinstance(seq, int):
            problem("edited", "链上位置被改为无效的值：事件被修改", row, number)
            return
        else:
            _odd(problem, row, number, expected, prev, prev_id)
        if self.mac_from is not None and seq >= self.mac_from:
            if mac is None:
                problem(
                    "unsealed", "缺少密钥封印：封印被去除，或事件是绕过本工具写入的", row, number
                )
            elif not hmac.compare_digest(str(mac), event_mac(self.key, str(hash_))):  # type: ignore[arg-type]
                problem(
                    "mac", "密钥封印不符：事件或此前的历史被改写（或用了别的密钥）", row, number
                )
        if seq == self.anchor_seq:
            self.anchored = hash_ or ""
        if type(hash_) is not str:
            hash_ = repr(hash_)
        self.expected, self.prev_id, self.prev = seq + 1, event_id, hash_.encode("utf-8", "replace")


def _columns(sql: Any, careful: bool, mac: bool) -> str:
    """The walk's columns: the fast query's (_Walker._clean: no case_id, the MAC only
    when it is checked) or the careful one's (_Walker._row: every column)."""
    b = sql.blob
    number = f"CASE WHEN e.case_id IS NULL THEN {sql.empty} ELSE {b('c.number')} END"
    return (
        f"SELECT e.id, {'e.case_id, ' if careful else ''}e.seq, {b('e.prev_hash')}, e.hash, "
        f"{'e.mac' if mac or careful else 'NULL'}, {sql.at('e.at')}, {b('e.actor')}, "
        f"{b('e.action')}, {b('e.detail')}, {number} "
        "FROM events e LEFT JOIN cases c ON c.id = e.case_id "
    )


# The walk's order. The walk reads only the ranges the database did not pass
# (walk_db.py): a repeated seq's events come in order of id, so that a range read apart
# lists them as the whole chain read at once would.
_ORDER = "ORDER BY e.seq, e.id"


def _chain(sql: Any, start: int, end: int | None, mac: bool) -> Any:
    """The chain's events after `start` (to `end`, if given) in order of seq, in
    batches, with the fast query's columns."""
    m = sql.mark
    query = (
        _columns(sql, careful=False, mac=mac)
        + f"WHERE e.seq > {m}{f' AND e.seq <= {m}' if end is not None else ''} "
        + _ORDER
    )
    return sql.batches(query, (start,) if end is None else (start, end))


def _walk(sql: Any, walker: _Walker, start: int, end: int | None, again: Any) -> Any:
    """The walker taken over the events after `start` (to `end`, if given); yields
    after each step. The database checks them a range at a time (walk_db.py), a range
    that is not clean walked here."""
    mac = walker.mac_from is not None

    def here(after: int, to: int | None) -> Any:
        for rows in _chain(sql, after, to, mac):
            walker.batch(rows, again)
            yield

    if not walk_db.SERVER:
        return here(start, end)
    if not sql.postgres:
        walk_db.register(sql, event_hash(walker.actors), walker.mac)
    return walk_db.ranges(sql, walker, start, end, here)


def _careful(sql: Any) -> Any:
    """The events of a batch of the fast query read again with every column, in the
    same order: its range of seq, less any event of a neighbouring batch (a repeated
    seq at its edge)."""
    m = sql.mark
    query = _columns(sql, careful=True, mac=True) + f"WHERE e.seq >= {m} AND e.seq <= {m} " + _ORDER

    def again(rows: list[Any]) -> list[Any]:
        ids = {row[0] for row in rows}
        return [row for row in sql.all(query, (rows[0][1], rows[-1][1])) if row[0] in ids]

    return again


def walk_share(
    sql: Any, cut: int, key: bytes | None, first_mac: int | None, anchor: Any
) -> dict[str, Any]:
    """The helper process's share of pass 1 (integrity._Helper): the events after
    `cut`, walked from the stored hash and id of the event at `cut`. It counts
    (take_share) only if it found nothing and the walk of the rest ended just where
    it began; otherwise the events are walked again by the process that reports."""
    row = sql.one(f"SELECT id, hash FROM events WHERE seq = {sql.mark}", (cut,))
    if row is None or type(row[0]) is not int or type(row[1]) is not str:
        return {"ok": False}
    report = Report()
    walker = _Walker(report, cut, row[1], key, first_mac, anchor)
    walker.prev_id = row[0]
    began = (walker.expected, walker.prev, walker.prev_id)
    for _ in _walk(sql, walker, cut, None, _careful(sql)):
        if report.problems or report.problems.more:
            return {"ok": False}  # walked again by the other process, which names them
    return {
        "ok": True,
        "began": began,
        "ended": (walker.expected, walker.prev, walker.prev_id),
        "walked": walker.walked,
        "anchored": walker.anchored,
    }


def take_share(walker: _Walker, found: dict[str, Any] | None) -> bool:
    """The helper's walk (walk_share) taken as this walker's own, if it holds."""
    if not found or not found.get("ok"):
        return False
    if found["began"] != (walker.expected, walker.prev, walker.prev_id):
        return False
    walker.expected, walker.prev, walker.prev_id = found["ended"]
    walker.walked += found["walked"]
    if found["anchored"] is not None:
        walker.anchored = found["anchored"]
    return True


def walk(
    sql: Any,  # integrity._Sql: the few things the two databases spell differently
    report: Report,
    start: int,
    prev_hash: str,
    key: bytes | None,
    first_mac: int | None,
    anchor: tuple[int, str] | None,
    share: tuple[int, Any] | None = None,
) -> Any:
    """Pass 1 (module docstring): this process's part of the walk now; returns the
    function that finishes it (finish), which returns the hash at the anchor's
    position, if walked. `share`: (cut, the helper's walk of the events after it,
    when it is done): this process walks to `cut` only now, and when finishing takes
    the helper's walk of the rest, or walks the rest too if it does not hold. The
    work between the two (the anchors, this process's cases) so never waits for the
    helper's walk. When the last event's MAC does not hold (_head_sealed), the walk's
    findings are set aside and it is done again, every MAC checked, to name them."""
    found, more = len(report.problems), report.problems.more
    walker = _Walker(report, start, prev_hash, key, first_mac, anchor)
    cut = share[0] if share is not None else None
    again = _careful(sql)
    for _ in _walk(sql, walker, start, cut, again):
        pass

    def finish() -> str | None:
        nonlocal walker
        if share is not None and not take_share(walker, share[1]()):
            for _ in _walk(sql, walker, max(start, share[0]), None, again):
                pass
        if not _head_sealed(sql, walker):
            del report.problems[found:]
            report.problems.more = more
            walker = _Walker(report, start, prev_hash, key, first_mac, anchor, every_mac=True)
            for _ in _walk(sql, walker, start, None, again):
                pass
        return _finish(sql, report, walker)

    return finish


def _head_sealed(sql: Any, walker: _Walker) -> bool:
    """Whether the last event walked carries the MAC of the hash the walk ended on
    (True when no MAC is due, or every one was checked already): with the chain
    holding, that MAC authenticates every event before it (module docstring)."""
    if walker.mac_from is None or walker.every_mac or walker.key is None:
        return True
    last = walker.expected - 1
    if last < walker.mac_from:
        return True
    found = sql.all(f"SELECT hash, mac FROM events WHERE seq = {sql.mark}", (last,))
    if len(found) != 1:
        return False
    hash_, mac = found[0]
    return (
        type(hash_) is str
        and type(mac) is str
        and hash_.encode("ascii", "replace") == walker.prev
        and hmac.compare_digest(mac, event_mac(walker.key, hash_))
    )


def _finish(sql: Any, report: Report, walker: _Walker) -> str | None:
    """The walk's end: events without a place in the chain, and the chain head."""
    report.walked = walker.walked
    last_seq = walker.expected - 1
    report.head_seq, report.head_hash = last_seq, walker.prev.decode("utf-8", "replace")
    problems, problem, b = report.problems, walker.problem, sql.blob

    for row in sql.stream(
        f"SELECT e.id, e.case_id, e.seq, NULL, NULL, NULL, {sql.at('e.at')}, NULL, "
        f"{b('e.action')}, NULL, {b('c.number')} FROM events e "
        "LEFT JOIN cases c ON c.id = e.case_id WHERE e.seq IS NULL ORDER BY e.id"
    ):
        problem("inserted", "没有校验值：不是由本工具写入，是直接插入数据库的", row, row[10])

    head = sql.one("SELECT seq, hash FROM chain_head WHERE id = 1")
    head_seq, head_hash = (head[0], head[1]) if head else (0, GENESIS)
    if head_seq > last_seq:
        problems.append(
            Problem(
                "deleted", f"事件链末尾缺少{_span(last_seq + 1, head_seq)}事件：最后的事件被删除"
            )
        )
    elif head_seq < last_seq:
        problems.append(
            Problem(
                "inserted",
                f"链头记录为第 {head_seq} 条，而链上有 {last_seq} 条：末尾有事件是插入的",
            )
        )
    elif head_hash != report.head_hash:
        problems.append(Problem("edited", "链头与最后一条事件不符：最后一条事件被替换"))
    return walker.anchored


def _odd(problem: Any, row: Any, number: Any, expected: int, prev: bytes, prev_id: int) -> None:
    """An event off the usual path: out of place, relinked, orphaned, or with values
    of unusual form; each finding named."""
    event_id, case_id, seq, prev_b, hash_, _, at_b, actor, action, detail, _ = row
    if seq > expected:
        problem("deleted", f"此前缺少链上{_span(expected, seq - 1)}事件：被删除", row, number)
    elif seq < expected:
        problem("inserted", f"与前一事件重复使用第 {seq} 条的位置：是插入的", row, number)
    elif prev_b != prev:
        problem(
            "relinked", "与链上前一事件的链接不符：前一事件被替换，或此事件是插入的", row, number
        )
    if event_id <= prev_id:
        problem("reordered", "事件编号的顺序与链上顺序不符：编号被改动", row, number)
    if number is None:
        problem("orphaned", f"所属案件（内部编号 {case_id}）不存在：案件记录被删除", row, number)
        return
    fields = [v if isinstance(v, bytes) else str(v).encode() for v in (actor, action, detail)]
    if digest_bytes(seq, number, _at(at_b), *fields, prev_b or b"") != hash_:
        problem("edited", "内容与校验值不符：事件被修改（或案件编号被改）", row, number)
