"""A citizen's name, phone and ID number: encrypted at rest, masked in the clear.

A case keeps each of the three as an AES-GCM token (`*_enc`, core/keyring.py), whose
associated data is the case number and the field, so a token copied to another case or
field does not open; and as its masked form (`*_mask`: 李*清, 137****1111), which is
all that lists, reports and exports show and which needs no key. The clear values
exist only in memory: when a case is registered (personal_columns) and when someone
asks to see them (reveal, which needs the key).

The store's identity lives here too: a random, non-secret `store_id` (table
store_info) that names the key file outside the store; `establish` makes both for a
new or migrated store.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import select

from banbucheng.core import keyring as keys
from banbucheng.core.keyring import KeyMissing, Keyring
from banbucheng.core.validate import mask_id_number, mask_name, mask_phone
from banbucheng.schema.models import Case, StoreInfo

# field -> (encrypted column, masked column, mask function)
FIELDS: dict[str, tuple[str, str, Any]] = {
    "citizen": ("citizen_enc", "citizen_mask", mask_name),
    "phone": ("phone_enc", "phone_mask", mask_phone),
    "id_number": ("id_enc", "id_mask", mask_id_number),
}
# Every column of `cases` this module owns (the event chain leaves them to it).
PERSONAL_COLUMNS = tuple(c for enc, mask, _ in FIELDS.values() for c in (enc, mask))

NEED_KEY = "没有这个数据库的密钥（bbc key status 查看），{what}"


def aad(number: str, field: str) -> str:
    """What binds a token to its place: the case number and the field."""
    return f"bbc-personal:{number}:{field}"


def require(keyring: Keyring | None, what: str) -> Keyring:
    if keyring is None:
        raise KeyMissing(NEED_KEY.format(what=what))
    return keyring


def personal_columns(
    number: str, name: str, phone: str, id_number: str | None, keyring: Keyring | None
) -> dict[str, str | None]:
    """The `cases` columns of a new case's personal data: tokens and masks. Without the
    key nothing can be encrypted, so nothing is registered."""
    ring = require(keyring, "无法加密个人信息，未登记")
    values = {"citizen": name, "phone": phone, "id_number": id_number}
    out: dict[str, str | None] = {}
    for field, (enc, mask, masker) in FIELDS.items():
        value = values[field]
        out[enc] = ring.encrypt(value, aad(number, field)) if value else None
        out[mask] = masker(value) if value else None
    return out


def masked(case: Any) -> dict[str, str]:
    """The masked forms, as the events and views name them (id_number only if given)."""
    out = {"citizen": case.citizen_mask or "", "phone": case.phone_mask or ""}
    if case.id_mask:
        out["id_number"] = case.id_mask
    return out


def reveal(case: Any, keyring: Keyring | None) -> dict[str, str | None]:
    """The clear values of a case (citizen, phone, id_number); needs the key, and fails
    in one line when a token was tampered with or moved."""
    ring = require(keyring, "无法显示未遮盖的个人信息")
    out: dict[str, str | None] = {}
    for field, (enc, _, _) in FIELDS.items():
        token = getattr(case, enc)
        out[field] = ring.decrypt(token, aad(case.number, field)) if token else None
    return out


def shown_fields(case: Any) -> list[str]:
    """Which personal fields a case has (for the reveal event)."""
    return [f for f, (enc, _, _) in FIELDS.items() if getattr(case, enc)]


# ---------------------------------------------------------------- the store's identity


def store_id(conn: Any) -> str | None:
    """The store's id (None until establish gave it one); the table exists."""
    table = StoreInfo.__table__  # type: ignore[attr-defined]
    return conn.execute(select(table.c.store_id).where(table.c.id == 1)).scalar()


def establish(conn: Any, *, make_key: bool = True) -> tuple[str, Keyring | None, Path | None]:
    """Give a store without an id its id and its key (inside the caller's transaction).

    The id is BBC_KEY's when that holds a key (a server's administrator may make the key
    first), else new. The key is the one found for that id, else (make_key) a new one
    written to the key folder; the path is returned then, so the user is told where it
    is. A new store makes its key with its first case instead (Store.require_keyring),
    so a command that only looks, or is refused, leaves no key behind."""
    table = StoreInfo.__table__  # type: ignore[attr-defined]
    table.create(conn, checkfirst=True)
    existing = store_id(conn)
    env = keys.from_env() if os.environ.get(keys.ENV_KEY, "").strip() else None
    sid = existing or (env.store_id if env is not None else keys.new_store_id())
    if existing is None:
        conn.execute(table.insert().values(id=1, store_id=sid))
    ring = keys.load(sid)
    created = None
    if ring is None and make_key:
        ring = keys.generate(sid)
        created = keys.write(ring, keys.key_path(sid))
    conn.info["bbc_key_created"] = created
    return sid, ring, created


def any_encrypted(conn: Any) -> bool:
    cases = Case.__table__  # type: ignore[attr-defined]
    stmt = select(cases.c.id).where(cases.c.citizen_enc != "").limit(1)
    return conn.execute(stmt).first() is not None


def key_counts(conn: Any) -> dict[str, int]:
    """How many cases have values encrypted under each key id."""
    cases = Case.__table__  # type: ignore[attr-defined]
    counts: dict[str, int] = {}
    rows = conn.execute(select(cases.c.citizen_enc, cases.c.phone_enc, cases.c.id_enc))
    for row in rows:
        for key_id in {Keyring.key_id_of(t) for t in row if t}:
            counts[key_id] = counts.get(key_id, 0) + 1
    return counts
