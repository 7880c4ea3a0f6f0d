"""The shortcuts `bbc import` takes for speed give what the general functions give:
the batch's state digest (sealed.digest of sealed.canonical) and event detail text
(json.dumps, also for an event that changes nothing), its chain sealing (chain.seal's steps),
the plain-time and mobile-number paths of the row check (parse_moment,
normalize_phone). Inputs include the awkward ones that must take the general path."""

from __future__ import annotations

import json
import random
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import pytest

from banbucheng.core.errors import InvalidInput
from banbucheng.core.timeutil import BEIJING
from banbucheng.core.validate import normalize_phone, parse_moment
from banbucheng.domain import batch
from banbucheng.schema import chain, sealed
from banbucheng.trust import importer


def _seal_one_by_one(
    head: SimpleNamespace, events: list[dict], numbers: dict[int, str], key: bytes | None
) -> list[dict]:
    """The oracle: chain.seal's steps for each event in turn (its link by
    chain.event_hash from the values, its MAC, its case's anchor), the head moved."""
    seq, hash_ = head.seq, head.hash
    anchors: dict[int, dict] = {}
    for ev in events:
        case_id = ev["case_id"]
        number = numbers[case_id] if case_id is not None else ""
        seq, ev["prev_hash"], hash_ = chain._link(
            seq, hash_, number, ev["at"], ev["actor"], ev["action"], ev["detail"]
        )
        ev["seq"], ev["hash"] = seq, hash_
        ev["mac"] = chain.event_mac(key, hash_) if key else None
        if case_id is not None:
            chain.count_anchor(anchors, case_id, number, seq, hash_)
    head.seq, head.hash = seq, hash_
    return list(anchors.values())


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
def test_seal_events_is_sealing_one_by_one(key, head_hash):
    rng = random.Random(5)
    events, numbers = _events(rng, 400)
    expected = [dict(e) for e in events]
    head_a = SimpleNamespace(seq=7, hash=head_hash)
    head_b = SimpleNamespace(seq=7, hash=head_hash)
    anchors = _seal_one_by_one(head_a, expected, numbers, key)
    got = batch.seal_events(head_b, events, numbers, key)
    assert events == expected
    assert got == anchors
    assert (head_b.seq, head_b.hash) == (head_a.seq, head_a.hash)


def test_event_detail_text_is_json_dumps():
    """The batch's event detail is the text lifecycle._json (json.dumps) writes."""
    rng = random.Random(6)
    values = [None, True, False, 0, 7, 10**15, -1, "", "社保窗口", 'q"uote', "back\\slash",
              "ctl\x01\n", "\u2028", "😀", "2024-03-05T09:13:00+08:00"]  # fmt: skip
    keys = ["text", "after", "before", "state", "unit", "helpers", "Z", "a b", "中文", "é"]
    for _ in range(500):
        detail = {
            k: rng.choice(values)
            if rng.random() < 0.6
            else {rng.choice(keys): rng.choice(values) for _ in range(rng.randrange(4))}
            for k in rng.sample(keys, rng.randrange(1, 6))
        }
        if rng.random() < 0.2:
            detail["helpers"] = [rng.choice(values) for _ in range(rng.randrange(3))]
        assert batch._json(detail) == json.dumps(detail, ensure_ascii=False, sort_keys=True)


def test_unchanged_detail_text_is_json_dumps():
    """The detail of an event that changes nothing (import), written without the
    encoder, is json.dumps's text; other shapes take the encoder."""
    rng = random.Random(7)
    texts = ["", "自文件 登记表.csv（SHA-256 45e438de3db1） 第 6 行导入", 'q"uote', "back\\slash",
             "ctl\x01\n\x1f", "\u2028\u2029", "😀", "\ud800", "0123abcd" * 4]  # fmt: skip
    empties: list = [{}, {}, {}, {"k": 1}, [], None, ""]
    for _ in range(500):
        detail = {
            "before": rng.choice(empties),
            "after": rng.choice(empties),
            "state": rng.choice([*texts, None, 5]),
            "text": rng.choice([*texts, None, 1.5]),
        }
        if rng.random() < 0.2:
            detail[rng.choice(["extra", "text", "before"])] = rng.choice(texts)
        if rng.random() < 0.1:
            del detail[rng.choice(list(detail))]
        expected = json.dumps(detail, ensure_ascii=False, sort_keys=True)
        assert batch.detail_text(detail) == expected


def _sealed_values(rng: random.Random) -> list:
    """Values of the sealed columns as the lifecycle sets them, and awkward ones."""
    texts = [None, "", "社保窗口", 'q"uote', "back\\slash", "ctl\x01", "\u2028", "😀"]
    moments = [None, datetime(2024, 3, 5, 9, 13, tzinfo=BEIJING),
               datetime(2024, 3, 5, 9, 13, 0, 7, tzinfo=BEIJING),
               datetime(2024, 3, 5, 1, 13, tzinfo=UTC), datetime(2024, 3, 5, 9, 13),
               "2024-03-05 09:13:00.000000", "2024-03-05T09:13", 1, True]  # fmt: skip
    kinds = {
        "text": [*texts, 5, 1.5],
        "time": moments,
        "date": [None, date(2024, 3, 12), "2024-03-12", "x", datetime(2024, 3, 12), 0],
        "flag": [None, True, False, 0, 1, 1.0, 2, "1"],
        "int": [None, 0, 5, 10**12, True, 1.0, "7", -3],
    }
    return [rng.choice(kinds[kind]) for _, kind in sealed.COLUMNS]


def test_state_text_is_sealed_digest():
    """The batch's digest from JSON fragments, made afresh or only for the values that
    changed since the previous state, is sealed.digest of sealed.canonical."""
    rng = random.Random(3)
    texts = [None, "", "社保窗口", 'q"uote', "ctl\x01", "😀"]
    previous = None
    for _ in range(2000):
        values = tuple(_sealed_values(rng))
        if previous is not None and rng.random() < 0.7:  # a few values changed
            values = tuple(
                v if rng.random() < 0.8 else w for v, w in zip(previous[0], values, strict=True)
            )
        unit, repeat = rng.choice(texts), rng.choice(texts)
        helpers = tuple(rng.choice(texts) or "x" for _ in range(rng.randrange(3)))
        expected = sealed.digest(sealed.canonical(values, unit, helpers, repeat))
        parts = batch.fragments(values)
        assert batch.text_digest(batch.state_text(parts, unit, helpers, repeat)) == expected
        if previous is not None:
            again = batch.fragments(values, *previous)
            assert again == parts
        previous = (values, parts)


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
