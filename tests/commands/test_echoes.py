"""No message repeats personal data the user typed (a phone, an ID number, a name),
whatever command it was typed into."""

from __future__ import annotations

import pytest

PHONE, ID, NAME = "13812345678", "11010519491231002X", "欧阳明华"


@pytest.mark.parametrize(
    "args",
    [
        ["search", PHONE],
        ["search", ID],
        ["search", NAME],
        ["search", f"{NAME} {PHONE}"],
        ["list", "--unit", NAME],
        ["list", "--unit", PHONE],
        ["overdue", "--unit", NAME],
        ["due", "--unit", PHONE],
        ["mechanism", "show", NAME],
        ["reply-template", "show", PHONE],
        ["calendar", "remove", f"{PHONE}..{PHONE}"],
        ["show", PHONE],
        ["show", ID],
    ],
)
def test_typed_personal_data_is_not_echoed(bbc, args):
    bbc(
        "register",
        "--name",
        "李海清",
        "--phone",
        "13900001111",
        "--matter",
        "社保卡未年检，养老金停发",
        now="2026-11-23 09:00",
    )
    result = bbc.runner.invoke(__import__("banbucheng.cli").cli.app, args)
    text = result.output + result.stderr
    assert "Traceback" not in text and result.exit_code != 70
    for typed in (PHONE, ID, NAME):
        assert typed not in text, (args, text)


def test_a_unit_name_typed_by_mistake_stays_readable(bbc):
    bbc("register", "--name", "李海清", "--phone", "13900001111", "--matter", "事项")
    assert "没有「省农报中心」" in bbc.refused("list", "--unit", "省农报中心")
