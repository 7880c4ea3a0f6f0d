"""Trust in the encrypted personal data: checking it (verify) and re-encrypting it
under a new key (bbc key rotate).

The three personal fields are not in the event chain: each is an AES-GCM token whose
associated data is its case number and field (schema/personal.py), so an edited
token, or one moved to another case or field, fails to open. `bbc verify` opens every
token with the key (Checker, in its one pass over the cases: trust/rows.py) and also
compares the stored masks and the citizens' keyed hashes with the clear values;
without the key it can check nothing and says so.
"""

from __future__ import annotations

from binascii import a2b_base64
from collections.abc import Callable, Sequence
from collections.abc import Set as AbstractSet
from functools import partial
from itertools import compress, repeat
from operator import getitem, itemgetter, not_
from typing import Any

from sqlalchemy import or_, select
from sqlmodel import Session

from banbucheng.core import keyring as keys
from banbucheng.core.keyring import DecryptFailed, Keyring
from banbucheng.schema import citizens, personal
from banbucheng.schema.chain import EventMac
from banbucheng.schema.models import Case

BATCH = 500
_LABELS = {"citizen": "姓名", "phone": "电话", "id_number": "身份证号"}
_NONE: frozenset[str] = frozenset()
_strict_b64 = partial(a2b_base64, strict_mode=True)
_NONCE, _BODY = slice(None, 12), slice(12, None)  # a token's parts (Keyring.encrypt)
_KEY_BYTES = slice(None, citizens.KEY_CHARS // 2)  # a lookup key's share of its HMAC
_PHONE = b"phone:"  # citizens.citizen_messages's message for a plain phone number


def _plain(phones: list[Any]) -> bool:
    """Every phone one whose message is _PHONE and the number as it is (no spaces
    around it, no extension: citizens.citizen_messages), so all are made at once."""
    if not all(phones):
        return False
    return "-" not in "".join(phones) and list(map(str.strip, phones)) == phones


class Checker:
    """One case's personal data against its tokens: each token opens (AES-GCM, bound
    to the case number and the field), its mask is the clear value's, and the
    citizen's keyed hashes are among the case's. The AES-GCM objects are made once
    per data key, not once per token (Keyring.decrypt's cost, most of the check's)."""

    def __init__(self, keyring: Keyring) -> None:
        from cryptography.exceptions import InvalidTag
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        # What a token that does not open here raises (imported once: an import in
        # case() cost as much as the decryption).
        self.refused = (InvalidTag, ValueError)  # binascii.Error, UnicodeError too
        self.keyring = keyring
        self.aeads = {key_id: AESGCM(key) for key_id, key in keyring.data_keys.items()}
        self.decrypt = AESGCM.decrypt  # called by map with the AEAD as its first argument
        # (index of the token in a case's values, field, label, mask function); case()
        # is written for this order.
        self.fields = [
            (2 * i, field, _LABELS[field], masker)
            for i, (field, (_, _, masker)) in enumerate(personal.FIELDS.items())
        ]
        if [f[1] for f in self.fields] != ["citizen", "phone", "id_number"]:
            raise RuntimeError("personal.FIELDS changed: Checker.case needs its order")
        # The lookup key's HMAC states computed once (hmac.digest sets the key up for
        # each call, most of the cost of a case's check).
        self.lookup = EventMac(keyring.lookup_key, prefix=b"")

    def lookup_keys(self, phone: str | None, id_number: str | None) -> list[str]:
        """citizens.lookup_keys(keyring, phone=..., id_number=...), the same keys."""
        messages = citizens.citizen_messages(phone, id_number)
        return [self.lookup(message)[: citizens.KEY_CHARS] for message in messages]

    def many(
        self,
        rows: Sequence[Sequence[Any]],
        at: int,
        found: AbstractSet[tuple[int, str]],
        problems: list[tuple[str, str]],
    ) -> None:
        """`case` for a batch of rows (id, number, ..., and from `at` the values as
        `case` takes them), the findings the same and in the same order. The batch
        is checked at once, each step one pass in C over a column (map, compress,
        comparisons of lists) rather than Python per case: every token opens, every
        mask is its clear value's, every citizen's key is among the case's (`found`:
        (case id, key) pairs). Anything else (a token missing or of another form, a
        key not in the keyring, a finding) and the batch is checked case by case,
        which names what is wrong."""
        if not rows or self._clean(rows, at, found):
            return
        keys = self.by_case(found)
        for row in rows:
            self.case(row[1], row[at:], keys.get(row[0], _NONE), problems)

    @staticmethod
    def by_case(found: AbstractSet[tuple[int, str]]) -> dict[int, set[str]]:
        """(case id, key) pairs as each case's keys, as `case` takes them."""
        keys: dict[int, set[str]] = {}
        for case_id, key in found:
            keys.setdefault(case_id, set()).add(key)
        return keys

    def _clean(
        self, rows: Sequence[Sequence[Any]], at: int, found: AbstractSet[tuple[int, str]]
    ) -> bool:
        """True when every case of the batch is as `case` would pass it (many)."""
        numbers = list(map(itemgetter(1), rows))
        if set(map(type, numbers)) != {str}:
            return False
        clear: list[list[Any]] = []
        for i, field, _, masker in self.fields:
            tokens = list(map(itemgetter(at + i), rows))
            masks = list(map(itemgetter(at + i + 1), rows))
            present = list(map(bool, tokens))
            if not all(present):
                # Only an ID number may be absent, and then without a mask.
                if field != "id_number" or any(compress(masks, map(not_, present))):
                    return False
                tokens = list(compress(tokens, present))
                masks = list(compress(masks, present))
            values = self._open(tokens, compress(numbers, present), field)
            if values is None or list(map(masker, values)) != masks:
                return False
            if all(present):
                clear.append(values)
            else:
                shown = iter(values)
                clear.append([next(shown) if p else None for p in present])
        # The citizens' keys (case's lookup_keys): the messages of each case with a
        # phone, their HMACs at once, each (case id, key) among the stored pairs.
        ids, phones, id_numbers = list(map(itemgetter(0), rows)), clear[1], clear[2]
        if id_numbers == [None] * len(rows) and _plain(phones):
            owners, messages = ids, list(map(_PHONE.__add__, map(str.encode, phones)))
        else:
            owners, messages = [], []
            for case_id, phone, id_number in zip(ids, phones, id_numbers, strict=True):
                if phone:
                    for message in citizens.citizen_messages(phone, id_number):
                        owners.append(case_id)
                        messages.append(message)
        made = map(bytes.hex, map(getitem, self.lookup.many(messages), repeat(_KEY_BYTES)))
        return found.issuperset(zip(owners, made, strict=True))

    def _open(self, tokens: list[Any], numbers: Any, field: str) -> list[str] | None:
        """The tokens of one field opened at once, as `case` opens them; None if any
        does not open so (`case` then decides)."""
        if set(map(type, tokens)) - {str}:
            return None
        parts = list(map(str.partition, tokens, repeat(":")))
        try:
            aeads = list(map(self.aeads.__getitem__, map(itemgetter(0), parts)))
            raws = list(map(_strict_b64, map(itemgetter(2), parts)))
            bound = map(str.encode, map(personal.aad, numbers, repeat(field)))
            opened = map(
                self.decrypt,
                aeads,
                map(getitem, raws, repeat(_NONCE)),
                map(getitem, raws, repeat(_BODY)),
                bound,
            )
            return list(map(bytes.decode, opened))
        except (KeyError, *self.refused):
            return None

    def case(
        self,
        number: Any,
        values: Sequence[Any],
        found: AbstractSet[str],
        problems: list[tuple[str, str]],
    ) -> None:
        """values: (token, mask) of each field in personal.FIELDS order. The common
        case is written out (this runs once per case in verify, most of pass 3's
        time): each token opened with its AEAD made once, its associated data made
        from one prefix (personal.aad's text), the lookup keys from the precomputed
        HMAC states; a token that does not open so takes Keyring.decrypt, which
        decides."""
        clear: list[Any] = [None, None, None]
        prefix = personal.aad(number, "")  # personal.aad(number, field) is prefix + field
        aeads, refused = self.aeads, self.refused
        for i, field, label, masker in self.fields:
            token = values[i]
            if not token:
                if field != "id_number" or values[i + 1]:
                    problems.append((number, f"{label}缺少密文"))
                continue
            value = None
            if type(token) is str:
                key_id, _, body = token.partition(":")
                aead = aeads.get(key_id)
                if aead is not None:
                    try:
                        raw = a2b_base64(body, strict_mode=True)
                        bound = (prefix + field).encode()
                        value = aead.decrypt(raw[:12], raw[12:], bound).decode()
                    except refused:
                        pass
            if value is None:
                try:
                    if type(token) is not str:  # a number or bytes written behind our back
                        raise DecryptFailed(label)
                    value = self.keyring.decrypt(token, prefix + field)
                except DecryptFailed:
                    why = "被改动、被换到别的案件或字段，或所用密钥不在密钥中"
                    problems.append((number, f"{label}的密文无法解密（{why}）"))
                    continue
            clear[i >> 1] = value
            if values[i + 1] != masker(value):
                problems.append((number, f"{label}的遮盖形式与密文不符：被直接修改"))
        # The keys repeats are found by (phone, ID number) must be the case's own.
        phone = clear[1]
        if phone and not found.issuperset(self.lookup_keys(phone, clear[2])):
            problems.append((number, "查找用的键值与个人信息不符（重复反映的判断会出错）"))


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
