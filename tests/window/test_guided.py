"""Guided entry, driven for real through a pseudo-terminal."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pexpect
import pytest

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")


def _spawn(args: list[str], db: Path, now: str) -> pexpect.spawn:
    env = dict(os.environ, BBC_DB=str(db), BBC_NOW=now, BBC_OPERATOR="窗口甲", COLUMNS="120")
    env.pop("BBC_NO_PROMPT", None)
    return pexpect.spawn(
        sys.executable,
        ["-m", "banbucheng", *args],
        env=env,
        encoding="utf-8",
        timeout=30,
        dimensions=(40, 120),
    )


def _answer(child: pexpect.spawn, prompt: str, text: str) -> None:
    child.expect(prompt)
    child.sendline(text)


def test_register_ms_huo_by_answering_questions(isolated: Path, bbc) -> None:
    child = _spawn(["register"], isolated, "2021-04-01 09:30")
    _answer(child, "反映人姓名", "霍某某")
    _answer(child, "联系电话", "1371234111")  # one digit short: asked again
    child.expect("手机号")
    _answer(child, "联系电话", "13712341111")
    _answer(child, "身份证号", "110105194912310021")  # bad check digit: asked again
    child.expect("校验位")
    _answer(child, "身份证号", "")  # optional: left empty
    _answer(child, "反映事项", "诊所营业执照与医疗机构执业许可证名称不一致，供货商拒绝供药")
    _answer(child, "受阻部门或窗口", "市场监管窗口")
    _answer(child, "受理渠道", "")  # Enter takes the default: 窗口
    _answer(child, "受理时间", "2021-02-30 09:30")  # impossible date: asked again
    child.expect("时间")
    _answer(child, "受理时间", "")  # default: now
    _answer(child, "分类", "1")  # 应办未办
    _answer(child, "子类", "")  # none
    child.expect("确认保存")
    child.sendline("y")
    child.expect(r"BB20210401-001")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    case = bbc.json("show", "BB20210401-001", "--reveal")
    assert case["citizen"] == "霍某某" and case["phone"] == "13712341111"
    assert case["category"] == "unhandled" and case["subtype"] is None
    assert case["channel"] == "window" and case["department"] == "市场监管窗口"
    assert case["received_at"] == "2021-04-01T09:30:00+08:00"
    assert case["due_date"] == "2021-04-09"


def test_declining_the_summary_saves_nothing(isolated: Path, bbc, snapshot) -> None:
    bbc("units", "add", "人社局")
    check = snapshot()
    child = _spawn(["register", "--phone", "13800000000"], isolated, "2026-11-27 09:00")
    _answer(child, "反映人姓名", "张三")
    _answer(child, "身份证号", "")
    _answer(child, "反映事项", "办证难")
    _answer(child, "受阻部门或窗口", "")
    _answer(child, "受理渠道", "电话")
    _answer(child, "受理时间", "")
    _answer(child, "分类", "")
    child.expect("确认保存")
    child.sendline("n")
    child.expect("已取消")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 1
    check()


def test_visit_and_dispatch_choices(isolated: Path, bbc) -> None:
    number = bbc(
        "register", "--name", "李海清", "--phone", "13900001111", "--matter", "养老金停发",
        "--category", "应办未办", now="2026-11-23 09:00",
    ).stdout.strip()  # fmt: skip
    bbc("units", "add", "省农保中心")
    due = bbc.json("show", number, now="2026-11-23 10:00")
    child = _spawn(["dispatch", number], isolated, "2026-11-23 10:00")
    # The case first, so that nobody answers for the wrong one: where it stands, its
    # deadline, its matter.
    when = due["due_at"][:16].replace("T", " ")
    child.expect_exact(f"{number}  待派单  应办未办  期限 {when}  剩{due['days_left']}个工作日")
    child.expect_exact("事项：养老金停发")
    child.expect("1.省农保中心")
    _answer(child, "主办单位", "1")
    _answer(child, "协办单位", "社保窗口")  # a new unit may be typed
    child.expect("确认保存")
    child.sendline("y")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    case = bbc.json("show", number)
    assert case["unit"] == "省农保中心" and case["helpers"] == ["社保窗口"]
    bbc("close", number, "--result", "已补发", now="2026-11-24 10:00")
    child = _spawn(["visit", number], isolated, "2026-11-25 10:00")
    child.expect("非常满意")
    _answer(child, "满意度", "6")  # out of range: asked again
    child.expect("序号")
    _answer(child, "满意度", "2")
    _answer(child, "回访记录", "")
    child.expect("确认保存")
    child.sendline("y")
    child.expect(pexpect.EOF)
    child.close()
    assert bbc.json("show", number)["satisfaction"] == "satisfied"


def test_without_a_terminal_it_never_waits(bbc) -> None:
    message = bbc.refused("register", "--phone", "13800000000")
    assert message == "错误：缺少：反映人姓名（--name）、反映事项（--matter）"
    assert "缺少：满意度（--satisfaction）" in bbc.refused("visit", "BB20260101-001")


def test_json_output_is_not_mixed_with_questions(isolated: Path) -> None:
    child = _spawn(
        ["register", "--name", "张三", "--phone", "13800000000", "--matter", "m", "--json"],
        isolated,
        "2026-11-27 09:00",
    )
    out = child.read()
    child.close()
    assert child.exitstatus == 0
    assert json.loads(out[out.index("{") :])["number"] == "BB20261127-001"
