"""Direct edits of every table the record is made of (with sqlite3, as someone with the
file could): each must make `bbc verify` exit 5 naming the place, and a command must
refuse to act on a case whose row disagrees with its history (issue 13)."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from pathlib import Path

import pytest

from banbucheng.cli import app
from banbucheng.core.timeutil import BEIJING
from banbucheng.schema.chain import GENESIS, event_hash, event_mac

BROKEN, TAMPERED = 5, 7


def sql(db: Path, statement: str, *params: object) -> list[tuple]:
    con = sqlite3.connect(db)
    try:
        rows = con.execute(statement, params).fetchall()
        con.commit()
        return rows
    finally:
        con.close()


@pytest.fixture
def store(bbc, isolated) -> dict[str, str]:
    """Li Haiqing's case received days before it was registered, dispatched with a
    helper, escalated and extended; Ms Huo's closed with a mechanism and visited; a
    calendar entry, a year declared complete and a policy setting."""
    li = bbc(
        "register", "--name", "李海清", "--phone", "13900001111", "--matter", "社保卡未年检",
        "--category", "应办未办", "--subtype", "很难办", "--at", "2021-04-01 09:00",
        now="2021-04-06 14:20",
    ).stdout.strip()  # fmt: skip
    bbc("dispatch", li, "--unit", "省农保中心", "--helper", "社保窗口", "--days", "1",
        now="2021-04-06 15:00")  # fmt: skip
    bbc("escalate", li, "--reason", "涉及省级单位", now="2021-04-06 15:10")
    bbc("extend", li, "--to", "2021-04-15", "--reason", "等省里", "--approver", "主任",
        now="2021-04-07 09:00")  # fmt: skip
    huo = bbc(
        "register", "--name", "霍某某", "--phone", "13712341111", "--matter", "诊所两证",
        "--category", "应办未办", "--subtype", "不作为", "--channel", "线上",
        now="2021-04-07 09:30",
    ).stdout.strip()  # fmt: skip
    bbc("dispatch", huo, "--unit", "中心综合协调科", now="2021-04-07 10:00")
    bbc("refer", huo, "--reason", "索要好处", now="2021-04-07 10:30")
    bbc("close", huo, "--result", "中心出具证明", "--mechanism", "窗口核实后出具证明",
        now="2021-04-08 11:00")  # fmt: skip
    bbc("visit", huo, "--satisfaction", "满意", now="2021-04-09 10:00")
    bbc("calendar", "add", "--holiday", "2027-02-20", "--source", "国办发明电〔2026〕1号",
        now="2021-04-09 11:00")  # fmt: skip
    bbc("config", "set", "limit.hard", "10", now="2021-04-09 11:00")
    bbc("units", "add", "省农保中心", "--contact", "张科长", now="2021-04-09 11:05")
    assert bbc.json("verify")["ok"] is True
    return {"li": li, "huo": huo}


def found(bbc, *args: str) -> list[dict]:
    report = bbc.json("verify", "--full", *args, code=BROKEN)
    assert report["ok"] is False
    return report["problems"]


def case_id(db: Path, number: str) -> int:
    return sql(db, "SELECT id FROM cases WHERE number = ?", number)[0][0]


# ---------------------------------------------------------------- cases


CASE_EDITS = [
    # The nine the hostile tester's edits slipped through (issue 13), first.
    ("li", "received_at", "2021-04-20 09:00:00.000000", "受理时间"),
    ("li", "clock_start", "2021-04-20 09:00:00.000000", "起算时间"),
    ("li", "dispatched_at", "2021-04-02 09:00:00.000000", "派单时间"),
    ("huo", "result", "中心未出具证明", "办理结果"),
    ("li", "matter", "别的事项", "反映事项"),
    ("li", "registered_by", "窗口乙", "登记人"),
    ("huo", "channel", "window", "渠道"),
    # And every other sealed column.
    ("li", "status", "closed", "状态"),
    ("li", "department", "别的窗口", "受阻部门"),
    ("li", "registered_at", "2021-04-05 14:20:00.000000", "登记时间"),
    ("li", "category", "impossible", "分类"),
    ("li", "subtype", None, "子类"),
    ("li", "limit_days", 15, "时限(工作日)"),
    ("li", "extension_days", 3, "延长(工作日)"),
    ("li", "due_fixed", "2021-04-30", "指定到期日"),
    ("li", "due_date", "2021-04-30", "到期日"),
    ("li", "due_at", "2021-04-30 17:30:00.000000", "期限"),
    ("li", "provisional", 1, "暂定"),
    ("li", "unit_due_at", None, "单位期限"),
    ("li", "escalated_at", None, "上报时间"),
    ("huo", "referred_at", None, "移交时间"),
    ("huo", "closed_at", "2021-04-07 11:00:00.000000", "办结时间"),
    ("huo", "outcome", "replied", "结果"),
    ("huo", "mechanism", "别的机制", "长效机制"),
    ("huo", "working_days_used", 4, "用时(工作日)"),
    ("huo", "on_time", 0, "按期"),
    ("huo", "closed_provisional", 1, "办结时期限为暂定"),
    ("huo", "satisfaction", "very_satisfied", "满意度"),
    ("huo", "visited_at", "2021-04-10 10:00:00.000000", "回访时间"),
    ("huo", "reopen_count", 2, "重办次数"),
    ("huo", "unit_id", 1, "主办单位"),
]


@pytest.mark.parametrize(("who", "column", "value", "label"), CASE_EDITS)
def test_every_column_of_a_case_is_sealed(bbc, store, isolated, who, column, value, label):
    sql(isolated, f"UPDATE cases SET {column} = ? WHERE number = ?", value, store[who])
    state = [p for p in found(bbc) if p["kind"] == "state"]
    assert state and {p["case"] for p in state} == {store[who]}, state
    assert any(f"「{label}」" in p["message"] for p in state), state
    assert all("被直接修改" in p["message"] for p in state)


def test_a_repeat_link_and_a_number_are_sealed(bbc, store, isolated):
    sql(isolated, "UPDATE cases SET repeat_of_id = 1 WHERE number = ?", store["huo"])
    assert any("「重复反映（前案）」" in p["message"] for p in found(bbc))
    sql(isolated, "UPDATE cases SET repeat_of_id = NULL WHERE number = ?", store["huo"])
    sql(isolated, "UPDATE cases SET number = 'BB20210407-009' WHERE number = ?", store["huo"])
    assert any("案件编号被改动" in p["message"] for p in found(bbc))


def test_helpers_inserted_or_deleted_are_named(bbc, store, isolated):
    li, huo = case_id(isolated, store["li"]), case_id(isolated, store["huo"])
    unit = sql(isolated, "SELECT id FROM units WHERE name = '社保窗口'")[0][0]
    sql(isolated, "INSERT INTO case_helpers (case_id, unit_id) VALUES (?, ?)", huo, unit)
    problems = found(bbc)
    assert [(p["case"], "「协办单位」" in p["message"]) for p in problems] == [(store["huo"], True)]
    sql(isolated, "DELETE FROM case_helpers")
    cases = {p["case"] for p in found(bbc) if "「协办单位」" in p["message"]}
    assert cases == {store["li"]}
    assert li


def test_inserted_and_deleted_cases_are_named(bbc, store, isolated):
    cols = [r[1] for r in sql(isolated, "PRAGMA table_info(cases)")]
    row = sql(isolated, "SELECT * FROM cases WHERE number = ?", store["li"])[0]
    values = dict(zip(cols, row, strict=True)) | {"id": 99, "number": "BB20210401-099"}
    marks = ", ".join("?" for _ in cols)
    sql(isolated, f"INSERT INTO cases ({', '.join(cols)}) VALUES ({marks})", *values.values())
    assert any(p["case"] == "BB20210401-099" and "直接插入" in p["message"] for p in found(bbc))
    sql(isolated, "DELETE FROM cases WHERE id = 99")
    huo = case_id(isolated, store["huo"])
    for table in ("events", "case_helpers", "citizen_keys", "case_terms", "mechanism_cases"):
        sql(isolated, f"DELETE FROM {table} WHERE case_id = ?", huo)
    sql(isolated, "DELETE FROM cases WHERE id = ?", huo)
    assert any(p["kind"] == "case_deleted" and p["case"] == store["huo"] for p in found(bbc))


def test_search_passes_over_a_case_deleted_alone(bbc, store, isolated):
    """Its row deleted by hand, its search terms left: search shows the rest and does
    not stop (verify names the deletion)."""
    sql(isolated, "DELETE FROM cases WHERE number = ?", store["huo"])
    shown = bbc.json("search", "诊所两证")
    assert store["huo"] not in json.dumps(shown, ensure_ascii=False)
    assert any(p["case"] == store["huo"] for p in found(bbc))


# ---------------------------------------------------------------- store-level tables


@pytest.mark.parametrize(
    ("statement", "words"),
    [
        ("UPDATE units SET name = '省农保' WHERE name = '省农保中心'", "单位「省农保」"),
        ("UPDATE units SET contact = '李科长' WHERE name = '省农保中心'", "单位「省农保中心」"),
        ("UPDATE units SET created_at = '2020-01-01 00:00:00.000000'", "被直接修改"),
        ("INSERT INTO units (name, contact, created_at) VALUES ('新', '', '2021-01-01')", "写入"),
        ("UPDATE settings SET value = '15' WHERE key = 'limit.hard'", "政策设置 limit.hard"),
        ("INSERT INTO settings (key, value) VALUES ('limit.unhandled', '9')", "直接写入"),
        ("INSERT INTO settings (key, value) VALUES ('anything', 'x')", "政策设置 anything"),
        ("DELETE FROM settings WHERE key = 'limit.hard'", "被直接删除"),
        ("UPDATE calendar_days SET workday = 1", "日历 2027-02-20"),
        ("UPDATE calendar_days SET source = '伪造'", "日历 2027-02-20"),
        ("INSERT INTO calendar_days VALUES ('2027-03-01', 0, '', 's', '甲', '2021-01-01')", "写入"),
        ("DELETE FROM calendar_days", "被直接删除"),
        ("INSERT INTO calendar_years VALUES (2030, 's', '甲', '2021-01-01')", "2030 年的完整确认"),
    ],
)  # fmt: skip
def test_units_settings_and_calendar_are_sealed(bbc, store, isolated, statement, words):
    sql(isolated, "PRAGMA foreign_keys = OFF")
    sql(isolated, statement)
    problems = found(bbc)
    assert any(words in p["message"] for p in problems), problems


def test_a_renumbered_unit_is_noticed(bbc, store, isolated):
    sql(isolated, "UPDATE units SET id = 77 WHERE name = '社保窗口'")
    sql(isolated, "UPDATE case_helpers SET unit_id = 77")
    assert any("单位「社保窗口」" in p["message"] for p in found(bbc))


# ---------------------------------------------------------------- events and anchors


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("detail", '{"after": {}, "before": {}, "text": "改过"}'),
        ("actor", "窗口乙"),
        ("at", "2021-04-05 11:00:00.000000"),
        ("action", "note"),
        ("case_id", 1),
        ("seq", 999),
        ("prev_hash", GENESIS),
        ("hash", "0" * 64),
        ("id", 9999),
    ],
)
def test_every_column_of_an_event_is_sealed(bbc, store, isolated, column, value):
    target = sql(
        isolated,
        "SELECT e.id FROM events e JOIN cases c ON c.id = e.case_id"
        " WHERE c.number = ? AND e.action = 'close'",
        store["huo"],
    )[0][0]
    sql(isolated, f"UPDATE events SET {column} = ? WHERE id = ?", value, target)
    assert found(bbc)


def test_inserted_and_deleted_events_are_named(bbc, store, isolated):
    sql(isolated, "DELETE FROM events WHERE seq = 2")
    assert any(p["kind"] == "deleted" for p in found(bbc))


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE chain_head SET seq = seq + 1",
        "UPDATE chain_head SET hash = 'x'",
        "UPDATE case_chain SET events = events + 1 WHERE case_id = 1",
        "UPDATE case_chain SET last_seq = 1 WHERE case_id = 1",
        "UPDATE case_chain SET last_hash = 'x' WHERE case_id = 1",
        "UPDATE case_chain SET number = 'BB1' WHERE case_id = 1",
        "DELETE FROM case_chain WHERE case_id = 1",
        "DELETE FROM chain_head",
    ],
)
def test_the_chain_anchors_are_checked(bbc, store, isolated, statement):
    sql(isolated, statement)
    assert found(bbc)


def test_the_recorded_verification_point_cannot_hide_an_edit(bbc, store, isolated):
    """The incremental run starts where the last clean one stopped; moving that point,
    or rewriting the history before it, is noticed."""
    sql(
        isolated,
        "UPDATE events SET hash = ? WHERE seq = (SELECT seq FROM chain_verified)",
        "0" * 64,
    )
    problems = bbc.json("verify", code=BROKEN)["problems"]
    assert any(p["kind"] == "rewritten" for p in problems), problems


# ---------------------------------------------------------------- consistent rewrites


def rewrite(db: Path, key: str | None = None, *, strip: bool = False) -> None:
    """What someone who read the code could do: change an event, recompute every hash and
    both anchors, and forget where verify got to; with the key, also every MAC."""
    con = sqlite3.connect(db)
    con.execute("UPDATE events SET actor = '窗口乙' WHERE action = 'visit'")
    numbers = dict(con.execute("SELECT id, number FROM cases"))
    prev, anchors = GENESIS, {}
    rows = con.execute(
        "SELECT id, case_id, at, actor, action, detail, seq FROM events ORDER BY seq"
    )
    for event, case, at, actor, action, detail, seq in rows.fetchall():
        moment = datetime.fromisoformat(at).replace(tzinfo=BEIJING)
        digest = event_hash(seq=seq, number=numbers.get(case, ""), at=moment, actor=actor,
                            action=action, detail=detail, prev_hash=prev)  # fmt: skip
        mac = event_mac(bytes.fromhex(key), digest) if key else None
        con.execute(
            "UPDATE events SET prev_hash = ?, hash = ?, mac = CASE WHEN ? THEN NULL ELSE"
            " coalesce(?, mac) END WHERE id = ?",
            (prev, digest, strip, mac, event),
        )
        if case is not None:
            anchors[case] = (anchors.get(case, (0,))[0] + 1, seq, digest)
        prev = digest
    con.execute("UPDATE chain_head SET hash = ?", (prev,))
    for case, (count, seq, digest) in anchors.items():
        con.execute(
            "UPDATE case_chain SET events = ?, last_seq = ?, last_hash = ? WHERE case_id = ?",
            (count, seq, digest, case),
        )
    con.execute("DELETE FROM chain_verified")
    con.commit()
    con.close()


def seal_key(db: Path) -> str:
    """The store's seal key, from its keyring outside the store (bbc key)."""
    from banbucheng.store import Store

    opened = Store(f"sqlite:///{db}")
    try:
        assert opened.seal_key is not None
        return opened.seal_key.hex()
    finally:
        opened.close()


@pytest.fixture
def keyless(bbc, tmp_path) -> None:
    """This machine without the store's key: the key folder is elsewhere."""
    bbc.monkeypatch.setenv("BBC_KEY_DIR", str(tmp_path / "other-keys"))


def test_without_a_key_only_an_outside_anchor_catches_a_rewrite(bbc, store, isolated, keyless):
    anchor = bbc.json("verify")["anchor"]
    rewrite(isolated)
    assert bbc.json("verify", "--full")["ok"] is True  # the honest limit, documented
    assert [p["kind"] for p in found(bbc, "--anchor", anchor)] == ["anchor"]


def test_with_the_key_every_new_event_is_sealed_and_a_rewrite_is_caught(bbc, store, isolated):
    # The key is made with the store's first case, so every event after it is sealed.
    macs = sql(isolated, "SELECT count(*), count(mac) FROM events")[0]
    assert macs[0] == macs[1] > 0
    assert bbc.json("verify", "--full")["sealed"] == "checked"
    rewrite(isolated)  # without the key: the MACs no longer match
    problems = found(bbc)
    assert {p["kind"] for p in problems} == {"mac"}
    assert "密钥封印不符" in problems[0]["message"]


def test_stripping_the_seals_is_caught(bbc, store, isolated):
    rewrite(isolated, strip=True)
    problems = found(bbc)
    assert [p["kind"] for p in problems] == ["unsealed"]
    assert "封印被全部去除" in problems[0]["message"]


def test_a_rewrite_with_the_key_is_the_documented_limit(bbc, store, isolated):
    anchor = bbc.json("verify")["anchor"]
    rewrite(isolated, seal_key(isolated))
    assert bbc.json("verify", "--full")["ok"] is True
    assert [p["kind"] for p in found(bbc, "--anchor", anchor)] == ["anchor"]


def test_without_the_key_sealed_events_are_said_to_be_unchecked(bbc, store, isolated, keyless):
    out = bbc("verify")
    assert "未核对封印" in out.stderr


# ---------------------------------------------------------------- acting on a forged row


def test_extend_refuses_to_compute_from_a_forged_start(bbc, store, isolated, snapshot):
    """The issue's example: a forged receipt and start, then `extend --days 1`."""
    sql(
        isolated,
        "UPDATE cases SET clock_start = ?, received_at = ? WHERE number = ?",
        "2021-04-20 09:00:00.000000",
        "2021-04-20 09:00:00.000000",
        store["li"],
    )
    check = snapshot()
    message = bbc.refused(
        "extend", store["li"], "--days", "1", "--reason", "再等", "--approver", "主任",
        now="2021-04-08 09:00", code=TAMPERED,
    )  # fmt: skip
    assert message == (
        f"错误：案件 {store['li']} 的记录与其历史不符（字段：受理时间、起算时间），"
        "请先运行 bbc verify 查明，不能在被改动的记录上继续办理"
    )
    for action in (("note", store["li"], "x"), ("close", store["li"], "--result", "x")):
        assert "记录与其历史不符" in bbc.refused(*action, code=TAMPERED)
    check()
    bbc("note", store["huo"], "别的案件照常办理")  # only the forged case is refused


def test_a_helper_added_behind_the_tools_back_stops_the_case(bbc, store, isolated):
    unit = sql(isolated, "SELECT id FROM units WHERE name = '中心综合协调科'")[0][0]
    sql(isolated, "INSERT INTO case_helpers VALUES (?, ?)", case_id(isolated, store["li"]), unit)
    assert "协办单位" in bbc.refused("escalate", store["li"], "--reason", "x", code=TAMPERED)


# SQLite keeps any type in any column: values no command can read as their field's.
UNREADABLE_EDITS = [
    ("closed_at", "x'00'", "办结时间"),
    ("closed_at", "'昨天下午'", "办结时间"),
    ("received_at", "12345", "受理时间"),
    ("due_date", "x'00'", "到期日"),
    ("due_date", "'2021-13-45'", "到期日"),
    ("status", "'bogus'", "状态"),
    ("citizen_mask", "x'00'", "反映人"),
    ("matter", "CAST(x'ff' AS TEXT)", None),  # not UTF-8: found, not placed
]


@pytest.mark.parametrize(("column", "value", "label"), UNREADABLE_EDITS)
def test_a_value_no_command_can_read_is_named_as_an_edit(
    bbc, store, isolated, snapshot, column, value, label
):
    """Not 内部错误 (exit 70) from wherever the value first breaks something (the
    database library, a label looked up, a table drawn): one line naming the case
    and the field, the same for every command that falls over it, pointing to verify."""
    sql(isolated, f"UPDATE cases SET {column} = {value} WHERE number = ?", store["huo"])
    check = snapshot()
    if label is None:
        wanted = "错误：数据库中有无法读取的值（可能被直接改动），请运行 bbc verify 查看是哪一条"
    else:
        wanted = (
            f"错误：数据库中有无法读取的值：案件 {store['huo']} 的「{label}」"
            "（可能被直接改动），请运行 bbc verify 查看"
        )
    assert bbc.refused("list", "--json", code=TAMPERED) == wanted
    for command in (("list",), ("list", "--all", "--csv"), ("show", store["huo"])):
        result = bbc.runner.invoke(app, list(command))
        # A command that reads the field shows what it holds, or stops so, never 70.
        assert result.exit_code in (0, TAMPERED), (command, result.stderr)
        if result.exit_code:
            assert result.stderr.strip() == wanted, command
    check()
    assert any(p["case"] == store["huo"] for p in found(bbc))


def test_a_real_bug_is_still_an_internal_error(bbc, store, monkeypatch):
    """Only a store that holds such values turns an unexpected failure into exit 7."""
    from banbucheng.domain import queries

    def broken(*args: object, **kwargs: object) -> None:
        raise KeyError("a bug")

    monkeypatch.setattr(queries, "list_cases", broken)
    message = bbc.refused("list", code=70)
    assert message.startswith("内部错误（KeyError）")


# ---------------------------------------------------------------- incremental


def test_incremental_runs_walk_only_new_events(bbc, store, isolated):
    full = bbc.json("verify", "--full")
    assert full["walked"] == full["events"] and full["checked_from"] == 0
    again = bbc.json("verify")
    assert again["checked_from"] == full["head"]["seq"] and again["walked"] == 0
    bbc("note", store["li"], "新进展")
    later = bbc.json("verify")
    assert later["walked"] == 1 and later["events"] == full["events"] + 1
    # A row edited long after its events were verified is still found.
    sql(isolated, "UPDATE cases SET matter = '改' WHERE number = ?", store["huo"])
    assert any("「反映事项」" in p["message"] for p in bbc.json("verify", code=BROKEN)["problems"])
