"""A case's sealed state: every field of the case row except the citizen's personal
data (name, phone, ID number: encrypted and authenticated on their own), plus its
lead unit, helper units and the earlier case it repeats, in one canonical form.

Each event of a case carries, in its detail, `state`: a digest of that canonical form
as the case stood right after the event (computed by the store as it seals the event,
chain.py); a case `bbc import` makes, written once in its final state, has it in its
last event only (domain/batch.py). The event's hash (and its keyed MAC, when a seal key
is configured) covers the digest, so the case row is sealed by its own last event:
`verify` compares the digest of each row with the one its last event recorded
(integrity.py), and a command about to act on a case does the same for that case
(lifecycle.get_case).

When the digests differ, `differences` names the fields: it replays the case's events
(`replay`) and compares each field with the row. The replay knows where each field
comes from: the tracked fields from every event's `after`; the registration's time,
clerk, matter and receipt from the register event; the dispatch time from the last
dispatch; the result and mechanism from the close; the clock restart from a reopen;
and whatever a `case_adopt` event (migration m007, sealing what older releases kept
outside the history) recorded.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable, Iterable
from datetime import date, datetime
from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]
from typing import Any

from banbucheng.core.labels import TRACKED, snap
from banbucheng.core.timeutil import to_beijing

FORMAT = "bbc-case-1"
DIGEST_CHARS = 32  # hex characters of the state digest kept in the event (128 bits)
CASE_ADOPT = "case_adopt"  # m007: the fields of a case the history did not yet carry

# The sealed columns of `cases`, in digest order, with their kind.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("status", "text"),
    ("matter", "text"),
    ("department", "text"),
    ("channel", "text"),
    ("received_at", "time"),
    ("registered_at", "time"),
    ("registered_by", "text"),
    ("category", "text"),
    ("subtype", "text"),
    ("dispatched_at", "time"),
    ("clock_start", "time"),
    ("limit_days", "int"),
    ("extension_days", "int"),
    ("due_fixed", "date"),
    ("due_date", "date"),
    ("due_at", "time"),
    ("provisional", "flag"),
    ("unit_due_at", "time"),
    ("escalated_at", "time"),
    ("referred_at", "time"),
    ("closed_at", "time"),
    ("outcome", "text"),
    ("result", "text"),
    ("mechanism", "text"),
    ("working_days_used", "int"),
    ("on_time", "flag"),
    ("closed_provisional", "flag"),
    ("satisfaction", "text"),
    ("visited_at", "time"),
    ("reopen_count", "int"),
)
# Joined in: the lead unit's name, the helper units' names, the repeated case's number.
JOINED = ("unit", "helpers", "repeat_of")
FIELDS = tuple(name for name, _ in COLUMNS) + JOINED
_KINDS = dict(COLUMNS)


# ---------------------------------------------------------------- canonical values


def _time(value: Any) -> Any:
    """Naive Beijing wall time with microseconds, the way SQLite stores it."""
    if value is None:
        return None
    if isinstance(value, str):
        if len(value) == 26 and value[10] == " ":
            return value  # as SQLite stores it: the common case, no parsing
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return "?" + value
    if isinstance(value, datetime):
        return to_beijing(value).replace(tzinfo=None).isoformat(" ", timespec="microseconds")
    return "?" + repr(value)


def _date(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, str):
        return value if len(value) == 10 else "?" + value
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.isoformat()
    return "?" + repr(value)


def _flag(value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    return "?" + repr(value)


def _int(value: Any) -> Any:
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    return "?" + repr(value)


def _text(value: Any) -> Any:
    if value is None or isinstance(value, str):
        return value
    return "?" + repr(value)


_CANON = {"time": _time, "date": _date, "flag": _flag, "int": _int, "text": _text}


_TIMES = tuple(i for i, (_, kind) in enumerate(COLUMNS) if kind == "time")
_DATES = tuple(i for i, (_, kind) in enumerate(COLUMNS) if kind == "date")
_FLAGS = tuple(i for i, (_, kind) in enumerate(COLUMNS) if kind == "flag")
_PLAIN = tuple((i, _CANON[kind]) for i, (_, kind) in enumerate(COLUMNS) if kind in ("int", "text"))


def canonical(values: Iterable[Any], unit: Any, helpers: Iterable[Any], repeat_of: Any) -> list:
    """The canonical list for the digest, from the columns' values in COLUMNS order
    (as read back from either database, or from the model) and the joined values.
    Values already in canonical form (as SQLite returns them) pass without a call."""
    out = list(values)
    if len(out) != len(COLUMNS):
        raise ValueError("sealed columns")
    for i in _TIMES:
        v = out[i]
        if v is not None and not (type(v) is str and len(v) == 26 and v[10] == " "):
            out[i] = _time(v)
    for i in _DATES:
        v = out[i]
        if v is not None and not (type(v) is str and len(v) == 10):
            out[i] = _date(v)
    for i in _FLAGS:
        v = out[i]
        if type(v) is not bool:
            out[i] = _flag(v)
    for i, convert in _PLAIN:
        v = out[i]
        if v is not None and type(v) is not str and type(v) is not int:
            out[i] = convert(v)
    out.append(_text(unit))
    out.append(sorted(_text(h) or "" for h in helpers))
    out.append(_text(repeat_of))
    return out


def _no_default(value: Any) -> Any:
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def json_text(*, separators: tuple[str, str], sort_keys: bool) -> Callable[[Any], str]:
    """json.dumps(value, ensure_ascii=False, separators=..., sort_keys=...) as a
    function: the same text, but json.dumps makes an encoder for every call; this one
    is made once (the C encoder json.dumps itself uses, when the interpreter has it).
    For the digests and event details written thousands of times by an import."""
    if c_make_encoder is None:
        return functools.partial(
            json.dumps, ensure_ascii=False, separators=separators, sort_keys=sort_keys
        )
    item, key = separators
    encode = c_make_encoder(
        None, _no_default, encode_basestring, None, key, item, sort_keys, False, True
    )
    return lambda value: "".join(encode(value, 0))


_compact_text = json_text(separators=(",", ":"), sort_keys=False)


def digest(state: list) -> str:
    text = _compact_text([FORMAT, *state])
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:DIGEST_CHARS]


def case_values(case: Any) -> list[Any]:
    return [getattr(case, name) for name, _ in COLUMNS]


def joined_of(conn: Any, case: Any) -> tuple[str | None, list[str], str | None]:
    """The lead unit's name, the helper units' names and the repeated case's number,
    read through `conn` (a Session or a Connection) without flushing."""
    from sqlalchemy import select

    from banbucheng.schema.models import CASE_HELPERS as helpers
    from banbucheng.schema.models import Case, Unit

    units = Unit.__table__  # type: ignore[attr-defined]
    cases = Case.__table__  # type: ignore[attr-defined]
    unit = None
    if case.unit_id is not None:
        unit = conn.execute(select(units.c.name).where(units.c.id == case.unit_id)).scalar()
    names = list(
        conn.execute(
            select(units.c.name)
            .join(helpers, helpers.c.unit_id == units.c.id)
            .where(helpers.c.case_id == case.id)
        ).scalars()
    )
    repeat = None
    if case.repeat_of_id is not None:
        repeat = conn.execute(
            select(cases.c.number).where(cases.c.id == case.repeat_of_id)
        ).scalar()
    return unit, names, repeat


def state_digest(conn: Any, case: Any) -> str:
    """The digest of the case as it stands (the model object, flushed)."""
    unit, helpers, repeat = joined_of(conn, case)
    return digest(canonical(case_values(case), unit, helpers, repeat))


def recorded_digest(detail: Any) -> str | None:
    """The state digest an event's detail recorded, if any."""
    if isinstance(detail, bytes):
        at = detail.find(b'"state": "')
        if at >= 0:
            value = detail[at + 10 : at + 10 + DIGEST_CHARS]
            if (
                len(value) == DIGEST_CHARS
                and detail[at + 10 + DIGEST_CHARS : at + 11 + DIGEST_CHARS] == b'"'
            ):
                return value.decode("ascii", "replace")
        detail = detail.decode("utf-8", "replace")
    try:
        value = json.loads(detail).get("state")
    except (ValueError, TypeError, AttributeError):
        return None
    return value if isinstance(value, str) else None


# ---------------------------------------------------------------- naming the fields


def shown_state(values: Iterable[Any], unit: Any, helpers: Iterable[Any], repeat_of: Any) -> dict:
    """A row's sealed fields in the form events record them (times to the second, with
    the offset), for comparison with `replay`."""
    out: dict[str, Any] = {}
    for (name, kind), value in zip(COLUMNS, values, strict=True):
        out[name] = _shown(kind, value)
    out["unit"] = unit
    out["helpers"] = sorted(h for h in helpers if isinstance(h, str))
    out["repeat_of"] = repeat_of
    return out


def _shown(kind: str, value: Any) -> Any:
    if value is None:
        return None
    try:
        if kind == "time":
            moment = datetime.fromisoformat(value) if isinstance(value, str) else value
            return snap(to_beijing(moment))
        if kind == "date":
            return (date.fromisoformat(value) if isinstance(value, str) else value).isoformat()
        if kind == "flag":
            return bool(value) if value in (0, 1) else value
    except (ValueError, TypeError, AttributeError):
        return value
    return value


def initial() -> dict[str, Any]:
    state: dict[str, Any] = dict.fromkeys(FIELDS)
    state.update(
        status="registered",
        extension_days=0,
        provisional=False,
        closed_provisional=False,
        reopen_count=0,
        helpers=[],
        department="",
    )
    return state


def replay(events: Iterable[tuple[Any, Any, Any, Any]]) -> dict[str, Any]:
    """The sealed fields as a case's events (at, actor, action, detail; in chain
    order) leave them, in the form `shown_state` gives."""
    state = initial()
    for at, actor, action, detail in events:
        try:
            data = json.loads(detail)
            after = data.get("after") or {}
            text = data.get("text", "")
        except (ValueError, TypeError, AttributeError):
            continue  # an edited detail is reported by its hash already
        if not isinstance(after, dict):
            continue
        fold(state, at, actor, action, after, text)
    return state


def fold(state: dict[str, Any], at: Any, actor: Any, action: Any, after: dict, text: Any) -> None:
    moment = _shown("time", at)
    if action == "register":
        state["registered_at"], state["registered_by"], state["matter"] = moment, actor, text
        state["received_at"] = after.get("received_at", moment)
        state["clock_start"] = state["received_at"]
        for key in ("channel", "department", "repeat_of"):
            state[key] = after.get(key, state[key])
    for key, value in after.items():
        if key in TRACKED or key in ("unit", "helpers"):
            state[key] = sorted(value) if key == "helpers" and isinstance(value, list) else value
    if action == "dispatch":
        state["dispatched_at"] = moment
    elif action in ("classify", "reopen"):
        state["due_fixed"] = None
    elif action == "extend" and "extension_days" not in after:
        state["due_fixed"] = state["due_date"]  # --to, or --days on a fixed date
    if action == "close":
        state["result"], state["mechanism"] = text, after.get("mechanism")
        state["closed_provisional"] = bool(state.get("provisional"))
    elif action == "reopen":
        state["clock_start"], state["result"], state["mechanism"] = moment, None, None
        state["closed_provisional"] = False
    elif action == CASE_ADOPT:
        for key, value in after.items():
            if key in state:
                state[key] = value


def differences(recorded: dict[str, Any], row: dict[str, Any]) -> list[str]:
    """The fields where the row differs from its replayed history, in FIELDS order."""
    return [name for name in FIELDS if recorded.get(name) != row.get(name)]


def case_events(conn: Any, case_id: int) -> list[tuple[Any, Any, Any, Any]]:
    """(at, actor, action, detail) of a case's events in chain order, by index."""
    from sqlalchemy import select

    from banbucheng.schema.models import Event

    events = Event.__table__  # type: ignore[attr-defined]
    stmt = (
        select(events.c.at, events.c.actor, events.c.action, events.c.detail)
        .where(events.c.case_id == case_id)
        .order_by(events.c.seq)
    )
    return [tuple(row) for row in conn.execute(stmt)]


def check_case(session: Any, case: Any) -> list[str]:
    """The fields in which a case (the model object) disagrees with its own events;
    empty when it agrees. Cheap when it does: the digest of the row against the one
    its last event recorded, one indexed look-up."""
    from sqlalchemy import select

    from banbucheng.schema.models import Event

    conn = session.connection()
    events = Event.__table__  # type: ignore[attr-defined]
    last = conn.execute(
        select(events.c.detail)
        .where(events.c.case_id == case.id)
        .order_by(events.c.seq.desc())
        .limit(1)
    ).scalar()
    if last is None:
        return ["record"]
    unit, helpers, repeat = joined_of(conn, case)
    values = case_values(case)
    if recorded_digest(last) == digest(canonical(values, unit, helpers, repeat)):
        return []
    recorded = replay(case_events(conn, case.id))
    return differences(recorded, shown_state(values, unit, helpers, repeat)) or ["record"]
