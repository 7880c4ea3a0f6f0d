"""Trust in the encrypted personal data: checking it (verify) and re-encrypting it
under a new key (bbc key rotate).

The three personal fields are not in the event chain: each is an AES-GCM token whose
associated data is its case number and field (schema/personal.py), so an edited
token, or one moved to another case or field, fails to open. `check_personal` opens
every token with the key and also compares the stored masks and the citizens' keyed
hashes with the clear values; without the key it can check nothing and says so.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import or_, select
from sqlmodel import Session

from banbucheng.core import keyring as keys
from banbucheng.core.keyring import DecryptFailed, Keyring
from banbucheng.schema import citizens, personal
from banbucheng.schema.models import Case, CitizenKey

BATCH = 500
_LABELS = {"citizen": "姓名", "phone": "电话", "id_number": "身份证号"}


def check_personal(session: Session | Any, keyring: Keyring | None) -> list[tuple[str, str]]:
    """Problems with the cases' personal data, as (case number, message naming the
    field, never a value); empty when all is well. Without the key none can be found."""
    if keyring is None:
        return []
    cases = Case.__table__  # type: ignore[attr-defined]
    found = citizens_by_case(session)
    columns = [cases.c.id, cases.c.number]
    for enc, mask, _ in personal.FIELDS.values():
        columns += [cases.c[enc], cases.c[mask]]
    problems: list[tuple[str, str]] = []
    for row in session.execute(select(*columns).order_by(cases.c.id)):
        cid, number, values = row[0], row[1], row[2:]
        clear: dict[str, str | None] = {}
        for i, (field, (_, _, masker)) in enumerate(personal.FIELDS.items()):
            token, mask = values[2 * i], values[2 * i + 1]
            label = _LABELS[field]
            if not token:
                clear[field] = None
                if field != "id_number" or mask:
                    problems.append((number, f"{label}缺少密文"))
                continue
            try:
                clear[field] = keyring.decrypt(token, personal.aad(number, field))
            except DecryptFailed:
                clear[field] = None
                why = "被改动、被换到别的案件或字段，或所用密钥不在密钥中"
                problems.append((number, f"{label}的密文无法解密（{why}）"))
                continue
            if mask != masker(clear[field]):
                problems.append((number, f"{label}的遮盖形式与密文不符：被直接修改"))
        # The keys repeats are found by (phone, ID number) must be the case's own.
        expected = citizens.lookup_keys(keyring, phone=clear["phone"], id_number=clear["id_number"])
        if clear["phone"] and not set(expected) <= found.get(cid, set()):
            problems.append((number, "查找用的键值与个人信息不符（重复反映的判断会出错）"))
    return problems


def citizens_by_case(session: Session | Any) -> dict[int, set[str]]:
    table = CitizenKey.__table__  # type: ignore[attr-defined]
    out: dict[int, set[str]] = {}
    for key, cid in session.execute(select(table.c.key, table.c.case_id)):
        out.setdefault(cid, set()).add(key)
    return out


def _stale(current: str) -> Any:
    """Cases with a token not under the current key."""
    cases = Case.__table__  # type: ignore[attr-defined]
    prefix = f"{current}:%"
    return or_(
        *(
            (cases.c[enc].is_not(None)) & (cases.c[enc] != "") & (cases.c[enc].not_like(prefix))
            for enc, _, _ in personal.FIELDS.values()
        )
    )


def stale_count(session: Session | Any, keyring: Keyring) -> int:
    from sqlalchemy import func

    cases = Case.__table__  # type: ignore[attr-defined]
    stmt = select(func.count()).select_from(cases).where(_stale(keyring.current))
    return int(session.execute(stmt).scalar() or 0)


def reencrypt_batch(session: Session | Any, keyring: Keyring, limit: int = BATCH) -> int:
    """Re-encrypt up to `limit` cases whose tokens are not under the current key;
    returns how many (0 when none is left). A token that does not open stops it."""
    cases = Case.__table__  # type: ignore[attr-defined]
    encs = [enc for enc, _, _ in personal.FIELDS.values()]
    rows = session.execute(
        select(cases.c.id, cases.c.number, *(cases.c[e] for e in encs))
        .where(_stale(keyring.current))
        .order_by(cases.c.id)
        .limit(limit)
    ).all()
    for row in rows:
        cid, number, tokens = row[0], row[1], row[2:]
        values = {}
        for field, enc, token in zip(personal.FIELDS, encs, tokens, strict=True):
            if token:
                clear = keyring.decrypt(token, personal.aad(number, field))
                values[enc] = keyring.encrypt(clear, personal.aad(number, field))
        session.execute(cases.update().where(cases.c.id == cid).values(**values))
    return len(rows)


def rotate(
    store: Any, keyring: Keyring, *, progress: Callable[[int], None] | None = None
) -> tuple[Keyring, int, bool]:
    """`bbc key rotate`: a new data key becomes current (written to the key file
    first, beside the old ones), every case is re-encrypted under it in batches of
    their own transactions, and in the last one, which holds the write lock, any
    straggler is re-encrypted and the old keys are retired from the key file.

    Resumable: a rotation that was interrupted (tokens under an older key while the
    key file already has a newer current key) is finished without another new key.
    Returns the keyring in use afterwards, how many cases were re-encrypted and
    whether this run made the new key."""
    if keyring.source == keys.ENV_KEY:
        raise keys.KeyUnusable(
            "密钥来自环境变量 BBC_KEY，无法在原处轮换：请把它存为密钥文件 "
            f"{keys.key_path(keyring.store_id)}（仅所有者可读写），取消 BBC_KEY 后再轮换，"
            "完成后把新的密钥文件内容设为 BBC_KEY"
        )
    path = keys.key_path(keyring.store_id)
    with store.session(write=False) as session:
        resuming = len(keyring.data_keys) > 1 and stale_count(session, keyring) > 0
    ring = keyring if resuming else keyring.with_new_data_key()
    if not resuming:
        keys.write(ring, path, overwrite=True)
    done = 0
    while True:
        with store.session(write=True) as session:
            n = reencrypt_batch(session, ring)
        done += n
        if progress is not None and n:
            progress(done)
        if n < BATCH:
            with store.session(write=True) as session:
                # Holding the write lock, after the last batch was committed: when
                # nothing is left under an old key (a window may have registered
                # meanwhile with the old one), the old keys can go.
                if stale_count(session, ring) == 0:
                    retired = ring.retire_except({ring.current})
                    keys.write(retired, path, overwrite=True)
                    return retired, done, not resuming
