"""Migration m007's data step: seal the state an older store kept outside its history.

Before m007 the history recorded only part of a case (its tracked fields, unit and
helpers), and units and settings outside the policy were not recorded at all. Each
case gets one `case_adopt` event carrying the fields that a replay of its events
does not give (with their values as found) and the digest of its row (sealed.py);
one store-level `store_seal` event records the units and the remaining settings.
From then on the whole record is checked. Cases are read in batches: a store of a
million cases upgrades in constant memory.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, insert, select, update

from banbucheng.schema import sealed
from banbucheng.schema.chain import GENESIS, event_hash, event_mac
from banbucheng.schema.models import Case, CaseChain, CaseHelper, ChainHead, Event, Unit

BATCH = 500
ADOPT_TEXT = "升级时封存案件记录：此前不在事件链中的字段按当时的样子记入"
SEAL_TEXT = "升级时封存单位名录与其余设置（此前不在事件链中）"


def seal_key_of(conn: Connection) -> bytes | None:
    """The store's seal key when its keyring is here (m006 made or found it): events a
    migration appends are sealed as every later event will be, so verify knows from
    the first of them on that every event carries a MAC. None before m006."""
    from sqlalchemy import inspect

    from banbucheng.core import keyring as keys
    from banbucheng.schema.personal import store_id

    if not inspect(conn).has_table("store_info"):
        return None
    sid = store_id(conn)
    try:
        ring = keys.load(sid) if sid else None
    except keys.KeyProblem:
        return None
    return ring.seal_key if ring is not None else None


class Chain:
    """The chain head, moved as the migration appends events."""

    def __init__(self, conn: Connection) -> None:
        heads = ChainHead.__table__  # type: ignore[attr-defined]
        head = conn.execute(select(heads.c.seq, heads.c.hash).where(heads.c.id == 1)).first()
        self.conn, self.exists = conn, head is not None
        self.seq, self.hash = (head.seq, head.hash or GENESIS) if head else (0, GENESIS)
        self.key = seal_key_of(conn)

    def event(self, case_id: int | None, number: str, at: Any, actor: str, action: str,
              detail: str) -> dict[str, Any]:  # fmt: skip
        seq = self.seq + 1
        digest = event_hash(
            seq=seq, number=number, at=at, actor=actor, action=action, detail=detail,
            prev_hash=self.hash,
        )  # fmt: skip
        row = {
            "case_id": case_id, "at": at, "actor": actor, "action": action, "detail": detail,
            "seq": seq, "prev_hash": self.hash, "hash": digest,
        }  # fmt: skip
        if self.key is not None:
            row["mac"] = event_mac(self.key, digest)
        self.seq, self.hash = seq, digest
        return row

    def save(self) -> None:
        heads = ChainHead.__table__  # type: ignore[attr-defined]
        if self.exists:
            self.conn.execute(
                update(heads).where(heads.c.id == 1).values(seq=self.seq, hash=self.hash)
            )
        elif self.seq:
            self.conn.execute(insert(heads).values(id=1, seq=self.seq, hash=self.hash))


def adopt_cases(conn: Connection, actor: str) -> int:
    from banbucheng.core.clock import now

    cases, events = Case.__table__, Event.__table__  # type: ignore[attr-defined]
    helpers, anchors = CaseHelper.__table__, CaseChain.__table__  # type: ignore[attr-defined]
    units = dict(conn.execute(select(Unit.id, Unit.name)).all())  # type: ignore[call-overload]
    columns = [cases.c[name] for name, _ in sealed.COLUMNS]
    chain, at, last_id, done = Chain(conn), now(), 0, 0
    while True:
        rows = conn.execute(
            select(cases.c.id, cases.c.number, cases.c.unit_id, cases.c.repeat_of_id, *columns)
            .where(cases.c.id > last_id)
            .order_by(cases.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            break
        ids = [r[0] for r in rows]
        last_id = ids[-1]
        history: dict[int, list[tuple[Any, Any, Any, Any]]] = {}
        stmt = (
            select(events.c.case_id, events.c.at, events.c.actor, events.c.action, events.c.detail)
            .where(events.c.case_id.in_(ids))
            .order_by(events.c.case_id, events.c.seq)
        )
        for case_id, *event in conn.execute(stmt):
            history.setdefault(case_id, []).append(tuple(event))  # type: ignore[arg-type]
        helper_names: dict[int, list[str]] = {}
        for case_id, unit_id in conn.execute(
            select(helpers.c.case_id, helpers.c.unit_id).where(helpers.c.case_id.in_(ids))
        ):
            helper_names.setdefault(case_id, []).append(units.get(unit_id, ""))
        repeats = [r[3] for r in rows if r[3] is not None]
        numbers = dict(
            conn.execute(select(cases.c.id, cases.c.number).where(cases.c.id.in_(repeats))).all()  # type: ignore[arg-type]
        )
        new_events, moved = [], []
        for case_id, number, unit_id, repeat_id, *values in rows:
            joined = (units.get(unit_id), helper_names.get(case_id, []), numbers.get(repeat_id))
            shown = sealed.shown_state(values, *joined)
            recorded = sealed.replay(history.get(case_id, []))
            after = {f: shown[f] for f in sealed.differences(recorded, shown)}
            detail = json.dumps(
                {
                    "before": {f: recorded[f] for f in after},
                    "after": after,
                    "state": sealed.digest(sealed.canonical(values, *joined)),
                    "text": ADOPT_TEXT,
                },
                ensure_ascii=False,
                sort_keys=True,
            )
            event = chain.event(case_id, number, at, actor, sealed.CASE_ADOPT, detail)
            new_events.append(event)
            moved.append((case_id, number, event["seq"], event["hash"]))
        conn.execute(insert(events), new_events)
        for case_id, number, seq, digest in moved:
            changed = conn.execute(
                update(anchors)
                .where(anchors.c.case_id == case_id)
                .values(events=anchors.c.events + 1, last_seq=seq, last_hash=digest)
            ).rowcount
            if not changed:
                conn.execute(
                    insert(anchors).values(
                        case_id=case_id, number=number, events=1, last_seq=seq, last_hash=digest
                    )
                )
        done += len(rows)
    chain.save()
    return done


def adopt_store(conn: Connection, actor: str) -> None:
    """The units and the settings the history does not hold yet, in one event."""
    from banbucheng.core.clock import now
    from banbucheng.core.policy import setting_keys
    from banbucheng.schema.history import stored_state

    state = stored_state(conn)
    policy = set(setting_keys())
    after = {
        "units": state["units"],
        "settings": {k: v for k, v in state["settings"].items() if k not in policy},
    }
    after = {k: v for k, v in after.items() if v}
    if not after:
        return
    detail = json.dumps(
        {"before": {}, "after": after, "source": "", "text": SEAL_TEXT},
        ensure_ascii=False,
        sort_keys=True,
    )
    chain = Chain(conn)
    conn.execute(
        insert(Event.__table__), [chain.event(None, "", now(), actor, "store_seal", detail)]
    )  # type: ignore[attr-defined]
    chain.save()
