"""The current time: Beijing time whatever the machine's zone, or BBC_NOW when it is
set (for cron, tests and back-filling), parsed like any time a user types."""

from __future__ import annotations

import os
from datetime import datetime

from banbucheng.core.timeutil import BEIJING
from banbucheng.core.validate import parse_datetime


def now() -> datetime:
    """The current Beijing time, or BBC_NOW when it is set (for cron, tests, back-filling)."""
    override = os.environ.get("BBC_NOW", "").strip()
    if override:
        return parse_datetime(override, field="BBC_NOW")
    return datetime.now(BEIJING)
