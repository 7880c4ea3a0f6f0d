"""The store-level state kept in the history: calendar entries, covered years and
policy settings, in the canonical form their events record.

Why events without a case: a calendar or policy change moves deadlines, so it belongs
in the tamper-evident history as much as an extension does. A store-level event is a
row of `events` whose case_id is NULL. It is sealed into the same chain as every case
event (chain.py; its digest takes an empty case number), so `verify` still walks one
sequence ordered by `seq`, and a store-level event deleted, inserted or edited breaks
the chain exactly as a case event would. A separate table would have needed a second
sequence merged into the first, and two places for one chain's rows.

Its detail is ``{"before": {...}, "after": {...}, "source": ..., "text": ...}``, where
before and after hold up to three sections, each mapping a key to the row's canonical
value, or null when there is (or was) no row:

- ``days``: ``"2027-02-06"`` -> ``{"workday": false, "name": "春节", "source": ...,
  "entered_by": ..., "entered_at": "2026-11-05T09:00:00.000000"}`` (calendar_days)
- ``years``: ``"2027"`` -> ``{"source": ..., "covered_by": ..., "covered_at": ...}``
  (calendar_years: the years whose notice the center declared complete)
- ``settings``: ``"limit.hard"`` -> ``"10"`` (settings: every row but the internal
  secrets, whose keys start with ``secret.``)
- ``units``: ``"省农保中心"`` -> ``{"id": 3, "contact": ..., "created_at": ...}`` (units;
  a unit is added by the dispatch that first names it, or by `bbc units add`)

Folding the ``after`` sections of the store-level events in chain order gives what the
three tables must hold; `stored_state` reads what they do hold, from the raw stored
values, so an edit behind the tool's back shows as a difference (trust/integrity.py).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import String, select, type_coerce

from banbucheng.core.policy import setting_keys
from banbucheng.core.timeutil import to_beijing
from banbucheng.schema.models import CalendarDay, CalendarYear, Setting, Unit

SECTIONS = ("days", "years", "settings", "units")
SECRET_PREFIX = "secret."  # internal values kept out of the history (citizens.py)
State = dict[str, dict[str, Any]]


def empty() -> State:
    return {section: {} for section in SECTIONS}


def time_text(value: Any) -> str:
    """A stored moment as canonical text (Beijing wall time, microseconds), however it
    was read back; anything that is not a moment is shown as what it is."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = to_beijing(value).replace(tzinfo=None)
        return value.isoformat(timespec="microseconds")
    return repr(value)


def _text(value: Any) -> Any:
    return value if isinstance(value, str) else repr(value)


def _flag(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    return repr(value)


def _key(value: Any) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)


def day_state(row: CalendarDay) -> dict[str, Any]:
    return {
        "workday": bool(row.workday),
        "name": row.name,
        "source": row.source,
        "entered_by": row.entered_by,
        "entered_at": time_text(row.entered_at),
    }


def year_state(row: CalendarYear) -> dict[str, Any]:
    return {
        "source": row.source,
        "covered_by": row.covered_by,
        "covered_at": time_text(row.covered_at),
    }


def unit_state(row: Unit) -> dict[str, Any]:
    return {"id": row.id, "contact": row.contact, "created_at": time_text(row.created_at)}


def stored_state(conn: Any, *, as_of_m004: bool = False) -> State:
    """What the tables hold, read as stored (no type conversion can hide an edit or
    fail on one). `conn` is a Connection or a Session. `as_of_m004`: what migration
    m004 recorded (no units, only the policy's settings), kept as it was released."""
    days, years = CalendarDay.__table__, CalendarYear.__table__  # type: ignore[attr-defined]
    settings = Setting.__table__  # type: ignore[attr-defined]

    def raw(table: Any) -> list[Any]:
        return list(conn.execute(select(*(type_coerce(c, String) for c in table.c))).all())

    state = empty()
    for day, workday, name, source, by, at in raw(days):
        state["days"][_key(day)] = {
            "workday": _flag(workday),
            "name": _text(name),
            "source": _text(source),
            "entered_by": _text(by),
            "entered_at": time_text(at),
        }
    for year, source, by, at in raw(years):
        state["years"][_key(year)] = {
            "source": _text(source),
            "covered_by": _text(by),
            "covered_at": time_text(at),
        }
    policy = set(setting_keys())
    for key, value in raw(settings):
        if key in policy if as_of_m004 else not str(key).startswith(SECRET_PREFIX):
            state["settings"][_key(key)] = _text(value)
    if as_of_m004:
        del state["units"]
        return state
    units = Unit.__table__  # type: ignore[attr-defined]
    for unit_id, name, contact, at in raw(units):
        state["units"][_key(name)] = {
            "id": _number(unit_id),
            "contact": _text(contact),
            "created_at": time_text(at),
        }
    return state


def _number(value: Any) -> Any:
    try:
        return int(value)
    except (TypeError, ValueError):
        return repr(value)


def fold(state: State, after: Any) -> None:
    """Apply one store-level event's `after` to the replayed state (in chain order)."""
    if not isinstance(after, dict):
        return
    for section in SECTIONS:
        changes = after.get(section)
        if not isinstance(changes, dict):
            continue
        for key, value in changes.items():
            if value is None:
                state[section].pop(key, None)
            else:
                state[section][key] = value


def differences(expected: State, stored: State) -> list[tuple[str, str, Any, Any]]:
    """(section, key, recorded value, stored value) for every row that differs."""
    out = []
    for section in SECTIONS:
        want, have = expected[section], stored[section]
        for key in sorted(set(want) | set(have)):
            if want.get(key) != have.get(key):
                out.append((section, key, want.get(key), have.get(key)))
    return out
