"""Repeats: the same citizen (phone or ID number) about a similar matter within the window."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import casegen
import pytest
from cases import LI_CITIZEN
from sqlmodel import select

from banbucheng.schema import citizens
from banbucheng.schema.models import Case, CitizenKey
from banbucheng.store import Store


@pytest.fixture(scope="module")
def fixture_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, dict]]:
    path = tmp_path_factory.mktemp("fixture") / "fixture.sqlite3"
    store, numbers = casegen.build(f"sqlite:///{path}")
    try:
        yield store, numbers
    finally:
        store.close()


def _repeats(store: Store, numbers: dict[str, str]) -> dict[str, str]:
    key_of = {v: k for k, v in numbers.items()}
    with store.session(write=False) as session:
        rows = session.exec(select(Case.id, Case.number, Case.repeat_of_id)).all()
    by_id = {i: n for i, n, _ in rows}
    return {key_of[n]: key_of[by_id[r]] for _, n, r in rows if r is not None}


def test_repeats_in_the_fixture(fixture_store: tuple[Store, dict]) -> None:
    store, numbers = fixture_store
    assert _repeats(store, numbers) == {
        "li_repeat": "li",  # same phone, the same matter in other words, 14 days later
        "fund_again": "fund_first",  # another phone, the same ID number
    }
    # Not repeats: Li about another matter (li_other), the lift out of the window
    # (lift_late, 147 days later), and every citizen who came once.


def test_citizen_keys_hold_no_personal_data(fixture_store: tuple[Store, dict]) -> None:
    store, _ = fixture_store
    with store.session(write=False) as session:
        keys = session.exec(select(CitizenKey.key)).all()
    # Each phone and each name, plus the two ID numbers (names only for lookups).
    assert len(keys) == 2 * len(casegen.cases()) + 2
    assert not any("13900001111" in k or "1390000" in k for k in keys)
    secret = bytes(32)
    assert citizens.citizen_keys(secret, "13900001111", None) != citizens.citizen_keys(
        bytes([1]) * 32, "13900001111", None
    )  # keyed: another store's secret gives other keys
    # A landline's extension does not make another citizen.
    assert citizens.citizen_keys(secret, "0571-87654321-12", None) == citizens.citizen_keys(
        secret, "0571-87654321", None
    )
    assert citizens.citizen_keys(secret, None, "33010219800101002x") == citizens.citizen_keys(
        secret, None, "33010219800101002X"
    )


# ---------------------------------------------------------------- through the CLI

LI = LI_CITIZEN


def test_same_citizen_similar_matter_is_a_repeat(bbc: Any) -> None:
    first = bbc(
        *["register", *LI],
        "--matter",
        "社保卡自2016年起未年检，养老金停发四年",
        now="2021-04-06 14:20",
    ).stdout.strip()
    out = bbc(
        "register",
        *LI,
        "--matter",
        "养老金还是没有补发，社保卡年审的问题一直没解决",
        now="2021-04-20 10:00",
    )
    second = out.stdout.strip()
    assert "已标记为重复反映" in out.stderr and first in out.stderr
    assert "13900001111" not in out.stderr
    assert bbc.json("show", second)["repeat_of"] == first
    assert bbc.json("show", first)["repeat_of"] is None
    listed = {r["number"]: r["repeat_of"] for r in bbc.json("list")}
    assert listed == {first: None, second: first}
    event = bbc.json("show", second)["events"][0]
    assert event["action"] == "register" and event["after"]["repeat_of"] == first
    assert f"重复反映（前案）：{first}" in event["changes"]
    assert f"与 {first} 为同一反映人的相似事项" in bbc("show", second).stdout
    assert "为同一反映人的相似事项" not in bbc("show", first).stdout


def test_same_citizen_other_matter_is_not_a_repeat(bbc: Any) -> None:
    bbc(
        "register",
        *LI,
        "--matter",
        "社保卡自2016年起未年检，养老金停发四年",
        now="2021-04-06 14:20",
    )
    other = bbc.json(
        "register",
        *LI,
        "--matter",
        "想办理医保异地就医备案，网上一直提交不了",
        now="2021-04-20 10:00",
    )
    assert other["repeat_of"] is None


def test_another_citizen_same_matter_is_not_a_repeat(bbc: Any) -> None:
    bbc("register", *LI, "--matter", "社保卡未年检，养老金停发", now="2021-04-06 14:20")
    other = bbc.json(
        "register",
        "--name",
        "张某",
        "--phone",
        "13900002222",
        "--matter",
        "社保卡未年检，养老金停发",
        now="2021-04-07 10:00",
    )
    assert other["repeat_of"] is None


def test_id_number_links_citizens_with_other_phones(bbc: Any) -> None:
    first = bbc.json(
        "register",
        "--name",
        "孙某",
        "--phone",
        "13600000001",
        "--id-number",
        casegen.CITIZEN_ID,
        "--matter",
        "公积金提取要原单位盖章，单位已注销",
        now="2021-03-15 09:00",
    )
    again = bbc.json(
        "register",
        "--name",
        "孙某",
        "--phone",
        "13600000002",
        "--id-number",
        casegen.CITIZEN_ID.lower(),
        "--matter",
        "原单位注销了，公积金提取没人盖章",
        now="2021-04-02 09:00",
    )
    assert again["repeat_of"] == first["number"]


def test_the_window_is_a_setting(bbc: Any, snapshot: Any) -> None:
    assert {r["key"]: r["value"] for r in bbc.json("config", "show")}["repeat.window_days"] == "90"
    bbc("register", *LI, "--matter", "社保卡未年检，养老金停发", now="2021-01-05 10:00")
    late = bbc.json(
        "register", *LI, "--matter", "社保卡未年检，养老金还是停发", now="2021-04-06 10:00"
    )  # 91 days later
    assert late["repeat_of"] is None
    bbc("config", "set", "repeat.window_days", "120")
    later = bbc.json(
        "register", *LI, "--matter", "社保卡未年检，养老金仍然停发", now="2021-04-07 10:00"
    )
    assert later["repeat_of"] == late["number"]  # the latest similar earlier case
    check = snapshot()
    for key, value in [
        ("repeat.window_days", "0"),
        ("repeat.window_days", "abc"),
        ("repeat.window_days", "5000"),
        ("repeat.min_similarity", "101"),
    ]:
        assert "整数" in bbc.refused("config", "set", key, value)
    check()


def test_similarity_threshold_is_a_setting(bbc: Any) -> None:
    bbc("config", "set", "repeat.min_similarity", "100")
    bbc("register", *LI, "--matter", "社保卡未年检，养老金停发", now="2021-04-06 10:00")
    again = bbc.json(
        "register", *LI, "--matter", "社保卡没年检，养老金停了", now="2021-04-07 10:00"
    )
    assert again["repeat_of"] is None


def test_backdated_registration_links_only_to_earlier_cases(bbc: Any, isolated: Path) -> None:
    later = bbc.json(
        "register", *LI, "--matter", "社保卡未年检，养老金停发", now="2021-04-20 10:00"
    )
    earlier = bbc.json(
        "register",
        *LI,
        "--matter",
        "社保卡未年检，养老金停发",
        "--at",
        "2021-04-01 10:00",
        now="2021-04-20 11:00",
    )
    assert earlier["repeat_of"] is None and later["repeat_of"] is None
