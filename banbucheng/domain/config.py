"""Policy settings changed as one act: the row, a store-level event with the value
before and after (schema/history.py), and the live deadlines the change moves.

A case's time limit is fixed when it is classified (cases.limit_days), so changing
limit.* applies to cases classified afterwards. The closing time and the counting rule
for matters received on a non-working day are how every deadline is computed: changing
them recomputes every live deadline (domain/recompute.py), in the same transaction.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import true

from banbucheng.core.policy import default_value
from banbucheng.domain import changes as store_events
from banbucheng.domain.recompute import recompute
from banbucheng.schema.models import Setting
from banbucheng.store import Ctx, load_policy

RECOMPUTING = ("closing_time", "nonworking_receipt")


def set_value(ctx: Ctx, key: str, value: str) -> tuple[bool, list[dict[str, Any]]]:
    """Store an already validated value (policy.validate_setting). Returns whether
    anything changed and the deadlines recomputed."""
    row = ctx.session.get(Setting, key)
    if row is not None and row.value == value:
        return False, []
    old = row.value if row is not None else None
    effective = old if old is not None else default_value(key)
    row = row or Setting(key=key, value=value)
    row.value = value
    ctx.session.add(row)
    ctx.session.flush()
    store_events.record(
        ctx,
        "config_set",
        {"settings": {key: old}},
        {"settings": {key: value}},
        text=f"{key}：{effective} → {value}",
    )
    if key not in RECOMPUTING or effective == value:
        return True, []
    ctx.policy = load_policy(ctx.session)
    text = f"政策设置已修改（{key}：{effective} → {value}），期限重新计算"
    return True, recompute(ctx, true(), text=text)
