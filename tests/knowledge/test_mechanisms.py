"""Mechanisms (长效机制) and reply templates (答复口径): formed, reused, counted."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import casegen
import pytest
from cases import HUO_MECHANISM, HUO_REGISTER

from banbucheng.core.timeutil import BEIJING
from banbucheng.knowledge import mechanisms as knowledge
from banbucheng.schema import migrations
from banbucheng.store import Store

HUO = [*HUO_REGISTER, "--category", "应办未办"]
HUO_TEXT = HUO_MECHANISM


def _case(bbc: Any, matter: str, now: str, *, category: str = "应办未办", phone: str = "") -> str:
    args = ["register", "--name", "王某", "--phone", phone or "13812345678", "--matter", matter]
    return bbc(*args, "--category", category, now=now).stdout.strip()


def test_closing_with_text_forms_a_mechanism(bbc: Any) -> None:
    bbc(*HUO, now="2021-04-01 09:30")
    out = bbc(
        "close",
        "BB20210401-001",
        "--result",
        "中心出具证明",
        "--mechanism",
        HUO_TEXT,
        now="2021-04-06 11:00",
    )
    assert "已形成长效机制 #1" in out.stderr
    # The command to finish it on a line of its own, narrow enough for 80 columns.
    hint = next(line for line in out.stderr.splitlines() if "bbc mechanism edit 1" in line)
    assert hint.strip().startswith("bbc mechanism edit 1 --check") and len(hint) < 80
    case = bbc.json("show", "BB20210401-001")
    assert case["mechanism"] == HUO_TEXT  # the key the README documents, as before
    assert (case["mechanism_id"], case["mechanism_role"]) == (1, "source")
    assert case["events"][-1]["after"]["mechanism"] == HUO_TEXT
    [row] = bbc.json("mechanism", "list")
    assert row["id"] == 1 and row["name"] == HUO_TEXT and row["description"] == HUO_TEXT
    assert (row["source_cases"], row["served_cases"], row["templates"]) == (1, 0, 0)
    assert row["created_by"] == "窗口甲" and row["created_at"] == "2021-04-06T11:00:00+08:00"


def test_closing_with_an_existing_mechanism_counts_as_served(bbc: Any) -> None:
    bbc(*HUO, now="2021-04-01 09:30")
    bbc(
        "close",
        "BB20210401-001",
        "--result",
        "出具证明",
        "--mechanism",
        HUO_TEXT,
        now="2021-04-06 11:00",
    )
    second = _case(bbc, "门诊部两证名称不一样", "2021-05-10 09:00")
    third = _case(bbc, "卫生室两证名字不一致", "2021-05-11 09:00", phone="13812340000")
    fourth = _case(bbc, "口腔诊所两证名称不统一", "2021-06-01 09:00", phone="13812340001")
    out = bbc(
        "close",
        second,
        "--result",
        "窗口核实后出具证明",
        "--mechanism",
        "1",
        now="2021-05-10 15:00",
    )
    assert f"已按长效机制 #1「{HUO_TEXT}」办结" in out.stderr
    bbc("close", third, "--result", "窗口出具证明", "--mechanism", HUO_TEXT, now="2021-05-11 15:00")
    bbc("close", fourth, "--result", "窗口出具证明", "--mechanism", "#1", now="2021-06-01 15:00")
    shown = bbc.json("show", second)
    assert (shown["mechanism_id"], shown["mechanism_role"]) == (1, "served")
    assert shown["mechanism"] == HUO_TEXT
    detail = bbc.json("mechanism", "show", "1")
    assert [(c["number"], c["role"]) for c in detail["cases"]] == [
        ("BB20210401-001", "source"),
        (second, "served"),
        (third, "served"),
        (fourth, "served"),
    ]
    assert detail["served_cases"] == 3 and detail["source_cases"] == 1
    assert len(bbc.json("mechanism", "list")) == 1  # linked, not formed again
    assert bbc.json("mechanism", "show", HUO_TEXT)["id"] == 1


def test_served_and_formed_counts_for_period_reports(tmp_path: Path) -> None:
    store, _ = casegen.build(f"sqlite:///{tmp_path / 'f.sqlite3'}")
    try:
        with store.session(write=False) as session:
            served_april = knowledge.served_count(session, date(2021, 4, 1), date(2021, 4, 30))
            served_all = knowledge.served_count(session, date(2021, 1, 1), date(2021, 12, 31))
            formed = knowledge.formed_count(session, date(2021, 4, 1), date(2021, 4, 30))
            start = datetime(2021, 4, 6, tzinfo=BEIJING)
            formed_day = knowledge.formed_count(
                session, start, datetime(2021, 4, 7, tzinfo=BEIJING)
            )
    finally:
        store.close()
    later_clinics = [
        s for s in casegen.cases() if s.cls == "clinic_names" and (s.mechanism or "") == "@huo"
    ]
    assert served_all == len(later_clinics) == 3
    assert 1 <= served_april <= served_all
    assert formed == 2  # Ms Huo's (04-06) and Li's (04-09) mechanisms
    assert formed_day == 1


def test_unknown_mechanism_is_refused_and_nothing_changes(bbc: Any, snapshot: Any) -> None:
    bbc(*HUO, now="2021-04-01 09:30")
    check = snapshot()
    assert "没有编号为 7 的长效机制" in bbc.refused(
        "close", "BB20210401-001", "--result", "x", "--mechanism", "7", now="2021-04-02 09:00"
    )
    assert "没有名为「不存在的机制」的长效机制" in bbc.refused("mechanism", "show", "不存在的机制")
    check()


def test_mechanism_add_edit_show(bbc: Any, snapshot: Any) -> None:
    bbc(*HUO, now="2021-04-01 09:30")
    bbc("close", "BB20210401-001", "--result", "中心出具证明", now="2021-04-06 11:00")
    data = bbc.json(
        "mechanism",
        "add",
        "两证名称不一致由窗口出具证明",
        "--check",
        "两证的统一社会信用代码、负责人、地址是否一致",
        "--decider",
        "中心综合协调科",
        "--issued",
        "两证属同一诊所的证明",
        "--case",
        "BB20210401-001",
        now="2021-04-07 09:00",
    )
    assert data["id"] == 1 and data["decider"] == "中心综合协调科"
    assert data["cases"][0]["number"] == "BB20210401-001" and data["cases"][0]["role"] == "source"
    event = bbc.json("show", "BB20210401-001")["events"][-1]
    assert (event["action"], event["action_label"]) == ("mechanism", "关联长效机制")
    assert event["text"] == "关联长效机制 #1「两证名称不一致由窗口出具证明」（由此形成）"
    check = snapshot()
    assert "已有同名的长效机制" in bbc.refused("mechanism", "add", "两证名称不一致由窗口出具证明")
    assert "不能只是数字" in bbc.refused("mechanism", "add", "12")
    assert "已关联长效机制 #1" in bbc.refused(
        "mechanism", "add", "另一个机制", "--case", "BB20210401-001"
    )
    assert "没有编号为 BB20990101-001 的案件" in bbc.refused(
        "mechanism", "add", "另一个机制", "--case", "BB20990101-001"
    )
    check()
    edited = bbc.json("mechanism", "edit", "1", "--issued", "同一主体证明", now="2021-04-08 09:00")
    assert edited["issued"] == "同一主体证明"
    assert edited["updated_at"] == "2021-04-08T09:00:00+08:00"
    assert "没有改动" in bbc("mechanism", "edit", "1", "--issued", "同一主体证明").stderr
    out = bbc("mechanism", "show", "1").stdout
    assert "两证的统一社会信用代码" in out and "中心综合协调科" in out and "由此形成" in out
    assert "两证名称不一致由窗口出具证明" in bbc("mechanism", "list").stdout
    # The suggestion at registration tells who decides and what is issued.
    out = bbc(
        "register",
        "--name",
        "王某",
        "--phone",
        "13812345678",
        "--matter",
        "诊所两证名称不一致，买不到药",
        now="2021-05-10 09:00",
    )
    assert "由中心综合协调科决定" in out.stderr and "出具同一主体证明" in out.stderr


def test_reopened_case_keeps_a_formed_mechanism_but_not_a_served_link(bbc: Any) -> None:
    bbc(*HUO, now="2021-04-01 09:30")
    bbc(
        "close",
        "BB20210401-001",
        "--result",
        "出具证明",
        "--mechanism",
        HUO_TEXT,
        now="2021-04-06 11:00",
    )
    other = _case(bbc, "诊所两证名称不一致", "2021-05-10 09:00")
    bbc("close", other, "--result", "出具证明", "--mechanism", "1", now="2021-05-10 15:00")
    for number in ("BB20210401-001", other):
        bbc("visit", number, "--satisfaction", "不满意", now="2021-05-11 09:00")
        reopened = bbc.json("reopen", number, "--reason", "供货商仍不认可", now="2021-05-11 10:00")
        assert reopened["mechanism"] is None and reopened["mechanism_id"] is None
    assert bbc.json("mechanism", "show", "1")["served_cases"] == 0  # dormant while reopened
    huo = bbc.json("close", "BB20210401-001", "--result", "再次出具证明", now="2021-05-12 10:00")
    assert (huo["mechanism_id"], huo["mechanism_role"]) == (1, "source")
    assert huo["mechanism"] == HUO_TEXT
    again = bbc.json("close", other, "--result", "由上级协调解决", now="2021-05-12 10:00")
    assert again["mechanism_id"] is None and again["mechanism"] is None


# ---------------------------------------------------------------- reply templates

BODY = (
    "您于{受理日期}反映的「{事项}」（编号 {编号}），依规定须由参保地社保经办机构办理，"
    "{中心}无权办理。请携身份证到参保地办理，如需协助请联系本窗口。"
)


def _transfer(bbc: Any) -> str:
    return _case(
        bbc, "要求在本中心办理跨省养老保险关系转移", "2021-04-06 09:00", category="完全不能"
    )


def test_reply_templates_for_impossible_cases(bbc: Any, snapshot: Any) -> None:
    bbc("config", "set", "center_name", "某县政务服务中心")
    bbc("mechanism", "add", "跨省社保转移由参保地办理", "--decider", "社保窗口")
    template = bbc.json("reply-template", "add", "跨省社保转移", "--body", BODY, "--mechanism", "1")
    assert template["id"] == 1 and template["mechanism_name"] == "跨省社保转移由参保地办理"
    number = _transfer(bbc)
    preview = bbc.json("reply-template", "show", "1", "--case", number)["preview"]["text"]
    assert preview.startswith("您于2021年4月6日反映的「要求在本中心办理跨省养老保险关系转移」")
    assert f"（编号 {number}）" in preview and "某县政务服务中心无权办理" in preview
    # Suggested when a similar impossible case is registered.
    first = bbc.json("close", number, "--template", "跨省社保转移", now="2021-04-07 09:00")
    assert first["result"] == preview
    assert first["outcome"] == "replied"
    assert (first["mechanism_id"], first["mechanism_role"]) == (1, "served")
    out = bbc(
        "register",
        "--name",
        "赵某",
        "--phone",
        "13812340000",
        "--matter",
        "外省养老保险关系转入本地",
        "--category",
        "完全不能",
        now="2021-05-06 09:00",
    )
    assert "答复口径 #1「跨省社保转移」" in out.stderr
    second = out.stdout.strip()
    closed = bbc.json(
        "close",
        second,
        "--template",
        "1",
        "--result",
        "已电话告知参保地地址",
        now="2021-05-06 10:00",
    )
    assert closed["result"].endswith("\n已电话告知参保地地址")
    assert "跨省社保转移" in bbc("reply-template", "list").stdout
    assert bbc.json("reply-template", "list")[0]["mechanism_id"] == 1
    assert bbc.json("mechanism", "list")[0]["templates"] == 1


def test_reply_templates_are_checked(bbc: Any, snapshot: Any) -> None:
    bbc("reply-template", "add", "通用答复", "--body", "您反映的「{事项}」不属于本中心职责。")
    unhandled = _case(bbc, "营业执照地址变更办不了", "2021-04-06 09:00")
    check = snapshot()
    assert "未知的占位符 {姓名}" in bbc.refused(
        "reply-template", "add", "另一条", "--body", "{姓名}您好"
    )
    assert "缺少答复内容" in bbc.refused("reply-template", "add", "另一条")
    assert "已有同名的答复口径" in bbc.refused("reply-template", "add", "通用答复", "--body", "x")
    assert "答复口径只用于答复不能办理的案件" in bbc.refused(
        "close", unhandled, "--template", "1", now="2021-04-07 09:00"
    )
    assert "没有编号为 5 的答复口径" in bbc.refused("reply-template", "show", "5")
    assert "办理结果（--result）" in bbc.refused("close", unhandled, now="2021-04-07 09:00")
    check()
    # An unhandled case can still be replied to explicitly.
    closed = bbc.json(
        "close", unhandled, "--template", "通用答复", "--outcome", "replied", now="2021-04-07 09:00"
    )
    assert closed["result"] == "您反映的「营业执照地址变更办不了」不属于本中心职责。"
    edited = bbc.json("reply-template", "edit", "1", "--name", "不属本中心职责", "--no-mechanism")
    assert edited["name"] == "不属本中心职责"
    assert "没有改动" in bbc("reply-template", "edit", "1", "--name", "不属本中心职责").stderr


@pytest.mark.parametrize("ref", ["1", "#1", "＃1"])
def test_references_by_number(bbc: Any, ref: str) -> None:
    bbc("mechanism", "add", "某机制")
    assert bbc.json("mechanism", "show", ref)["name"] == "某机制"


def test_legacy_free_text_mechanisms_become_records(tmp_path: Path) -> None:
    import shutil

    path = tmp_path / "old.sqlite3"
    shutil.copy(Path(__file__).parents[1] / "data" / "store-v0.1.0.sqlite3", path)
    store = Store(f"sqlite:///{path}")
    try:
        with store.session(write=False) as session:
            rows = knowledge.mechanism_rows(session)
            assert [r["created_by"] for r in rows] == [migrations.LEGACY_ACTOR] * 2
            assert rows[0]["created_at"] == "2021-04-06T11:00:00+08:00"  # when it was formed
    finally:
        store.close()
