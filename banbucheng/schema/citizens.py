"""Citizens as keyed hashes, and the repeats (重复反映) found through them.

The same citizen means the same phone number or ID number. They are compared as
keyed hashes (HMAC-SHA256 with the keyring's lookup key, kept outside the store:
core/keyring.py), so the index of citizens holds no personal data and a copy of the
store is useless for finding someone without the key. The name is hashed too, for
looking cases up by name (never for repeats: namesakes are not the same citizen).
A repeat is the same citizen about a similar matter (bigrams.resemblance at least
`repeat.min_similarity` percent) within `repeat.window_days`. Kept as cases are
registered (services/cases.py), and built for old stores by a migration.
"""

from __future__ import annotations

import hmac
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import column, table
from sqlmodel import Session, select

from banbucheng.core import bigrams
from banbucheng.core.keyring import Keyring
from banbucheng.core.policy import default_value
from banbucheng.schema import personal
from banbucheng.schema.index import Weights
from banbucheng.schema.models import CITIZEN_KEYS, SETTINGS, Case, CaseTerms

# The secret of releases before the keyring, kept in the store (m006 removes it).
SECRET_SETTING = "secret.citizen_key"

KEY_CHARS = 32  # hex characters kept of the HMAC (128 bits)


def _key(secret: bytes, message: bytes) -> str:
    # One-shot HMAC in C (hmac.new's object costs more than the hash of a short text).
    return hmac.digest(secret, message, "sha256").hex()[:KEY_CHARS]


def _phone_core(phone: str) -> str:
    """The number without a landline's extension (the household, not the desk)."""
    parts = phone.split("-")
    return "-".join(parts[:2]) if len(parts) > 2 else phone


def citizen_messages(phone: str | None, id_number: str | None) -> list[bytes]:
    """What the keys that identify a citizen for repeats are the keyed hashes of:
    phone and ID number (citizen_keys; verify computes them in bulk, trust/personal.py)."""
    out = []
    if phone:
        out.append(f"phone:{_phone_core(phone.strip())}".encode())
    if id_number:
        out.append(f"id:{id_number.strip().upper()}".encode())
    return out


def citizen_keys(secret: bytes, phone: str | None, id_number: str | None) -> list[str]:
    """The keys that identify a citizen for repeats: phone and ID number."""
    return [_key(secret, message) for message in citizen_messages(phone, id_number)]


def name_key(secret: bytes, name: str | None) -> list[str]:
    """The key a name is looked up by (not a citizen's identity: namesakes exist)."""
    if not name or not name.strip():
        return []
    message = f"name:{''.join(name.split())}".encode()
    return [_key(secret, message)]


def lookup_keys(
    keyring: Keyring,
    *,
    phone: str | None = None,
    id_number: str | None = None,
    name: str | None = None,
) -> list[str]:
    """The keyed hashes to look cases up by (search by phone, ID number or name)."""
    secret = keyring.lookup_key
    return citizen_keys(secret, phone, id_number) + name_key(secret, name)


def keys_of(keyring: Keyring | None, case: Case | Any) -> tuple[list[str], list[str]]:
    """A new case's keys, from its tokens (with the key): those that find its repeats
    (phone, ID number) and all it is recorded under (those and the name). One function
    for single and bulk writes (services/bulk.py)."""
    clear = personal.reveal(case, keyring)
    assert keyring is not None
    secret = keyring.lookup_key
    keys = citizen_keys(secret, clear["phone"], clear["id_number"])
    return keys, list(dict.fromkeys([*keys, *name_key(secret, clear["citizen"])]))


def record_keys(session: Session, case: Case, keyring: Keyring | None) -> list[str]:
    """Hash the new case's citizen (from its tokens, with the key); returns the keys
    that find its repeats."""
    keys, recorded = keys_of(keyring, case)
    assert case.id is not None
    if recorded:
        session.execute(CITIZEN_KEYS.insert(), [{"key": k, "case_id": case.id} for k in recorded])
    return keys


def _setting(session: Session | Any, key: str) -> int:
    table = SETTINGS
    value = session.execute(select(table.c.value).where(table.c.key == key)).scalar()
    return int(value if value is not None else default_value(key))


def window_days(session: Session | Any) -> int:
    return _setting(session, "repeat.window_days")


def min_similarity(session: Session | Any) -> float:
    return _setting(session, "repeat.min_similarity") / 100


def _main_terms(session: Session | Any, ids: Sequence[int]) -> dict[int, list[str]]:
    table = CaseTerms.__table__  # type: ignore[attr-defined]
    out: dict[int, list[str]] = {}
    for i in range(0, len(ids), 900):
        rows = session.execute(
            select(table.c.case_id, table.c.main).where(table.c.case_id.in_(ids[i : i + 900]))
        ).all()
        out.update({cid: bigrams.split(main) for cid, main in rows})
    return out


def find_repeat(session: Session, case: Case, keys: Sequence[str]) -> Any:
    """The latest earlier case of the same citizen, received within the window, whose
    matter resembles this one enough, as its id and number (what the register event
    and the case record: no whole case loaded); None when there is none."""
    if not keys:
        return None
    window = window_days(session)
    since = case.received_at - timedelta(days=window)
    cases, keyed = Case.__table__, CITIZEN_KEYS  # type: ignore[attr-defined]
    stmt = (
        select(cases.c.id, cases.c.received_at)
        .join(keyed, keyed.c.case_id == cases.c.id)
        .where(
            keyed.c.key.in_(list(keys)),
            cases.c.id != case.id,
            cases.c.received_at >= since,
            cases.c.received_at <= case.received_at,
        )
        .distinct()
    )
    earlier = earlier_cases(case, session.execute(stmt).all(), window)
    if not earlier:
        return None
    terms = _main_terms(session, [case.id, *(cid for _, cid in earlier)])  # type: ignore[list-item]
    mine = terms.get(case.id, [])  # type: ignore[arg-type]
    weights = Weights(session)
    weights.load([*mine, *(t for cid in terms for t in terms[cid])])
    found = pick_repeat(mine, earlier, terms, weights, min_similarity(session))
    if found is None:
        return None
    return session.execute(select(cases.c.id, cases.c.number).where(cases.c.id == found)).first()


def earlier_cases(
    case: Case | Any, found: Iterable[tuple[int, datetime]], window: int
) -> list[tuple[datetime, int]]:
    """Of (case id, received) sharing a key with `case`: the ones before it within the
    window, as (received, id)."""
    since = case.received_at - timedelta(days=window)
    mine = (case.received_at, case.id)
    return sorted(
        {(r, cid) for cid, r in found if cid != case.id and since <= r and (r, cid) < mine}
    )


def pick_repeat(
    mine: list[str],
    earlier: list[tuple[datetime, int]],
    terms: Mapping[int, list[str]],
    weights: Mapping[str, float],
    threshold: float,
) -> int | None:
    """The latest earlier case whose matter resembles this one enough."""
    for _, cid in sorted(earlier, reverse=True):
        if bigrams.resemblance(mine, terms.get(cid, []), weights) >= threshold:
            return cid
    return None


def backfill(conn: Any, secret: bytes) -> int:
    """Migration m003: hash the citizens of existing cases (still in their clear 0.1
    columns) and flag the repeats among them (run after the search index is built).
    Returns how many repeats were found. m006 rehashes them with the keyring's key."""
    from banbucheng.schema.models import BeijingDateTime

    legacy = table(
        "cases",
        column("id"),
        column("phone"),
        column("id_number"),
        column("received_at", BeijingDateTime),
    )
    rows = conn.execute(
        select(legacy.c.id, legacy.c.phone, legacy.c.id_number, legacy.c.received_at)
    ).all()
    return hash_and_flag(conn, rows, secret)


def hash_and_flag(conn: Any, rows: Sequence[Any], secret: bytes) -> int:
    """Hash the citizens of cases given as (id, phone, id_number, received_at) and
    flag the repeats among them (a migration, or a bulk load that knows the clear
    values: benchmarks). Returns how many repeats were found."""
    cases = Case.__table__  # type: ignore[attr-defined]
    keys_table = CITIZEN_KEYS
    if not rows:
        return 0
    by_key: dict[str, list[tuple[datetime, int]]] = defaultdict(list)
    key_rows = []
    received: dict[int, datetime] = {}
    for cid, phone, id_number, when in rows:
        received[cid] = when
        for key in dict.fromkeys(citizen_keys(secret, phone, id_number)):
            key_rows.append({"key": key, "case_id": cid})
            by_key[key].append((when, cid))
    for i in range(0, len(key_rows), 5000):
        conn.execute(keys_table.insert(), key_rows[i : i + 5000])
    window = timedelta(days=window_days(conn))
    threshold = min_similarity(conn)
    # Candidate pairs: only cases sharing a key, so this reads the few that can repeat.
    pairs: dict[int, set[int]] = defaultdict(set)
    for group in by_key.values():
        if len(group) < 2:
            continue
        group.sort()
        for i, (when, cid) in enumerate(group):
            for earlier_when, earlier in group[:i]:
                if when - earlier_when <= window:
                    pairs[cid].add(earlier)
    if not pairs:
        return 0
    involved = sorted(set(pairs) | {e for es in pairs.values() for e in es})
    terms = _main_terms(conn, involved)
    weights = Weights(conn)
    weights.load(t for ts in terms.values() for t in ts)
    found = 0
    for cid, earlier_ids in pairs.items():
        for earlier in sorted(earlier_ids, key=lambda e: (received[e], e), reverse=True):
            score = bigrams.resemblance(terms.get(cid, []), terms.get(earlier, []), weights)
            if score >= threshold:
                conn.execute(cases.update().where(cases.c.id == cid).values(repeat_of_id=earlier))
                found += 1
                break
    return found
