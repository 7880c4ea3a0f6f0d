"""Every command through typer's CliRunner: the lifecycle, the JSON contract, refusals."""

from __future__ import annotations

import json

import pytest
from cases import HUO_REGISTER

from banbucheng.cli import app

HUO = [*HUO_REGISTER, "--at", "2021-04-01 09:30"]
ID_BAD = "110105194912310021"  # the standard's sample with a wrong check digit
CASE_KEYS = {
    "number",
    "status",
    "category",
    "subtype",
    "unit",
    "received_at",
    "due_date",
    "due_at",
    "provisional",
    "closed_at",
    "working_days_used",
    "on_time",
    "overdue",
}


def test_ms_huo_end_to_end(bbc):
    case = bbc.json(*HUO, "--category", "应办未办", now="2021-04-01 09:31")
    number = case["number"]
    assert number == "BB20210401-001"
    assert case.keys() >= CASE_KEYS
    assert case["status"] == "classified"
    assert case["category"] == "unhandled"
    assert case["due_date"] == "2021-04-09"  # 04-02, 06, 07, 08, 09: Qingming 03..05 skipped
    assert case["due_at"] == "2021-04-09T17:30:00+08:00"
    assert case["provisional"] is False
    assert case["citizen"] == "霍*某" and case["phone"] == "137****1111"

    out = bbc("dispatch", number, "--unit", "中心综合协调科", "--helper", "市场监管窗口")
    assert "中心综合协调科" in out.stdout
    assert "新单位「中心综合协调科」已加入单位名录" in out.stderr
    bbc("note", number, "核实为同一诊所", now="2021-04-02 16:00")
    closed = bbc.json(
        "close",
        number,
        "--result",
        "中心出具证明",
        "--at",
        "2021-04-06 11:00",
        "--mechanism",
        "窗口核实后直接出具证明",
        now="2021-04-06 12:00",
    )
    assert closed["status"] == "closed"
    assert closed["working_days_used"] == 2
    assert closed["on_time"] is True
    assert closed["outcome"] == "resolved"
    assert closed["closed_at"] == "2021-04-06T11:00:00+08:00"
    bbc("visit", number, "--satisfaction", "非常满意", now="2021-04-07 10:00")

    shown = bbc.json("show", number, now="2021-04-08 09:00")
    assert shown["satisfaction"] == "very_satisfied"
    assert shown["mechanism"] == "窗口核实后直接出具证明"
    assert [e["action"] for e in shown["events"]] == [
        "register",
        "classify",
        "dispatch",
        "note",
        "close",
        "visit",
    ]
    dispatch_event = shown["events"][2]
    assert dispatch_event["actor"] == "窗口甲"
    assert dispatch_event["before"]["status"] == "classified"
    assert dispatch_event["after"]["status"] == "dispatched"
    assert dispatch_event["after"]["unit"] == "中心综合协调科"
    assert dispatch_event["after"]["helpers"] == ["市场监管窗口"]
    # The timeline never holds personal data in clear.
    assert "13712341111" not in json.dumps(shown["events"], ensure_ascii=False)


def test_li_haiqing_escalated_to_external_unit(bbc):
    number = bbc(
        "register",
        "--name",
        "李海清",
        "--phone",
        "13900001111",
        "--matter",
        "社保卡自2016年起未年检，养老金停发四年",
        "--category",
        "unhandled",
        "--subtype",
        "很难办",
        now="2021-04-06 14:20",
    ).stdout.strip()
    bbc("dispatch", number, "--unit", "省农保中心")
    bbc("escalate", number, "--reason", "涉及省级单位，需中心领导协调", now="2021-04-06 15:00")
    case = bbc.json("show", number, now="2021-04-07 09:00")
    assert case["subtype"] == "hard"
    assert case["unit"] == "省农保中心"
    assert case["due_date"] == "2021-04-13"
    assert case["escalated_at"] == "2021-04-06T15:00:00+08:00"
    assert case["days_left"] == 4  # 04-08, 09, 12, 13
    late = bbc.json("overdue", now="2021-04-14 09:00", code=4)
    assert [c["number"] for c in late] == [number]
    assert late[0]["days_overdue"] == 1
    assert late[0]["citizen"] == "李*清"


def test_registration_on_a_weekend_and_after_hours(bbc):
    base = [
        "--name",
        "张三",
        "--phone",
        "13800000000",
        "--matter",
        "事项",
        "--category",
        "完全不能",
    ]
    # Saturday 2026-11-07 + 3 working days: Wednesday 11-11 (the start day is not counted).
    sat = bbc.json("register", *base, "--at", "2026-11-07 10:00", now="2026-11-08 09:00")
    assert sat["due_date"] == "2026-11-11"
    late = bbc.json("register", *base, "--at", "2026-11-27 23:50", now="2026-11-27 23:55")
    assert late["due_date"] == "2026-12-02"
    # A time with an offset is converted to Beijing time first: 20:00 in New York on the
    # 26th is 09:00 on the 27th in Beijing.
    ny = bbc.json("register", *base, "--at", "2026-11-26T20:00-05:00", now="2026-11-27 10:00")
    assert ny["received_at"] == "2026-11-27T09:00:00+08:00"
    assert ny["due_date"] == "2026-12-02"


def test_deadline_in_uncovered_year_is_provisional_and_recomputed(bbc):
    case = bbc.json(
        "register",
        "--name",
        "王五",
        "--phone",
        "13800000000",
        "--matter",
        "年底事项",
        "--category",
        "应办未办",
        now="2026-12-28 10:00",
    )
    assert case["provisional"] is True
    assert case["due_date"] == "2027-01-05"  # 12-29..31, then 01-01 (元旦) skipped, 01-04, 01-05
    number = case["number"]
    # The center enters the 2027 schedule itself (say New Year were 01-01..01-04, and
    # that were the whole notice).
    out = bbc(
        "calendar",
        "add",
        "--holiday",
        "2027-01-01..2027-01-04",
        "--name",
        "元旦",
        "--source",
        "测试通知",
        "--complete",
    )
    assert "1 件案件的期限已按新日历重算" in out.stdout
    again = bbc.json("show", number)
    assert again["provisional"] is False
    assert again["due_date"] == "2027-01-06"
    assert again["events"][-1]["action"] == "recompute"
    assert again["events"][-1]["before"]["due_date"] == "2027-01-05"


def test_provisional_notice_on_stderr(bbc):
    result = bbc(
        "register",
        "--name",
        "王五",
        "--phone",
        "13800000000",
        "--matter",
        "年底事项",
        "--category",
        "应办未办",
        now="2026-12-30 10:00",
    )
    assert "暂定" in result.stderr


def _registered(bbc, now="2026-11-23 09:00", **extra):
    args = ["register", "--name", "赵六", "--phone", "13800000000", "--matter", "办证难"]
    for key, value in extra.items():
        args += [f"--{key}", value]
    return bbc(*args, now=now).stdout.strip()


def test_wrong_steps_are_refused_and_change_nothing(bbc, snapshot):
    number = _registered(bbc)
    check = snapshot()
    assert "请先分类" in bbc.refused("dispatch", number, "--unit", "某局")
    assert "不能办结" in bbc.refused("close", number, "--result", "x")
    assert "没有编号为 BB19990101-001 的案件" in bbc.refused("show", "BB19990101-001")
    assert "不能回访" in bbc.refused("visit", number, "--satisfaction", "满意")
    check()
    bbc("classify", number, "--category", "应办未办")
    bbc("close", number, "--result", "已办", now="2026-11-24 09:00")
    check = snapshot()
    assert "已办结" in bbc.refused("close", number, "--result", "again")
    assert "不能延期" in bbc.refused(
        "extend", number, "--days", "2", "--reason", "r", "--approver", "a"
    )
    bbc("visit", number, "--satisfaction", "满意", now="2026-11-25 09:00")
    check = snapshot()
    assert "已回访" in bbc.refused("visit", number, "--satisfaction", "满意")
    check()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--phone", "12345", "--matter", "m", "--name", "n"], "手机号"),
        (["--phone", "13800000000", "--matter", "m", "--name", "  "], "姓名"),
        (["--phone", "13800000000", "--matter", "", "--name", "n"], "反映事项"),
        (["--phone", "13800000000", "--name", "n"], "缺少：反映事项（--matter）"),
        (["--phone", "13800000000", "--matter", "m", "--name", "n", "--at", "2021-02-30"], "时间"),
        (["--phone", "13800000000", "--matter", "m", "--name", "n", "--at", "2099-01-01"], "晚于"),
        (
            [
                "--phone",
                "13800000000",
                "--matter",
                "m",
                "--name",
                "n",
                "--id-number",
                "110105194912310021",
            ],
            "校验位",
        ),
        (["--phone", "13800000000", "--matter", "m", "--name", "n", "--category", "x"], "分类"),
        (["--phone", "13800000000", "--matter", "m", "--name", "n", "--channel", "x"], "渠道"),
    ],
)
def test_register_refuses_bad_input(bbc, snapshot, args, message):
    _registered(bbc)  # the store exists and holds one case
    check = snapshot()
    assert message in bbc.refused("register", *args, now="2026-11-27 10:00")
    check()


def test_refusals_never_echo_personal_data(bbc):
    message = bbc.refused(
        "register", "--name", "n", "--matter", "m", "--phone", "1371234567", now="2026-11-27"
    )
    assert "1371234567" not in message


def test_extend_before_and_after_deadline(bbc):
    number = _registered(bbc, category="应办未办", now="2026-11-23 09:00")  # due 11-30
    case = bbc.json(
        "extend",
        number,
        "--days",
        "3",
        "--reason",
        "待回函",
        "--approver",
        "王主任",
        now="2026-11-27 10:00",
    )
    assert case["due_date"] == "2026-12-03"
    case = bbc.json(
        "extend", number, "--to", "2026-12-07", "--reason", "r", "--approver", "a", now="2026-11-27"
    )
    assert case["due_date"] == "2026-12-07"
    assert "不是工作日" in bbc.refused(
        "extend", number, "--to", "2026-12-12", "--reason", "r", "--approver", "a"
    )
    # After the deadline: refused unless forced, and then recorded as such.
    assert "延期须在到期前申请" in bbc.refused(
        "extend", number, "--days", "1", "--reason", "r", "--approver", "a", now="2026-12-08 09:00"
    )
    case = bbc.json(
        "extend",
        number,
        "--days",
        "1",
        "--reason",
        "r",
        "--approver",
        "a",
        "--force",
        now="2026-12-08 09:00",
    )
    assert case["due_date"] == "2026-12-08"
    events = bbc.json("show", number)["events"]
    assert events[-1]["after"]["after_deadline"] is True
    assert events[-1]["after"]["approver"] == "a"


def test_refer_needs_misconduct(bbc):
    number = _registered(bbc, category="应办未办")
    assert "不作为" in bbc.refused("refer", number, "--reason", "索要好处")
    bbc("classify", number, "--subtype", "吃拿卡要")
    bbc("refer", number, "--reason", "窗口人员索要好处费", now="2026-11-24 09:00")
    case = bbc.json("show", number)
    assert case["subtype"] == "misconduct"
    assert case["referred_at"] == "2026-11-24T09:00:00+08:00"


def test_reopen_restarts_the_clock(bbc):
    number = _registered(bbc, category="完全不能", now="2026-11-23 09:00")
    bbc("close", number, "--result", "已书面答复", now="2026-11-24 09:00")
    bbc("visit", number, "--satisfaction", "不满意", now="2026-11-25 09:00")
    case = bbc.json("reopen", number, "--reason", "群众不认可答复", now="2026-11-26 10:00")
    assert case["status"] == "classified"
    assert case["closed_at"] is None and case["satisfaction"] is None
    assert case["reopen_count"] == 1
    assert case["due_date"] == "2026-12-01"  # three working days after 11-26
    assert case["outcome"] is None


def test_dispatch_unit_deadline_and_similar_unit_notice(bbc):
    number = _registered(bbc, category="应办未办", now="2026-11-23 09:00")  # due 11-30
    bbc("units", "add", "市场监督管理局", "--contact", "李科长 0571-87654321")
    out = bbc("dispatch", number, "--unit", "市场监管局", "--days", "2", now="2026-11-23 10:00")
    assert "相似的已有单位：市场监督管理局" in out.stderr
    case = bbc.json("show", number)
    assert case["unit_due_at"] == "2026-11-25T17:30:00+08:00"
    assert "不能晚于案件期限" in bbc.refused(
        "dispatch", number, "--unit", "x", "--due", "2026-12-01"
    )
    units = bbc.json("units", "list")
    assert {u["name"] for u in units} == {"市场监督管理局", "市场监管局"}
    assert next(u for u in units if u["name"] == "市场监管局")["open"] == 1


def test_list_filters_and_masking(bbc):
    a = _registered(bbc, category="应办未办", now="2026-11-02 09:00")
    b = _registered(bbc, category="完全不能", now="2026-11-10 09:00")
    c = _registered(bbc, now="2026-11-20 09:00")
    bbc("dispatch", a, "--unit", "人社局", now="2026-11-20 10:00")
    assert [r["number"] for r in bbc.json("list")] == [a, b, c]
    assert [r["number"] for r in bbc.json("list", "--category", "完全不能")] == [b]
    assert [r["number"] for r in bbc.json("list", "--status", "待分类")] == [c]
    assert [r["number"] for r in bbc.json("list", "--unit", "人社局")] == [a]
    assert [
        r["number"] for r in bbc.json("list", "--from", "2026-11-05", "--to", "2026-11-10")
    ] == [b]
    rows = bbc.json("list")
    assert all(r["citizen"] == "赵*" and r["phone"] == "138****0000" for r in rows)
    assert "13800000000" not in bbc("list").stdout
    assert "没有「不存在的单位」" in bbc.refused("list", "--unit", "不存在的单位")
    # a unit typed that may be a person's name is not repeated back whole
    assert "没有「欧**华」" in bbc.refused("list", "--unit", "欧阳明华")
    assert "未知的状态" in bbc.refused("list", "--status", "foo")


def test_show_reveal(bbc):
    number = _registered(bbc, **{"id-number": "11010519491231002X"})
    masked = bbc.json("show", number)
    assert masked["id_number"] == "110105********002X"
    revealed = bbc.json("show", number, "--reveal")
    assert revealed["phone"] == "13800000000"
    assert revealed["id_number"] == "11010519491231002X"
    assert revealed["citizen"] == "赵六"


def test_daily_report(bbc):
    a = _registered(bbc, category="应办未办", now="2026-11-20 09:00")  # due 11-27 17:30
    _registered(bbc, category="完全不能", now="2026-11-27 09:00")
    _registered(bbc, now="2026-11-27 10:00")
    b = _registered(bbc, category="应办未办", now="2026-11-24 09:00")
    bbc("close", b, "--result", "ok", now="2026-11-27 11:00")
    bbc("escalate", a, "--reason", "协调", now="2026-11-27 12:00")
    report = bbc.json("daily-report", now="2026-11-27 18:00")
    assert report["date"] == "2026-11-27"
    assert report["registered"] == 2
    assert report["by_category"] == {"unhandled": 0, "impossible": 1, "unclassified": 1}
    assert report["closed"] == 1 and report["closed_on_time"] == 1
    assert report["open"] == 3
    assert report["overdue"] == 1  # a: due 17:30 today
    assert report["escalated"] == 1 and report["total"] == 4
    # A past day is reported as it stood at the end of that day.
    past = bbc.json("daily-report", "--date", "2026-11-24", now="2026-11-27 18:00")
    assert past["registered"] == 1 and past["open"] == 2 and past["overdue"] == 0
    text = bbc("daily-report", now="2026-11-27 18:00").stdout
    assert "每日汇总" in text and "13800000000" not in text


def test_config_changes_the_next_deadline_only(bbc):
    first = _registered(bbc, category="应办未办", now="2026-11-23 09:00")
    bbc("config", "set", "limit.unhandled", "7")
    bbc("config", "set", "closing_time", "18:00")
    second = bbc.json(
        "register", "--name", "n", "--phone", "13800000000", "--matter", "m",
        "--category", "应办未办", now="2026-11-23 09:00",
    )  # fmt: skip
    assert second["due_at"] == "2026-12-02T18:00:00+08:00"
    assert bbc.json("show", first)["due_date"] == "2026-11-30"
    settings = {r["key"]: r["value"] for r in bbc.json("config", "show")}
    assert settings["limit.unhandled"] == "7" and settings["limit.impossible"] == "3"
    assert "1到60" in bbc.refused("config", "set", "limit.unhandled", "0")
    assert "未知的设置项" in bbc.refused("config", "set", "nope", "1")


def test_calendar_commands(bbc):
    info = bbc.json("calendar", "show", "2026")
    days = {d["date"]: d for d in info["days"]}
    assert days["2026-02-14"]["workday"] is True  # Saturday, Spring Festival make-up day
    assert days["2026-10-07"]["workday"] is False
    assert info["coverage"] == "package"
    assert bbc.json("calendar", "show", "2027")["covered"] is False
    bbc("calendar", "is-workday", "2026-09-20")  # Sunday, but a make-up working day
    bbc("calendar", "is-workday", "2026-10-01", code=1)
    out = bbc("calendar", "is-workday", "2027-03-01")
    assert "尚未载入" in out.stderr
    assert "不能既是" in bbc.refused(
        "calendar", "add", "--holiday", "2027-02-20", "--workday", "2027-02-20", "--source", "s"
    )
    assert "缺少依据" in bbc.refused("calendar", "add", "--holiday", "2027-02-20")
    bbc("calendar", "add", "--workday", "2027-02-20", "--source", "s")
    bbc("calendar", "is-workday", "2027-02-20")
    bbc("calendar", "remove", "2027-02-20")
    bbc("calendar", "is-workday", "2027-02-20", code=1)


def test_demo_and_every_command_has_help(bbc, tmp_path):
    out = bbc("demo", "--db", str(tmp_path / "demo.sqlite3"))
    assert "BB20210401-001" in out.stdout and "每日汇总" in out.stdout
    assert "演示只能载入空的数据库" in bbc.refused("demo", "--db", str(tmp_path / "demo.sqlite3"))
    for name, command in _commands(app):
        assert command.help, f"{name} has no help"
        assert "例：" in command.help, f"{name} has no example"


def _commands(typer_app, prefix=""):
    import typer.main

    group = typer.main.get_command(typer_app)
    stack = [(prefix, group)]
    while stack:
        path, cmd = stack.pop()
        sub = getattr(cmd, "commands", None)
        if sub:
            stack.extend((f"{path} {n}".strip(), c) for n, c in sub.items())
        else:
            yield path, cmd


def test_unknown_store_url_is_a_clear_error(bbc):
    message = bbc.refused("--db", "nosuchdriver://x/y", "list", code=3)
    assert "无法打开数据库" in message
