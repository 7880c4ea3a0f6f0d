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
import json
from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from banbucheng.core.timeutil import to_beijing
from banbucheng.schema.models import CaseChain, ChainHead, Event

FORMAT = "bbc-event-1"
GENESIS = "0" * 64


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


def seal(session: Session, event: Event, number: str) -> None:
    """Give a new event its place in the chain and move both anchors. Called inside the
    writing transaction, before the event is flushed (store.py's before_flush hook)."""
    head = _head(session)
    event.seq, event.prev_hash, event.hash = _link(
        head.seq, head.hash, number, event.at, event.actor, event.action, event.detail
    )
    head.seq, head.hash = event.seq, event.hash
    session.add(head)
    if event.case_id is None:  # a store-level event (history.py): in the chain, no case
        return
    anchor = session.get(CaseChain, event.case_id) or CaseChain(
        case_id=event.case_id, number=number
    )
    anchor.events += 1
    anchor.last_seq, anchor.last_hash = event.seq, event.hash
    session.add(anchor)


def seal_new_cases(
    session: Session, events: list[dict[str, Any]], numbers: dict[int, str]
) -> list[dict[str, Any]]:
    """Seal events written in bulk (domain/batch.py), in order, exactly as seal() would
    one by one: each event dict gets seq, prev_hash and hash, and the head moves.
    Returns the `case_chain` rows (anchors) of their cases, all new in this
    transaction (`numbers`: id → case number), for the caller to insert."""
    head = _head(session)
    seq, hash_ = head.seq, head.hash
    anchors: dict[int, dict[str, Any]] = {}
    for ev in events:
        case_id = ev["case_id"]
        number = numbers[case_id]
        seq, ev["prev_hash"], hash_ = _link(
            seq, hash_, number, ev["at"], ev["actor"], ev["action"], ev["detail"]
        )
        ev["seq"], ev["hash"] = seq, hash_
        anchor = anchors.get(case_id)
        if anchor is None:
            anchor = anchors[case_id] = {"case_id": case_id, "number": number, "events": 0}
        anchor["events"] += 1
        anchor["last_seq"], anchor["last_hash"] = seq, hash_
    head.seq, head.hash = seq, hash_
    session.add(head)
    return list(anchors.values())
