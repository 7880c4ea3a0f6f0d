"""`bbc verify`'s faster paths find exactly what the careful ones find: the chain
checked a batch at a time (and event by event when a batch is not clean), the cases
shared with a helper process, the MAC and the row digest computed their faster way
(trust/integrity.py, schema/sealed.py)."""

from __future__ import annotations

import hmac
import json
import sqlite3
from pathlib import Path

import pytest

from banbucheng.schema import sealed
from banbucheng.schema.chain import EventMac, event_mac
from banbucheng.trust import integrity, rows, walk

BROKEN = 5


def sql(db: Path, statement: str, *params: object) -> None:
    con = sqlite3.connect(db)
    try:
        con.execute(statement, params)
        con.commit()
    finally:
        con.close()


@pytest.fixture
def numbers(bbc, isolated: Path) -> list[str]:
    """Seven cases in several states, and a store-level event between them."""
    out = []
    for i in range(7):
        number = bbc(
            "register", "--name", f"群众{i}", "--phone", f"1390000{i:04d}",
            "--matter", f"第{i}件：营业执照变更办不下来", "--category", "应办未办",
            now=f"2021-04-0{1 + i % 5} 09:3{i}",
        ).stdout.strip()  # fmt: skip
        out.append(number)
        if i % 2:
            bbc("dispatch", number, "--unit", "市场监管局", now=f"2021-04-0{1 + i % 5} 10:00")
        if i == 3:
            bbc("config", "set", "limit.hard", "10", now="2021-04-05 11:00")
    bbc("close", out[1], "--result", "已办结", now="2021-04-08 11:00")
    bbc("visit", out[1], "--satisfaction", "满意", now="2021-04-09 10:00")
    assert bbc.json("verify", "--full")["ok"] is True
    return out


def _id(db: Path, number: str) -> int:
    con = sqlite3.connect(db)
    try:
        return con.execute("SELECT id FROM cases WHERE number = ?", (number,)).fetchone()[0]
    finally:
        con.close()


EDITS = [
    "UPDATE cases SET matter = '别的事项' WHERE id = {a}",
    "UPDATE cases SET limit_days = 15 WHERE id = {b}",
    "UPDATE cases SET provisional = 1 WHERE id = {b}",
    "UPDATE cases SET phone_mask = '139****9999' WHERE id = {a}",
    "UPDATE cases SET citizen_enc = (SELECT citizen_enc FROM cases WHERE id = {b}) WHERE id = {a}",
    "DELETE FROM citizen_keys WHERE case_id = {b}",
    "UPDATE events SET detail = replace(detail, '09:3', '08:3') WHERE case_id = {a}",
    "UPDATE events SET actor = '窗口乙' WHERE case_id = {b}",
    "UPDATE events SET mac = NULL WHERE case_id = {a}",
    "UPDATE events SET mac = 'x' WHERE case_id = {b}",
    "UPDATE events SET hash = '0' WHERE seq = 5",
    "DELETE FROM events WHERE seq = 4",
    "UPDATE events SET at = '2021-04-05T11:00:00' WHERE case_id = {a}",
    "UPDATE events SET detail = 7 WHERE seq = 6",
    "INSERT INTO case_helpers VALUES ({a}, 1)",
    # Rows whose JSON made in SQL (trust/rows.py) must not pass for the recorded one:
    # a flag's text that reads as JSON null, a BLOB json_array refuses (the rest of the
    # cases then read the careful way), a time in another form, a number as text.
    "UPDATE cases SET on_time = 'null' WHERE id = {a}",
    "UPDATE cases SET matter = CAST(matter AS BLOB) WHERE id = {a}",
    "UPDATE cases SET received_at = replace(received_at, ' ', 'T'), matter = '改' WHERE id = {b}",
    "UPDATE cases SET limit_days = '15' || '' WHERE id = {b}",
    "UPDATE cases SET status = 'closed' WHERE id = {b}",
    # BLOBs that SQLite 3.45 and later read as JSONB (x'00' is JSON null, where the
    # row has NULL): refused there as SQLite before 3.45 refuses every BLOB
    # (test_a_blob_that_reads_as_jsonb_is_refused).
    "UPDATE cases SET closed_at = x'00' WHERE id = {a}",
    "UPDATE cases SET on_time = x'00', escalated_at = x'00' WHERE id = {a}",
    "UPDATE units SET name = x'00' WHERE id = (SELECT unit_id FROM cases WHERE id = {b})",
]


def _report(bbc, *args: str) -> dict:
    out = bbc("verify", "--json", "--full", *args, code=BROKEN)
    return json.loads(out.stdout)


@pytest.mark.parametrize("edit", EDITS)
def test_the_fast_paths_find_what_the_careful_ones_find(
    bbc, isolated: Path, numbers: list[str], monkeypatch: pytest.MonkeyPatch, edit: str
) -> None:
    a, b = _id(isolated, numbers[2]), _id(isolated, numbers[5])
    sql(isolated, edit.format(a=a, b=b))
    monkeypatch.setattr(rows, "FAST", False)  # every row read by its columns
    plain = _report(bbc)
    assert plain["problems"]
    monkeypatch.setattr(rows, "FAST", True)
    assert _report(bbc) == plain
    # Every batch of the walk three events long: edits on and off batch edges, the
    # clean batches taken at once, the others event by event.
    monkeypatch.setattr(integrity, "BATCH", 3)
    assert _report(bbc) == plain
    # And each batch checked in steps of two events (walk.CHUNK), a step not clean
    # read again by its range.
    monkeypatch.setattr(integrity, "BATCH", 5)
    monkeypatch.setattr(walk, "CHUNK", 2)
    assert _report(bbc) == plain
    monkeypatch.setattr(integrity, "BATCH", 3)
    # And the cases shared with a helper process, whatever the size of the store.
    monkeypatch.setattr(integrity, "PARALLEL_FROM", 0)
    monkeypatch.setattr(integrity, "HELPER_START", 0)
    assert _report(bbc) == plain
    monkeypatch.setattr(integrity, "BATCH", 5000)
    assert _report(bbc) == plain
    # And the later part of the chain walked by the helper too (walk.walk_share).
    monkeypatch.setattr(integrity, "WALK_SHARE_FROM", 0)
    assert _report(bbc) == plain
    monkeypatch.setattr(integrity, "BATCH", 3)
    assert _report(bbc) == plain


def test_the_helper_is_used_and_a_changed_head_means_checking_again(
    bbc, isolated: Path, numbers: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The helper's findings count only if it saw the same chain head (no event was
    written in between); otherwise this process checks its share itself."""
    sql(isolated, "UPDATE cases SET matter = '改' WHERE id = ?", _id(isolated, numbers[0]))
    sql(isolated, "UPDATE cases SET matter = '改' WHERE id = ?", _id(isolated, numbers[6]))
    plain = _report(bbc)
    monkeypatch.setattr(integrity, "PARALLEL_FROM", 0)
    monkeypatch.setattr(integrity, "HELPER_START", 0)
    # Cases weighed so that on this small store the helper gets some, not all.
    monkeypatch.setattr(integrity, "CASE_WEIGHT", 4)
    monkeypatch.setattr(integrity, "CASE_WEIGHT_UNKEYED", 4)
    used: list[tuple[int, int]] = []
    result = integrity._Helper.result

    def seen(helper: integrity._Helper) -> dict | None:
        found = result(helper)
        assert found is not None and found["ok"]
        used.append((helper.low, helper.high))
        return found

    monkeypatch.setattr(integrity._Helper, "result", seen)
    assert _report(bbc) == plain
    assert used and used[0][0] == 1 <= used[0][1] < _id(isolated, numbers[6])  # a real share

    def moved(helper: integrity._Helper) -> dict | None:
        found = seen(helper)
        assert found is not None
        return {**found, "head": (0, "moved"), "state": [], "personal": []}

    monkeypatch.setattr(integrity._Helper, "result", moved)
    assert _report(bbc) == plain


def test_the_mac_from_precomputed_states_is_the_hmac() -> None:
    for key in (b"k" * 32, b"", b"x" * 64, b"y" * 65, bytes(range(40))):
        mac = EventMac(key)
        for hash_ in ("0" * 64, "9f2c01ab33d4e5f6" * 4, "é"):
            raw = hash_.encode("ascii", "replace")
            assert mac(raw) == event_mac(key, hash_)
            assert hmac.compare_digest(mac(raw), event_mac(key, raw))


def test_the_row_digest_is_json_dumps_of_the_canonical_form() -> None:
    import hashlib

    states = [
        ["closed", 'a"b\\c\n\x01\x7f\u2028', None, True, False, 0, 15, ["x", "李"], "?5.0"],
        [None] * 33,
        ["李海清" * 40, "", "\ud800"],
    ]
    for state in states:
        text = json.dumps([sealed.FORMAT, *state], ensure_ascii=False, separators=(",", ":"))
        wanted = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
        assert sealed.digest(state) == wanted[: sealed.DIGEST_CHARS]


def test_the_lookup_keys_from_precomputed_states_are_the_citizens_keys() -> None:
    """verify's Checker computes the citizens' keyed hashes from the lookup key's
    precomputed HMAC states; they are the keys citizens.lookup_keys makes."""
    from banbucheng.core import keyring as keys
    from banbucheng.schema import citizens
    from banbucheng.trust.personal import Checker

    ring = keys.generate("store-for-the-test")
    checker = Checker(ring)
    phones = ["13900001111", " 0571-87654321-808 ", "0571-87654321", "李", "1" * 200]
    ids = [None, "", "11010519491231002x", " 11010519491231002X ", "短"]
    for phone in phones:
        for id_number in ids:
            wanted = citizens.lookup_keys(ring, phone=phone, id_number=id_number)
            assert checker.lookup_keys(phone, id_number) == wanted


def test_the_helper_walks_the_later_events_and_a_walk_that_does_not_hold_is_done_again(
    bbc, isolated: Path, numbers: list[str], split_taken: list[bool], monkeypatch
) -> None:
    """The helper's walk of the later events (walk.walk_share) is taken only when it
    found nothing and begins where this process's walk ended; otherwise, or when the
    helper saw another chain head, this process walks them itself and names what is
    wrong, as one process would."""
    taken = split_taken
    clean = bbc.json("verify", "--full")
    assert clean["ok"] is True and clean["walked"] == clean["events"]
    assert taken == [True]

    walked = integrity._Helper.walked
    # Read, but as if the helper had seen another chain head (Helper.walked: None).
    monkeypatch.setattr(integrity._Helper, "walked", lambda helper: walked(helper) and None)
    taken.clear()
    assert bbc.json("verify", "--full") == clean
    assert taken == [False]
    monkeypatch.setattr(integrity._Helper, "walked", walked)

    # The last events edited: the helper finds it, this process walks them again.
    sql(isolated, "UPDATE events SET actor = '窗口乙' WHERE case_id = ?", _id(isolated, numbers[6]))
    taken.clear()
    broken = _report(bbc)
    assert taken == [False]
    monkeypatch.setattr(integrity, "PARALLEL_FROM", 10**9)
    assert _report(bbc) == broken


def _reference_check(ring, number: str, values: list, found: set[str]) -> list[tuple[str, str]]:
    """What Checker.case must find, from the general functions (Keyring.decrypt, the
    mask functions of core/validate.py, citizens.lookup_keys)."""
    from banbucheng.core.keyring import DecryptFailed
    from banbucheng.schema import citizens, personal

    labels = {"citizen": "姓名", "phone": "电话", "id_number": "身份证号"}
    out, clear = [], {}
    for i, (field, (_, _, masker)) in enumerate(personal.FIELDS.items()):
        token, mask = values[2 * i], values[2 * i + 1]
        clear[field] = None
        if not token:
            if field != "id_number" or mask:
                out.append((number, f"{labels[field]}缺少密文"))
            continue
        try:
            if not isinstance(token, str):  # written behind the tool's back: not a crash
                raise DecryptFailed(field)
            clear[field] = ring.decrypt(token, personal.aad(number, field))
        except DecryptFailed:
            why = "被改动、被换到别的案件或字段，或所用密钥不在密钥中"
            out.append((number, f"{labels[field]}的密文无法解密（{why}）"))
            continue
        if mask != masker(clear[field]):
            out.append((number, f"{labels[field]}的遮盖形式与密文不符：被直接修改"))
    if clear["phone"]:
        wanted = citizens.lookup_keys(ring, phone=clear["phone"], id_number=clear["id_number"])
        if not found.issuperset(wanted):
            out.append((number, "查找用的键值与个人信息不符（重复反映的判断会出错）"))
    return out


def test_the_personal_check_finds_what_the_general_functions_find() -> None:
    """Checker.case opens, masks and hashes the usual values its own faster way
    (trust/personal.py); for usual and unusual values, and each kind of damage, it
    finds exactly what Keyring.decrypt, the mask functions and lookup_keys find."""
    from banbucheng.core import keyring as keys
    from banbucheng.schema import citizens, personal
    from banbucheng.trust.personal import Checker

    ring = keys.generate("store-for-the-test")
    other = keys.generate("another-store")
    checker = Checker(ring)
    names = ["李海清", "霍某", "李", "欧阳海清", "John Smith", " 李海清 ", "\u212a李", "李A清",
             "㐀某", "李\u3000清", "Ünal", "", "李海清" * 30]  # fmt: skip
    phones = ["13712341111", "0571-87654321", "0571-87654321-808", "1371234111", "１3712341111",
              "1３712341111", " 13712341111", "1371234111x", "12345", "", "2371234111"]  # fmt: skip
    ids = [None, "11010519491231002X", "11010519491231002x", "1234567", "", " 110105 "]
    cases = 0
    for n, name in enumerate(names):
        for p, phone in enumerate(phones):
            id_number = ids[(n + p) % len(ids)]
            number = f"BB20260101-{n:02d}{p:02d}"
            cols = personal.personal_columns(number, name, phone, id_number, ring)
            values = [cols[c] for enc, mask, _ in personal.FIELDS.values() for c in (enc, mask)]
            found = set(citizens.lookup_keys(ring, phone=phone, id_number=id_number))
            damaged = [
                (values, found),
                (values, found - set(citizens.lookup_keys(ring, id_number=id_number))),
                (values, set()),
                ([values[0], "李*清x", *values[2:]], found),
                ([*values[:3], "137****0000", *values[4:]], found),
                ([*values[:5], "110105********0000"], found),
                ([values[2], *values[1:]], found),  # the phone's token as the name's
                ([None, values[1], *values[2:]], found),
                ([*values[:4], None, "x"], found),
                ([*values[:2], "nokey:" + str(values[2]).partition(":")[2], *values[3:]], found),
                ([*values[:2], str(values[2])[:-2] + "==", *values[3:]], found),
                ([other.encrypt("李海清", personal.aad(number, "citizen")), *values[1:]], found),
                ([7, *values[1:]], found),
                ([*values[:2], b"k1:abc", *values[3:]], found),
            ]
            for case_values, case_found in damaged:
                got: list[tuple[str, str]] = []
                checker.case(number, case_values, case_found, got)
                assert got == _reference_check(ring, number, case_values, case_found)
                cases += 1
    assert cases == len(names) * len(phones) * 14


def _jsonb_text(text: str) -> bytes:
    """`text` as SQLite's JSONB encodes a string (element type 10, TEXTRAW)."""
    raw = text.encode()
    n = len(raw)
    if n <= 11:
        return bytes([n << 4 | 10]) + raw
    if n <= 0xFF:
        return bytes([0xC0 | 10, n]) + raw
    return bytes([0xD0 | 10]) + n.to_bytes(2, "big") + raw


@pytest.mark.parametrize(
    ("column", "case"),
    [("closed_at", "a"), ("on_time", "a"), ("matter", "a"), ("unit", "b"), ("repeat", "a")],
)
def test_a_blob_that_reads_as_jsonb_is_refused(
    bbc, isolated: Path, numbers: list[str], column: str, case: str
) -> None:
    """SQLite 3.45 and later (here apsw's; Debian 12's is 3.40) read a BLOB that is
    valid JSONB as JSON: x'00' where the row has NULL, or a string's JSONB where it
    has the string, leaves the row's JSON as it was, and its digest would pass. With
    _Sql.jsonb the case query refuses any BLOB, as SQLite before 3.45 does, and the
    careful way decides (rows._fast), which reports it (the x'00' rows of EDITS)."""
    from types import SimpleNamespace

    import apsw  # the test extras' SQLite of 3.45 or later

    assert tuple(map(int, apsw.sqlite_lib_version().split(".")[:2])) >= (3, 45)
    ids = {"a": _id(isolated, numbers[2]), "b": _id(isolated, numbers[5])}
    con = sqlite3.connect(isolated)
    unit, matter = con.execute(
        "SELECT unit_id, matter FROM cases WHERE id = ?", (ids[case],)
    ).fetchone()
    named = con.execute("SELECT name FROM units WHERE id = ?", (unit,)).fetchone()
    unit_name = named[0] if named else ""
    con.close()
    if column == "repeat":  # a repeated case's number, read as JSON by json_quote
        sql(isolated, "UPDATE cases SET repeat_of_id = ? WHERE id = ?", ids["b"], ids["a"])
    edits = {
        "closed_at": ("UPDATE cases SET closed_at = ? WHERE id = ?", b"\x00", ids[case]),
        "on_time": ("UPDATE cases SET on_time = ? WHERE id = ?", b"\x00", ids[case]),
        "matter": ("UPDATE cases SET matter = ? WHERE id = ?", _jsonb_text(matter), ids[case]),
        "unit": ("UPDATE units SET name = ? WHERE id = ?", _jsonb_text(unit_name), unit),
        "repeat": ("UPDATE cases SET number = ? WHERE id = ?", _jsonb_text(numbers[5]), ids["b"]),
    }

    def states(jsonb: bool) -> dict[int, tuple[bytes, bytes]]:
        reading = SimpleNamespace(postgres=False, mark="?", jsonb=jsonb, blob=lambda c: c)
        query, params = rows._query(reading, False, True, False, None, None)
        con = apsw.Connection(str(isolated))
        try:
            return {row[0]: (row[3], row[4]) for row in con.execute(query, params)}
        finally:
            con.close()

    before = states(False)
    assert before == states(True)  # the guard changes nothing on the tool's rows
    sql(isolated, *edits[column])
    assert states(False) == before  # the edit is unseen without the guard
    with pytest.raises(apsw.SQLError, match="integer overflow"):
        states(True)


def test_a_binary_value_is_shown_as_such(bbc, isolated: Path, numbers: list[str]) -> None:
    """A value written as a BLOB behind the tool's back is named in Chinese with its
    length and first bytes, not as Python's b'...' text."""
    a = _id(isolated, numbers[2])
    sql(isolated, "UPDATE cases SET closed_at = x'00' WHERE id = ?", a)
    sql(isolated, "UPDATE cases SET matter = CAST(matter AS BLOB) WHERE id = ?", a)
    messages = [p["message"] for p in _report(bbc)["problems"]]
    closed = "「办结时间」为 二进制数据（1 字节：00），时间线记录为 空：案件记录被直接修改"
    assert closed in messages
    matter = "第2件：营业执照变更办不下来".encode()
    shown = f"二进制数据（{len(matter)} 字节：{matter[:8].hex(' ')} …）"
    assert any(m.startswith(f"「反映事项」为 {shown}，") for m in messages), messages


def _personal_rows(ring, cases: list[dict]) -> tuple[list[tuple], set[tuple[int, str]]]:
    """Rows as rows._fast reads them (id, number, four columns, then each field's token
    and mask) and the stored (case id, key) pairs, from cases described by `cases`."""
    from banbucheng.schema import citizens
    from banbucheng.schema.personal import FIELDS, aad

    rows, pairs = [], set()
    for i, case in enumerate(cases, start=1):
        number = case.get("number", f"BB20210401-{i:03d}")
        values: list = []
        for field, (_, _, masker) in FIELDS.items():
            clear = case.get(field)
            token = ring.encrypt(clear, aad(number, field)) if clear else None
            mask = masker(clear) if clear else None
            values += [case.get(f"{field}_token", token), case.get(f"{field}_mask", mask)]
        rows.append((i, number, None, None, None, None, *values))
        made = citizens.citizen_keys(ring.lookup_key, case.get("phone"), case.get("id_number"))
        kept = {True: len(made), "phone": 1, False: 0}[case.get("keys", True)]
        pairs.update((i, key) for key in made[:kept])
    return rows, pairs


def test_the_personal_data_of_a_batch_checked_at_once_is_checked_as_case_by_case() -> None:
    """Checker.many (a batch at once, trust/rows.py's fast way) gives what Checker.case
    gives row by row, in the same order, for batches clean and not: tokens missing,
    under another key, swapped or not text; masks edited; keys missing; phones of
    every shape (an extension or spaces make their messages the long way)."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from banbucheng.core import keyring as keys
    from banbucheng.trust.personal import Checker

    ring = keys.generate("store-for-the-test")
    other = keys.generate("another-store")
    checker = Checker(ring)
    forged = other.encrypt("张三", "bbc-personal:BB20210401-001:citizen")
    kinds = st.fixed_dictionaries(
        {
            "citizen": st.sampled_from(["李海清", "霍某", "欧阳海清", "John Smith", "王"]),
            "phone": st.sampled_from(
                ["13900001111", "0571-87654321-808", " 13900002222", "12345", None]
            ),
            "id_number": st.sampled_from([None, None, "11010519491231002x", "短号"]),
        },
        optional={
            "citizen_token": st.sampled_from([None, "", 7, b"x", forged, "k:!!", "nokey"]),
            "citizen_mask": st.sampled_from(["李*清", None, "*"]),
            "phone_mask": st.sampled_from(["139****9999", ""]),
            "id_number_mask": st.sampled_from(["110105********002x", "**"]),
            "keys": st.sampled_from([False, "phone"]),
            "number": st.sampled_from([b"BB20210401-001", "BB20210401-001"]),
        },
    )

    @settings(max_examples=200, deadline=None)
    @given(st.lists(kinds, min_size=1, max_size=6))
    def check(cases: list[dict]) -> None:
        rows, pairs = _personal_rows(ring, cases)
        by_case: dict[int, set[str]] = {}
        for case_id, key in pairs:
            by_case.setdefault(case_id, set()).add(key)
        wanted: list[tuple[str, str]] = []
        for row in rows:
            checker.case(row[1], row[6:], by_case.get(row[0], frozenset()), wanted)
        found: list[tuple[str, str]] = []
        checker.many(rows, 6, pairs, found)
        assert found == wanted

    check()
    # And a batch as the tool writes them passes at once (the fast way's own test).
    rows, pairs = _personal_rows(
        ring, [{"citizen": "李海清", "phone": f"139{i:08d}"} for i in range(50)]
    )
    assert checker._clean(rows, 6, pairs)
    rows, pairs = _personal_rows(ring, [{"citizen": "李海清", "phone": "13900001111"}] * 3)
    assert not checker._clean(rows, 6, pairs - {next(iter(pairs))})
    # An ID number's key missing, where every phone is plain.
    case = {"citizen": "李海清", "phone": "13900001111", "id_number": "11010519491231002x"}
    rows, pairs = _personal_rows(ring, [case, {**case, "keys": "phone"}])
    found = []
    checker.many(rows, 6, pairs, found)
    assert found == [("BB20210401-002", "查找用的键值与个人信息不符（重复反映的判断会出错）")]


def test_the_last_mac_stands_for_the_chain_and_a_resealed_history_is_named_from_its_start(
    bbc, isolated: Path, numbers: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each event's hash covers the one before it, so the last event's MAC, checked
    at the end, authenticates the chain (trust/walk.py): a MAC edited on its own on an
    earlier event is no finding. When the last MAC does not hold, every MAC is
    checked and each that does not hold is named, the earlier one too, exactly as a
    walk that computes every MAC from the start names them."""
    con = sqlite3.connect(isolated)
    try:
        events = con.execute("SELECT seq, hash FROM events ORDER BY seq").fetchall()
    finally:
        con.close()
    last = events[-1][0]
    sql(isolated, "UPDATE events SET mac = ? WHERE seq = 3", "0" * 64)
    assert bbc.json("verify", "--full")["ok"] is True
    # From the fifth event on, sealed with another key (a history rehashed by someone
    # without this store's key would be sealed so): named from there.
    for seq, hash_ in events[4:]:
        sql(isolated, "UPDATE events SET mac = ? WHERE seq = ?", event_mac(b"k" * 32, hash_), seq)
    report = _report(bbc)
    assert [(p["kind"], p["seq"]) for p in report["problems"]] == [
        ("mac", seq) for seq in [3, *range(5, last + 1)]
    ]
    with monkeypatch.context() as every:  # every MAC computed from the start
        every.setattr(walk, "_head_sealed", lambda sql, walker: False)
        assert _report(bbc) == report
    # Only the last event's MAC edited: named, and no other.
    key = _seal_key(isolated)
    for seq, hash_ in events[2:]:
        sql(isolated, "UPDATE events SET mac = ? WHERE seq = ?", event_mac(key, hash_), seq)
    sql(isolated, "UPDATE events SET mac = ? WHERE seq = ?", "0" * 64, last)
    assert [(p["kind"], p["seq"]) for p in _report(bbc)["problems"]] == [("mac", last)]


def _seal_key(db: Path) -> bytes:
    from banbucheng.store import Store

    store = Store(f"sqlite:///{db}")
    try:
        assert store.seal_key is not None
        return store.seal_key
    finally:
        store.close()
