"""The shortcuts `bbc import` takes for speed give what the general functions give:
the batch's state digest (sealed.digest), its chain sealing (chain.seal_new_cases),
the plain-time and mobile-number paths of the row check (parse_moment,
normalize_phone). Inputs include the awkward ones that must take the general path."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from types import SimpleNamespace

import pytest

from banbucheng.core.errors import InvalidInput
from banbucheng.core.timeutil import BEIJING
from banbucheng.core.validate import normalize_phone, parse_moment
from banbucheng.domain import batch
from banbucheng.schema import chain, sealed
from banbucheng.trust import importer


class _Session:
    """What seal_new_cases needs of a session: the chain's head kept in `info`."""

    def __init__(self, head: SimpleNamespace) -> None:
        self.info = {"bbc_chain_head": head}

    def __contains__(self, obj: object) -> bool:
        return True

    def add(self, obj: object) -> None:
        pass


def _events(rng: random.Random, n: int) -> tuple[list[dict], dict[int, str]]:
    actors = ["窗口甲", 'a"b\\c', "tab\there", "换行\n", "\x00nul", "emoji😀"]
    details = ['{"after": {}, "text": "引号\\"与反斜杠\\\\"}', '{"a": 1}', "raw\x01ctl", ""]
    numbers = {1: "BB20240305-001", 2: 'X"1', 3: "BB20240305-002", 4: "控\x02"}
    events = []
    start = datetime(2024, 3, 5, 9, 0, tzinfo=BEIJING)
    for _ in range(n):
        case_id = rng.choice([None, 1, 2, 3, 4])
        at = start + timedelta(minutes=rng.randrange(10_000), microseconds=rng.randrange(3))
        if rng.random() < 0.2:
            at = at.astimezone(datetime.now().astimezone().tzinfo)  # another zone
        events.append(
            {
                "case_id": case_id,
                "at": at,
                "actor": rng.choice(actors),
                "action": rng.choice(["register", "close", 'a"ct', "unit"]),
                "detail": rng.choice(details)
                if case_id is None
                else batch._json({"text": rng.choice(actors), "after": {"k": rng.choice(details)}}),
            }
        )
    return events, numbers


@pytest.mark.parametrize("key", [None, b"k" * 32])
@pytest.mark.parametrize("head_hash", ["", "ab" * 32])
def test_seal_events_is_seal_new_cases(key, head_hash):
    rng = random.Random(5)
    events, numbers = _events(rng, 400)
    expected = [dict(e) for e in events]
    head_a = SimpleNamespace(seq=7, hash=head_hash)
    head_b = SimpleNamespace(seq=7, hash=head_hash)
    anchors = chain.seal_new_cases(_Session(head_a), expected, numbers, key)
    got = batch.seal_events(head_b, events, numbers, key)
    assert events == expected
    assert got == anchors
    assert (head_b.seq, head_b.hash) == (head_a.seq, head_a.hash)


def test_state_digest_is_sealed_digest():
    rng = random.Random(3)
    texts = [None, "", "社保窗口", 'q"uote', "back\\slash", "ctl\x01", "\u2028", "😀"]
    for _ in range(500):
        values = [rng.choice(texts) for _ in sealed.COLUMNS]
        values[11] = rng.choice([None, 0, 5, 10**12])
        values[16] = rng.choice([True, False, None])
        values[14] = rng.choice([None, date(2024, 3, 12)])
        state = sealed.canonical(values, rng.choice(texts), [rng.choice(texts) or "x"], None)
        assert batch.state_digest(state) == sealed.digest(state)


def _moments(rng: random.Random) -> list[str]:
    out = ["2024-03-05 09:13", "2024-02-30 09:13", "2024-03-05 24:00", "2024-03-05 23:59",
           "1999-12-31 23:59", "2100-01-01 00:00", "2099-12-31 23:59", "2000-01-01 00:00",
           " 2024-03-05 09:13", "2024-03-05 09:13 ", "2024-03-05T09:13", "２０２４-03-05 09:13",
           "2024-3-5 9:13", "2024-03-05 09:13:00", "2024-13-05 09:13",
           "2024-00-10 10:10"]  # fmt: skip
    for _ in range(300):
        y, m, d = rng.randrange(1995, 2105), rng.randrange(0, 14), rng.randrange(0, 33)
        out.append(f"{y:04d}-{m:02d}-{d:02d} {rng.randrange(0, 26):02d}:{rng.randrange(0, 62):02d}")
    return out


def test_plain_times_are_what_parse_moment_makes_of_them():
    for text in _moments(random.Random(9)):
        fast = importer._plain_moment(text)
        try:
            slow = parse_moment(text, field="受理时间")
        except InvalidInput:
            assert fast is None, text  # the general path says why
            continue
        if fast is not None:
            assert (fast, False) == slow, text
            assert fast.utcoffset() == slow[0].utcoffset()
        assert importer._when(text, "受理时间") == slow, text


def test_plain_mobiles_are_what_normalize_phone_makes_of_them():
    convert = dict(importer._fields())["phone"]
    now = datetime(2024, 12, 31, 18, 0, tzinfo=BEIJING)
    rng = random.Random(4)
    phones = ["13812345678", "12812345678", "1381234567", "138123456789", "+8613812345678",
              "138 1234 5678", "0571-87654321", "１３８１２３４５６７８",
              " 13812345678"]  # fmt: skip
    phones += [f"1{rng.randrange(10)}{rng.randrange(10**9):09d}" for _ in range(200)]
    for text in phones:
        try:
            slow = normalize_phone(text, field="电话")
        except InvalidInput as exc:
            with pytest.raises(InvalidInput) as caught:
                convert(text, now)
            assert caught.value.message == exc.message
            continue
        assert convert(text, now) == slow, text
