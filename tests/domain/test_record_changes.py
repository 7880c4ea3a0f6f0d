"""What an event records as changed: the lifecycle compares the tracked values as they
are and snaps only those that differ (lifecycle._record), which must give exactly
what comparing tracked_state's dicts before and after gives, for any values."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from banbucheng.core.labels import TRACKED, tracked_state
from banbucheng.core.timeutil import BEIJING
from banbucheng.domain import lifecycle
from banbucheng.domain.batch import CaseRow


class _Batch:
    def __init__(self) -> None:
        self.details: list[dict[str, Any]] = []

    def event(self, case: Any, *, at: Any, actor: str, action: str, detail: dict) -> None:
        self.details.append(detail)


def _reference(before: dict, case: Any, extra_before: dict, extra_after: dict) -> dict:
    """The detail as _record made it from two tracked_state dicts."""
    after = tracked_state(case)
    changed = [k for k in after if before.get(k) != after[k]]
    return {
        "before": {k: before.get(k) for k in changed} | extra_before,
        "after": {k: after[k] for k in changed} | extra_after,
        "text": "t",
    }


def _values() -> list[Any]:
    moment = datetime(2024, 3, 5, 17, 30, tzinfo=BEIJING)
    return [
        None,
        "",
        "closed",
        "dispatched",
        0,
        1,
        2,
        True,
        False,
        1.0,
        date(2024, 3, 5),
        moment,
        moment.astimezone(UTC),  # the same instant elsewhere: equal, snaps alike
        moment + timedelta(microseconds=7),  # unequal, snaps alike (to the second)
        moment + timedelta(seconds=1),
        datetime(2024, 3, 5),  # a date's midnight as a datetime: not equal to the date
    ]


def test_recorded_changes_are_tracked_state_differences() -> None:
    rng = random.Random(11)
    values = _values()
    batch = _Batch()
    ctx = SimpleNamespace(batch=batch, now=None, actor="窗口甲")
    for _ in range(3000):
        case = CaseRow(id=1, **{f: rng.choice(values) for f in TRACKED})
        state, raw = tracked_state(case), lifecycle._tracked(case)
        for field in rng.sample(TRACKED, rng.randrange(0, 6)):
            setattr(case, field, rng.choice(values))
        extra = ({"unit": "甲"}, {"unit": "乙"}) if rng.random() < 0.3 else ({}, {})
        expected = _reference(state, case, *extra)
        for before in (raw, state):
            lifecycle._record(
                ctx, case, "x", before, text="t", extra_before=extra[0], extra_after=extra[1]
            )
            assert batch.details.pop() == expected
        if not expected["before"] and not expected["after"]:
            lifecycle._record(ctx, case, "x", None, text="t")
            assert batch.details.pop() == expected
