"""Pass 2's per-case anchor checks made in pass 3's query (trust/rows.py, FUSED) find
exactly what pass 2 apart found: the same problems, kinds, texts and order, with or
without a helper process taking a share of the cases, on SQLite and PostgreSQL; and
the row, token and mask checks of pass 3 beside them are unchanged."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from banbucheng.trust import findings, integrity, rows
from banbucheng.trust.findings import Problem, Problems

BROKEN = 5


def sql(db: Path, *statements: str) -> None:
    con = sqlite3.connect(db)
    try:
        for statement in statements:
            con.execute(statement)
        con.commit()
    finally:
        con.close()


def _ids(db: Path, numbers: list[str]) -> list[int]:
    con = sqlite3.connect(db)
    try:
        return [
            con.execute("SELECT id FROM cases WHERE number = ?", (n,)).fetchone()[0]
            for n in numbers
        ]
    finally:
        con.close()


@pytest.fixture
def numbers(bbc, isolated: Path) -> list[str]:
    """Six cases, some with more events than others."""
    out = []
    for i in range(6):
        number = bbc(
            "register", "--name", f"群众{i}", "--phone", f"1380000{i:04d}",
            "--matter", f"第{i}件：社保转移办不下来", "--category", "应办未办",
            now=f"2021-05-0{1 + i % 4} 09:1{i}",
        ).stdout.strip()  # fmt: skip
        out.append(number)
        if i % 2:
            bbc("dispatch", number, "--unit", "人社局", now=f"2021-05-0{1 + i % 4} 10:00")
    bbc("close", out[1], "--result", "已办结", now="2021-05-08 11:00")
    assert bbc.json("verify", "--full")["ok"] is True
    return out


def _report(bbc) -> dict:
    return json.loads(bbc("verify", "--json", "--full", code=BROKEN).stdout)


def _modes(bbc, monkeypatch: pytest.MonkeyPatch, exact: bool = True) -> dict:
    """The report with pass 2 apart (the reference), then the same with it fused, in
    one process and with a helper process taking a share of the cases. (`exact`
    False: a verify that stops on an unreadable value, whose head is where it stopped,
    in one mode before the chain's end is taken and in another after: the problems
    must be the same.)"""
    monkeypatch.setattr(rows, "FUSED", False)
    plain = _report(bbc)
    monkeypatch.setattr(rows, "FUSED", True)
    assert _report(bbc) == plain
    monkeypatch.setattr(rows, "FAST", False)  # the careful query carries the flag too
    assert _report(bbc) == plain
    monkeypatch.setattr(rows, "FAST", True)
    monkeypatch.setattr(integrity, "PARALLEL_FROM", 0)
    monkeypatch.setattr(integrity, "HELPER_START", 0)
    monkeypatch.setattr(integrity, "CASE_WEIGHT", 4)  # the helper takes some, not all
    monkeypatch.setattr(integrity, "CASE_WEIGHT_UNKEYED", 4)
    shares: list[int] = []
    result = integrity._Helper.result

    def seen(helper: integrity._Helper) -> dict | None:
        found = result(helper)
        assert found is not None
        shares.append(helper.high)
        return found

    monkeypatch.setattr(integrity._Helper, "result", seen)
    report = _report(bbc)
    if exact:
        assert report == plain
    assert report["problems"] == plain["problems"]
    assert shares  # a real share was the helper's
    return plain


# (edit, the kind found and for which case: a or b), {a}, {b} the cases' ids
EDITS = [
    # the row, its tokens and masks (pass 3, beside the fused flag)
    (["UPDATE cases SET matter = '别的事项' WHERE id = {a}"], "state", "a"),
    (
        [
            "UPDATE cases SET citizen_enc = substr(citizen_enc, 1, length(citizen_enc) - 6)"
            " || 'AAAAAA' WHERE id = {a}"
        ],
        "personal",
        "a",
    ),
    (
        [
            "UPDATE cases SET citizen_enc = (SELECT citizen_enc FROM cases WHERE id = {b}) "
            "WHERE id = {a}"
        ],
        "personal",
        "a",
    ),
    (["UPDATE cases SET phone_mask = '138****9999' WHERE id = {b}"], "personal", "b"),
    # the anchors (pass 2)
    (["DELETE FROM case_chain WHERE case_id = {a}"], "inserted", "a"),
    (["DELETE FROM cases WHERE id = {a}"], "case_deleted", "a"),
    (["DELETE FROM events WHERE case_id = {a}"], "deleted", "a"),
    (
        ["DELETE FROM events WHERE id = (SELECT max(id) FROM events WHERE case_id = {b})"],
        "deleted",
        "b",
    ),
    (
        ["DELETE FROM events WHERE id = (SELECT min(id) FROM events WHERE case_id = {b})"],
        "deleted",
        "b",
    ),
    (
        [
            "UPDATE events SET case_id = {a} "
            "WHERE id = (SELECT max(id) FROM events WHERE case_id = {b})"
        ],
        "inserted",
        "a",
    ),
    (["UPDATE case_chain SET events = events + 1 WHERE case_id = {b}"], "deleted", "b"),
    (["UPDATE case_chain SET events = events - 1 WHERE case_id = {b}"], "inserted", "b"),
    (["UPDATE case_chain SET last_hash = 'x' WHERE case_id = {b}"], "edited", "b"),
    (["UPDATE case_chain SET last_seq = last_seq - 1 WHERE case_id = {b}"], "edited", "b"),
    (["UPDATE case_chain SET number = 'BB1' WHERE case_id = {a}"], "edited", None),
    (["UPDATE cases SET number = 'BB2' WHERE id = {a}"], "edited", None),
    # a value of the wrong type: pass 2 cannot compare it, in either form (the helper
    # gives up, this process checks its share again and says so)
    (["UPDATE case_chain SET events = 'x' WHERE case_id = {b}"], "unreadable", None),
    # several at once, a deleted case between the others: pass 2's order, by case id
    (
        [
            "UPDATE case_chain SET last_hash = 'x' WHERE case_id = {b}",
            "DELETE FROM cases WHERE id = {a}",
            "UPDATE case_chain SET events = events + 2 WHERE case_id = 1",
            "DELETE FROM case_chain WHERE case_id = 2",
            "UPDATE cases SET matter = '改' WHERE id = 2",
        ],
        "case_deleted",
        "a",
    ),
]


@pytest.mark.parametrize(("edits", "kind", "who"), EDITS)
def test_the_fused_anchor_checks_find_what_pass_2_found(
    bbc,
    isolated: Path,
    numbers: list[str],
    monkeypatch: pytest.MonkeyPatch,
    edits: list[str],
    kind: str,
    who: str | None,
) -> None:
    a, b = _ids(isolated, [numbers[2], numbers[3]])
    sql(isolated, *(edit.format(a=a, b=b) for edit in edits))
    plain = _modes(bbc, monkeypatch, exact=kind != "unreadable")
    found = {(p["kind"], p["case"]) for p in plain["problems"]}
    case = {"a": numbers[2], "b": numbers[3]}.get(who or "")
    assert any(k == kind and (case is None or c == case) for k, c in found), found


def test_anchor_findings_keep_pass_2s_order_across_the_shares(
    bbc, isolated: Path, numbers: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Findings of the helper's share, this process's and the deleted cases' come out
    in order of case id, as pass 2's one query gave them, then the unanchored cases."""
    ids = _ids(isolated, numbers)
    sql(
        isolated,
        f"UPDATE case_chain SET last_hash = 'x' WHERE case_id = {ids[5]}",
        f"DELETE FROM cases WHERE id = {ids[3]}",
        f"UPDATE case_chain SET events = events + 1 WHERE case_id = {ids[0]}",
        f"DELETE FROM case_chain WHERE case_id = {ids[1]}",
        f"UPDATE case_chain SET events = events - 1 WHERE case_id = {ids[4]}",
    )
    plain = _modes(bbc, monkeypatch)
    anchors = [
        (p["kind"], p["case"])
        for p in plain["problems"]
        if p["kind"] in ("edited", "deleted", "inserted", "case_deleted") and not p.get("seq")
    ]
    assert anchors == [
        ("deleted", numbers[0]),
        ("case_deleted", numbers[3]),
        ("inserted", numbers[4]),
        ("edited", numbers[5]),
        ("inserted", numbers[1]),  # not in the chain: after the rest, as ever
    ]


def test_only_the_first_findings_are_kept_and_the_rest_counted(
    bbc, isolated: Path, numbers: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = _ids(isolated, numbers)
    sql(
        isolated,
        *(f"UPDATE case_chain SET events = events + 1 WHERE case_id = {i}" for i in ids[:4]),
        # the anchor of a case that is gone (and left no events for the walk to see)
        "INSERT INTO case_chain VALUES (0, 'BB0', 1, 1, 'x')",
    )
    monkeypatch.setattr(findings, "MAX_PROBLEMS", 2)
    plain = _modes(bbc, monkeypatch)
    assert [(p["kind"], p["case"]) for p in plain["problems"]] == [
        ("case_deleted", "BB0"),
        ("deleted", numbers[0]),
    ]
    assert plain["problems_not_listed"] == 3


def test_merge_gives_the_shares_in_order_of_case_id() -> None:
    shares = [rows.Anchored() for _ in range(3)]
    for share, ids in zip(shares, ([2, 9], [1, 3, 4], [7]), strict=True):
        for i in ids:
            share.add(i, Problem("edited", str(i)))
    shares[1].more = 2
    out = Problems()
    rows.merge(out, shares)
    assert [p.message for p in out] == ["1", "2", "3", "4", "7", "9"]
    assert out.more == 2
