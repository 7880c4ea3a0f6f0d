"""Guided entry at a real terminal (a pseudo-terminal, as the clerk has one): what is
checked before the first question, list numbers, new units, Ctrl-C and Ctrl-D."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pexpect
import pytest

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")

NOW = "2026-11-27 09:00"


def _asked(out: str) -> bool:
    """Whether anything was asked: every question ends in an ASCII ": " (the prompt),
    which no message of bbc's contains (they use the Chinese "：")."""
    return ": " in out


def _spawn(args: list[str], db: Path, columns: int = 80) -> pexpect.spawn:
    env = dict(os.environ, BBC_DB=str(db), BBC_NOW=NOW, BBC_OPERATOR="窗口甲")
    for name in ("BBC_NO_PROMPT", "COLUMNS", "LINES"):
        env.pop(name, None)
    return pexpect.spawn(
        sys.executable,
        ["-m", "banbucheng", *args],
        env=env,
        encoding="utf-8",
        timeout=30,
        dimensions=(24, columns),
    )


def _finish(child: pexpect.spawn) -> tuple[str, int]:
    out = child.read()
    child.close()
    return out, child.exitstatus


def _register(bbc, category: str | None = "应办未办") -> str:
    extra = ["--category", category] if category else []
    return bbc(
        "register", "--name", "张三", "--phone", "13800000000", "--matter", "办证难", *extra,
        now=NOW,
    ).stdout.strip()  # fmt: skip


@pytest.mark.parametrize(
    ("args", "refusal"),
    [
        (["close", "BB20990101-001"], "没有编号为 BB20990101-001 的案件"),
        (["visit", "BB20990101-001"], "没有编号为 BB20990101-001 的案件"),
        (["dispatch", "BB20990101-001"], "没有编号为 BB20990101-001 的案件"),
        (["classify", "BB20990101-001"], "没有编号为 BB20990101-001 的案件"),
    ],
)
def test_a_wrong_case_number_is_refused_before_any_question(isolated, bbc, args, refusal):
    _register(bbc)
    out, code = _finish(_spawn(args, isolated))
    assert code == 1
    assert refusal in out
    assert not _asked(out), out
    assert "Traceback" not in out


def test_a_step_not_allowed_now_is_refused_before_any_question(isolated, bbc, snapshot):
    open_case = _register(bbc)  # classified, not closed
    unclassified = _register(bbc, None)
    check = snapshot()
    for args, refusal in (
        (["visit", open_case], "不能回访"),
        (["dispatch", unclassified], "不能派单"),
        (["close", unclassified], "不能办结"),
    ):
        out, code = _finish(_spawn(args, isolated))
        assert code == 1, out
        assert refusal in out, out
        assert not _asked(out), out
    check()


def test_a_second_visit_is_refused_before_any_question(isolated, bbc):
    number = _register(bbc)
    bbc("close", number, "--result", "已办", now=NOW)
    bbc("visit", number, "--satisfaction", "满意", now=NOW)
    out, code = _finish(_spawn(["visit", number], isolated))
    assert code == 1 and "本轮已回访" in out, out
    assert not _asked(out), out


def test_a_missing_store_is_refused_before_the_first_question(tmp_path):
    out, code = _finish(_spawn(["register"], tmp_path / "none" / "bbc.sqlite3"))
    assert code == 3 and "文件夹不存在" in out and "反映人姓名" not in out
    assert not (tmp_path / "none").exists()


def test_list_numbers_never_become_units(isolated, bbc):
    number = _register(bbc)
    for unit in ("人民银行分行", "公安分局", "社区居委会"):
        bbc("units", "add", unit)
    before = [u["name"] for u in bbc.json("units", "list")]
    child = _spawn(["dispatch", number], isolated)
    child.expect("1.人民银行分行")
    child.expect("主办单位")
    child.sendline("1")
    child.expect("协办单位")
    child.sendline("3、公安分局")  # the list number and the name, as a clerk types them
    child.expect("确认保存")
    child.sendline("y")
    out, code = _finish(child)
    assert code == 0, out
    assert [u["name"] for u in bbc.json("units", "list")] == before  # no unit 「3」
    case = bbc.json("show", number)
    assert case["unit"] == "人民银行分行"
    assert sorted(case["helpers"]) == sorted(["社区居委会", "公安分局"])


def test_a_new_unit_of_digits_or_close_to_a_known_one_is_confirmed(isolated, bbc):
    number = _register(bbc)
    bbc("units", "add", "公安分局")
    child = _spawn(["dispatch", number], isolated)
    child.expect("主办单位")
    child.sendline("7")  # not a list number: asked, and refused here
    child.expect("不是列表中的序号")
    child.sendline("n")
    child.expect("主办单位")
    child.sendline("公安分局一")  # a slip for 公安分局?
    child.expect("相近")
    child.sendline("n")
    child.expect("主办单位")
    child.sendline("1")
    child.expect("协办单位")
    child.sendline("")
    child.expect("确认保存")
    child.sendline("y")
    out, code = _finish(child)
    assert code == 0, out
    assert [u["name"] for u in bbc.json("units", "list")] == ["公安分局"]
    assert bbc.json("show", number)["unit"] == "公安分局"


@pytest.mark.parametrize(
    ("control", "message", "code"),
    [("d", "已取消，未保存", 1), ("c", "已中断，未保存", 130)],
)
@pytest.mark.parametrize("where", ["first", "confirmation"])
def test_ctrl_d_and_ctrl_c_leave_with_one_chinese_line(
    isolated, snapshot, control, message, code, where
):
    check = snapshot()
    child = _spawn(["register", "--phone", "13800000000", "--matter", "办证难"], isolated)
    child.expect("反映人姓名")
    if where == "confirmation":
        child.sendline("张三")
        for question in ("身份证号", "受阻部门", "受理渠道", "受理时间", "分类"):
            child.expect(question)
            child.sendline("")
        child.expect("确认保存")
    child.sendcontrol(control)
    out, status = _finish(child)
    assert status == code, out
    tail = [line for line in out.replace("\r", "").splitlines() if line.strip()][-1]
    assert tail == message, out
    assert "Traceback" not in out and "内部错误" not in out and "Aborted" not in out
    check()
