"""Beijing time, whatever the machine's zone (the clock itself, with BBC_NOW: clock.py)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

# China has had no daylight saving since 1991, so a fixed offset is exact for every
# date we accept (2000 on) and avoids depending on the system's tz database.
BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")


def to_beijing(moment: datetime) -> datetime:
    """An aware datetime in Beijing time; a naive one is taken as Beijing time already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=BEIJING)
    return moment.astimezone(BEIJING)


def human(iso: str | None) -> str:
    """'2026-11-30T17:30:00+08:00' as staff read it: '2026-11-30 17:30'."""
    return iso[:16].replace("T", " ") if iso else "—"
