"""Store-level events: calendar and policy changes, recorded in the hash chain as
events without a case (schema/history.py describes their form), and read back for
`bbc calendar log` and `bbc config log`."""

from __future__ import annotations

import json
from typing import Any

from sqlmodel import Session, col, select

from banbucheng.core.labels import ACTION_LABELS
from banbucheng.domain.views import iso
from banbucheng.schema.models import Event
from banbucheng.store import Ctx


def record(
    ctx: Ctx,
    action: str,
    before: dict[str, dict[str, Any]],
    after: dict[str, dict[str, Any]],
    *,
    source: str = "",
    text: str = "",
) -> Event | None:
    """One store-level event (who and when from ctx); sealed by the store as it is
    flushed, or with a batch's events in their order (bbc import: domain/batch.py)."""
    detail = {
        "before": {k: v for k, v in before.items() if v},
        "after": {k: v for k, v in after.items() if v},
        "source": source,
        "text": text,
    }
    fields = {
        "at": ctx.now,
        "actor": ctx.actor,
        "action": action,
        "detail": json.dumps(detail, ensure_ascii=False, sort_keys=True),
    }
    if ctx.batch is not None:
        ctx.batch.store_event(**fields)
        return None
    event = Event(case_id=None, **fields)
    ctx.session.add(event)
    ctx.session.flush()
    return event


def log(session: Session, sections: tuple[str, ...]) -> list[dict[str, Any]]:
    """The store-level events touching `sections` (days, years, settings), oldest first."""
    stmt = select(Event).where(col(Event.case_id).is_(None)).order_by(col(Event.seq))
    out = []
    for event in session.exec(stmt).all():
        try:
            detail = json.loads(event.detail)
            before, after = detail.get("before") or {}, detail.get("after") or {}
        except (ValueError, TypeError, AttributeError):
            continue  # an edited detail: bbc verify reports it
        changes = []
        for section in sections:
            was, now = before.get(section) or {}, after.get(section) or {}
            for key in sorted(set(was) | set(now)):
                changes.append(
                    {"section": section, "key": key, "before": was.get(key), "after": now.get(key)}
                )
        if not changes:
            continue
        out.append(
            {
                "seq": event.seq,
                "at": iso(event.at),
                "actor": event.actor,
                "action": event.action,
                "action_label": ACTION_LABELS.get(event.action, event.action),
                "source": detail.get("source", ""),
                "text": detail.get("text", ""),
                "changes": changes,
            }
        )
    return out
