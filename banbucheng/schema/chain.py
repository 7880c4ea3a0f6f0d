"""The hash chain every event is sealed into as it is written.

Each event gets the next position `seq` in the store's single chain, the previous
event's hash, and a SHA-256 over a canonical serialisation of its content (case
number, empty for a store-level event; time, actor, action, detail) and that previous
hash; the anchors `chain_head` and `case_chain` (not for store-level events, which
belong to no case: history.py) move in the same transaction. The store seals every
new event before it is flushed (store.py), so no code path can write an unsealed
event; trust/integrity.py checks the chain.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections import deque
from collections.abc import Iterator, Sequence
from datetime import datetime
from itertools import repeat
from typing import Any

from sqlmodel import Session, select

from banbucheng.core.timeutil import to_beijing
from banbucheng.schema.models import Case, CaseChain, ChainHead, Event

FORMAT = "bbc-event-1"
GENESIS = "0" * 64
MAC_FORMAT = b"bbc-mac-1:"


# ---------------------------------------------------------------- hashing


def _at_text(at: datetime) -> str:
    """The stored wall time (Beijing, naive), the same however it is read back."""
    return to_beijing(at).replace(tzinfo=None).isoformat(timespec="microseconds")


def event_hash(
    *, seq: int, number: str, at: datetime, actor: str, action: str, detail: str, prev_hash: str
) -> str:
    return digest(seq, number, _at_text(at), actor, action, detail, prev_hash)


# json.dumps(..., ensure_ascii=False, separators=(",", ":")), its encoder made once.
_canonical = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def digest(*fields: Any) -> str:
    """SHA-256 over [FORMAT, seq, number, at, actor, action, detail, prev_hash] as
    compact JSON (UTF-8, no ASCII escaping): one serialisation, whatever the database."""
    canonical = _canonical([FORMAT, *fields])
    return hashlib.sha256(canonical.encode("utf-8", errors="surrogatepass")).hexdigest()


_CANONICAL = b'["' + FORMAT.encode() + b'",%d,"%b","%b",%b,"%b","%b","%b"]'
_NEEDS_ESCAPE = re.compile(rb'[\x00-\x1f"\\]').search


def _json_string(value: bytes) -> bytes:
    """JSON string of UTF-8 text as json.dumps(ensure_ascii=False) writes it."""
    if _NEEDS_ESCAPE(value) is None:
        return b'"' + value + b'"'
    text = value.decode("utf-8", "surrogatepass")
    return json.dumps(text, ensure_ascii=False).encode("utf-8", "surrogatepass")


def digest_bytes(
    seq: int, number: bytes, at: bytes, actor: bytes, action: bytes, detail: bytes, prev: bytes
) -> str:
    """`digest` over fields read as UTF-8 bytes (the time as canonical text): the
    same value for everything this tool writes, without decoding and re-encoding
    each event (integrity.py's walk). The case number, time, action and previous hash
    this tool writes need no JSON escaping, and a detail it writes is JSON text, in
    which only quotes and backslashes need it: so they are put in as they are. A
    value written behind the tool's back with a character that needs escaping then
    hashes differently from `digest`; it differs from what the tool wrote anyway."""
    escaped = detail.replace(b"\\", b"\\\\").replace(b'"', b'\\"')
    canonical = _CANONICAL % (seq, number, at, _json_string(actor), action, escaped, prev)
    return hashlib.sha256(canonical).hexdigest()


def event_mac(key: bytes, hash_: str | bytes) -> str:
    """The keyed seal of an event: HMAC-SHA256 over its hash, which covers its content
    and, through prev_hash, the whole chain before it."""
    raw = hash_ if isinstance(hash_, bytes) else hash_.encode("ascii", "replace")
    return hmac.new(key, MAC_FORMAT + raw, hashlib.sha256).hexdigest()


def pads(key: bytes, prefix: bytes = MAC_FORMAT) -> tuple[bytes, bytes]:
    """HMAC-SHA256's inner pad for `key` followed by `prefix` (what every message
    starts with), and its outer pad (RFC 2104): the states EventMac starts from, as
    bytes (PostgreSQL's walk passes them to the server: trust/walk_db.py)."""
    if len(key) > 64:
        key = hashlib.sha256(key).digest()
    key = key.ljust(64, b"\0")
    return bytes(b ^ 0x36 for b in key) + prefix, bytes(b ^ 0x5C for b in key)


_HASH = type(hashlib.sha256())
_digest, _copy, _update = _HASH.digest, _HASH.copy, _HASH.update


class EventMac:
    """event_mac for many events under one key, faster: HMAC-SHA256 (RFC 2104) from
    the key's inner and outer states computed once, so each event costs two hash
    copies instead of a keyed set-up (three times faster here than hmac.new or
    hmac.digest). Used where events are sealed or checked in bulk (import, verify).
    `prefix`: what every message starts with (b"" for a plain HMAC-SHA256 of the
    message, as verify uses it for the citizens' lookup keys: trust/personal.py)."""

    def __init__(self, key: bytes, prefix: bytes = MAC_FORMAT) -> None:
        inner, outer = pads(key, prefix)
        self.inner, self.outer = hashlib.sha256(inner), hashlib.sha256(outer)

    def __call__(self, raw: bytes) -> str:
        """event_mac(key, raw): `raw` is the event's hash as ASCII bytes."""
        inner = self.inner.copy()
        inner.update(raw)
        outer = self.outer.copy()
        outer.update(inner.digest())
        return outer.hexdigest()

    def many(self, raws: Sequence[bytes]) -> Iterator[bytes]:
        """The MACs of many hashes at once, as raw digests, in order: this class's
        steps, each one pass in C over them rather than a call per event (verify)."""
        inner = list(map(_copy, repeat(self.inner, len(raws))))
        deque(map(_update, inner, raws), 0)
        outer = list(map(_copy, repeat(self.outer, len(raws))))
        deque(map(_update, outer, map(_digest, inner)), 0)
        return map(_digest, outer)


def stored_at(value: Any) -> tuple[datetime | None, str]:
    """An event's time as stored (read without conversion, so an edited value cannot
    stop the check): the moment, if it is one, and its canonical text."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None, value
    if isinstance(value, datetime):
        return value, _at_text(value)
    return None, repr(value)


def _head(session: Session) -> ChainHead:
    """The chain's end, read (and row-locked) once per transaction and kept in the
    session, so events sealed one by one and in bulk continue the same chain."""
    head = session.info.get("bbc_chain_head")
    if head is None or head not in session:  # once per transaction (and after a rollback)
        stmt = select(ChainHead).where(ChainHead.id == 1).with_for_update()
        head = session.exec(stmt).first() or ChainHead(id=1, seq=0, hash=GENESIS)
        session.info["bbc_chain_head"] = head
    return head


def _link(
    seq: int, prev_hash: str, number: str, at: datetime, actor: str, action: str, detail: str
) -> tuple[int, str, str]:
    """The link after (seq, prev_hash): this event's (seq, prev_hash, hash)."""
    seq, prev_hash = seq + 1, prev_hash or GENESIS
    hash_ = event_hash(
        seq=seq, number=number, at=at, actor=actor, action=action, detail=detail,
        prev_hash=prev_hash,
    )  # fmt: skip
    return seq, prev_hash, hash_


def seal(session: Session, event: Event, case: Case | None, key: bytes | None = None) -> None:
    """Give a new event its place in the chain and move both anchors. Called inside the
    writing transaction, before the event is flushed (store.py's before_flush hook).
    A case's event records the digest of the case as it now stands (sealed.py); with a
    seal key the event also gets its keyed MAC."""
    number = case.number if case is not None else ""
    if case is not None:
        _record_state(session, event, case)
    head = _head(session)
    event.seq, event.prev_hash, event.hash = _link(
        head.seq, head.hash, number, event.at, event.actor, event.action, event.detail
    )
    event.mac = event_mac(key, event.hash) if key else None
    head.seq, head.hash = event.seq, event.hash
    session.add(head)
    if event.case_id is None:  # a store-level event (history.py): in the chain, no case
        return
    anchor = _anchor(session, event.case_id, number)
    anchor.events += 1
    anchor.last_seq, anchor.last_hash = event.seq, event.hash
    session.add(anchor)


def _anchor(session: Session, case_id: int, number: str) -> CaseChain:
    """The case's anchor, kept in the session once read or made: the identity map
    holds objects only weakly, so a case with several events in one transaction
    (register, then classify) would otherwise read its anchor again for each."""
    kept: dict[int, CaseChain] = session.info.setdefault("bbc_case_chain", {})
    anchor = kept.get(case_id)
    if anchor is None or anchor not in session:  # after a rollback, read it again
        anchor = session.get(CaseChain, case_id) or CaseChain(case_id=case_id, number=number)
        kept[case_id] = anchor
    return anchor


def count_anchor(
    anchors: dict[int, dict[str, Any]], case_id: int, number: str, seq: int, hash_: str
) -> None:
    """One more event of a case sealed: its anchor's count of events and its last one."""
    anchor = anchors.get(case_id)
    if anchor is None:
        anchor = anchors[case_id] = {"case_id": case_id, "number": number, "events": 0}
    anchor["events"] += 1
    anchor["last_seq"], anchor["last_hash"] = seq, hash_


def _record_state(session: Session, event: Event, case: Case) -> None:
    from banbucheng.schema.sealed import state_digest

    with session.no_autoflush:
        state = state_digest(session.connection(), case)
    detail = json.loads(event.detail)
    detail["state"] = state
    event.detail = json.dumps(detail, ensure_ascii=False, sort_keys=True)
