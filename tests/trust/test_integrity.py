"""The tamper-evident history: `bbc verify` after edits, deletions and insertions made
behind the tool's back (with sqlite3, as someone with the file could), and the
upgrade that seals a 0.1.0 store's history."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from banbucheng.core.timeutil import BEIJING
from banbucheng.schema.chain import GENESIS, event_hash
from banbucheng.schema.migrations import MIGRATIONS

V010 = Path(__file__).parents[1] / "data" / "store-v0.1.0.sqlite3"
BROKEN = 5


@pytest.fixture
def cases(bbc) -> dict[str, str]:
    """Three cases with several events each: Ms Huo's (closed), Li Haiqing's
    (escalated) and a third one registered last."""
    huo = bbc(
        "register",
        "--name",
        "霍某某",
        "--phone",
        "13712341111",
        "--matter",
        "诊所两证名称不一致",
        "--category",
        "应办未办",
        now="2021-04-01 09:30",
    ).stdout.strip()
    bbc("dispatch", huo, "--unit", "中心综合协调科", now="2021-04-01 10:00")
    bbc("note", huo, "核实为同一诊所", now="2021-04-02 16:00")
    li = bbc(
        "register",
        "--name",
        "李海清",
        "--phone",
        "13900001111",
        "--matter",
        "社保卡未年检",
        "--category",
        "应办未办",
        "--subtype",
        "很难办",
        "--id-number",
        "11010519491231002X",
        now="2021-04-06 14:20",
    ).stdout.strip()
    bbc("close", huo, "--result", "中心出具证明", now="2021-04-06 11:00")
    bbc("dispatch", li, "--unit", "省农保中心", now="2021-04-06 15:00")
    bbc("escalate", li, "--reason", "涉及省级单位", now="2021-04-06 15:00")
    third = bbc(
        "register",
        "--name",
        "王五",
        "--phone",
        "13800000000",
        "--matter",
        "第三件",
        "--category",
        "完全不能",
        now="2021-04-07 09:00",
    ).stdout.strip()
    return {"huo": huo, "li": li, "third": third}


def sql(db: Path, statement: str, *params: object) -> list[tuple]:
    con = sqlite3.connect(db)
    try:
        rows = con.execute(statement, params).fetchall()
        con.commit()
        return rows
    finally:
        con.close()


def event_id(db: Path, number: str, action: str) -> int:
    rows = sql(
        db,
        "SELECT e.id FROM events e JOIN cases c ON c.id = e.case_id"
        " WHERE c.number = ? AND e.action = ? ORDER BY e.id",
        number,
        action,
    )
    return rows[-1][0]


def problems(bbc) -> list[dict]:
    report = bbc.json("verify", code=BROKEN)
    assert report["ok"] is False
    return report["problems"]


def test_untouched_history_verifies(bbc, cases, isolated):
    report = bbc.json("verify")
    assert report["ok"] is True and report["problems"] == []
    assert report["events"] == 13 and report["cases"] == 3
    seq, digest = report["anchor"].split(":")
    assert int(seq) == 13 and report["head"]["hash"].startswith(digest) and len(digest) == 16
    out = bbc("verify")
    assert "事件链完整：13 条事件、3 件案件" in out.stdout and report["anchor"] in out.stdout
    # One chain through every case, in the order the events were written.
    rows = sql(isolated, "SELECT id, seq, prev_hash, hash FROM events ORDER BY seq")
    assert [r[1] for r in rows] == list(range(1, 14))
    assert [r[0] for r in rows] == sorted(r[0] for r in rows)
    assert rows[0][2] == GENESIS
    assert all(rows[i][2] == rows[i - 1][3] for i in range(1, len(rows)))


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("detail", '{"after": {}, "before": {}, "text": "中心未出具任何证明"}'),
        ("actor", "窗口乙"),
        ("at", "2021-04-05 11:00:00.000000"),
        ("action", "note"),
        ("case_id", 2),
    ],
)
def test_an_edited_event_is_named(bbc, cases, isolated, column, value):
    target = event_id(isolated, cases["huo"], "close")
    sql(isolated, f"UPDATE events SET {column} = ? WHERE id = ?", value, target)
    found = problems(bbc)
    edited = [p for p in found if p["kind"] == "edited" and p["event"] == target]
    assert edited, found
    assert "被修改" in edited[0]["message"]
    out = bbc("verify", code=BROKEN)
    assert f"事件 #{target}" in out.stdout
    assert "校验未通过" in out.stderr


def test_edited_event_names_case_and_event_in_plain_output(bbc, cases, isolated):
    target = event_id(isolated, cases["huo"], "note")
    sql(isolated, "UPDATE events SET detail = replace(detail, '同一', '不同') WHERE id = ?", target)
    out = bbc("verify", code=BROKEN)
    line = next(x for x in out.stdout.splitlines() if "被修改" in x)
    assert line.startswith(f"案件 {cases['huo']}，事件 #{target}（反馈，2021-04-02 16:00）")


def test_a_deleted_event_in_the_middle_is_named(bbc, cases, isolated):
    target = event_id(isolated, cases["huo"], "note")
    sql(isolated, "DELETE FROM events WHERE id = ?", target)
    found = problems(bbc)
    kinds = {(p["kind"], p["case"]) for p in found}
    assert ("deleted", cases["huo"]) in kinds  # per case: 应有 N 条，现有 N-1 条
    gap = [p for p in found if p["kind"] == "deleted" and p["event"] is not None]
    assert gap and "被删除" in gap[0]["message"]
    assert any("应有 5 条事件，现有 4 条" in p["message"] for p in found)


def test_deleting_the_last_event_of_the_store_is_noticed(bbc, cases, isolated):
    last = sql(isolated, "SELECT max(id) FROM events")[0][0]
    sql(isolated, "DELETE FROM events WHERE id = ?", last)
    found = problems(bbc)
    assert any("末尾缺少第 13 条事件" in p["message"] for p in found), found
    assert any(p["case"] == cases["third"] and p["kind"] == "deleted" for p in found)


def test_deleting_the_last_event_of_a_case_is_noticed(bbc, cases, isolated):
    # Li's escalation is his last event, but not the store's last.
    target = event_id(isolated, cases["li"], "escalate")
    sql(isolated, "DELETE FROM events WHERE id = ?", target)
    found = problems(bbc)
    assert any(p["case"] == cases["li"] and "被删除" in p["message"] for p in found), found


def test_deleting_a_whole_case_is_noticed_and_named(bbc, cases, isolated):
    case_id = sql(isolated, "SELECT id FROM cases WHERE number = ?", cases["li"])[0][0]
    for table in ("events", "case_helpers"):
        sql(isolated, f"DELETE FROM {table} WHERE case_id = ?", case_id)
    sql(isolated, "DELETE FROM cases WHERE id = ?", case_id)
    found = problems(bbc)
    gone = [p for p in found if p["kind"] == "case_deleted"]
    assert gone and gone[0]["case"] == cases["li"], found
    assert "已被删除" in gone[0]["message"]


def test_an_inserted_event_is_named(bbc, cases, isolated):
    case_id = sql(isolated, "SELECT id FROM cases WHERE number = ?", cases["huo"])[0][0]
    sql(
        isolated,
        "INSERT INTO events (case_id, at, actor, action, detail) VALUES (?, ?, ?, ?, ?)",
        case_id,
        "2021-04-03 09:00:00.000000",
        "窗口甲",
        "note",
        '{"after": {}, "before": {}, "text": "补记一条"}',
    )
    new_id = sql(isolated, "SELECT max(id) FROM events")[0][0]
    found = problems(bbc)
    inserted = [p for p in found if p["kind"] == "inserted" and p["event"] == new_id]
    assert inserted and inserted[0]["case"] == cases["huo"], found
    assert "直接插入" in inserted[0]["message"]


def test_an_inserted_event_with_a_forged_hash_is_noticed(bbc, cases, isolated):
    """Someone who computes a valid-looking hash for a new last event still leaves the
    anchors behind."""
    case_id = sql(isolated, "SELECT id FROM cases WHERE number = ?", cases["huo"])[0][0]
    seq, prev = sql(isolated, "SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1")[0]
    from datetime import datetime

    at = datetime(2021, 4, 8, 9, 0, tzinfo=BEIJING)
    detail = '{"after": {}, "before": {}, "text": "补记"}'
    digest = event_hash(
        seq=seq + 1,
        number=cases["huo"],
        at=at,
        actor="窗口甲",
        action="note",
        detail=detail,
        prev_hash=prev,
    )
    sql(
        isolated,
        "INSERT INTO events (case_id, at, actor, action, detail, seq, prev_hash, hash)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        case_id,
        "2021-04-08 09:00:00.000000",
        "窗口甲",
        "note",
        detail,
        seq + 1,
        prev,
        digest,
    )
    found = problems(bbc)
    assert any("末尾有事件是插入的" in p["message"] for p in found), found
    assert any(p["case"] == cases["huo"] and "是插入的" in p["message"] for p in found)


def test_a_case_inserted_directly_is_noticed(bbc, cases, isolated):
    row = sql(isolated, "SELECT * FROM cases WHERE number = ?", cases["third"])[0]
    cols = [r[1] for r in sql(isolated, "PRAGMA table_info(cases)")]
    values = dict(zip(cols, row, strict=True)) | {"id": 99, "number": "BB20210407-099"}
    marks = ", ".join("?" for _ in cols)
    sql(isolated, f"INSERT INTO cases ({', '.join(cols)}) VALUES ({marks})", *values.values())
    found = problems(bbc)
    assert any(p["case"] == "BB20210407-099" and "直接插入" in p["message"] for p in found)


@pytest.mark.parametrize(
    ("column", "value", "label"),
    [
        ("due_at", "2021-04-30 17:30:00.000000", "期限"),
        ("closed_at", "2021-04-02 11:00:00.000000", "办结时间"),
        ("status", "dispatched", "状态"),
        ("on_time", 0, "按期"),
    ],
)
def test_a_case_row_edited_behind_the_tools_back_is_named(
    bbc, cases, isolated, column, value, label
):
    sql(isolated, f"UPDATE cases SET {column} = ? WHERE number = ?", value, cases["huo"])
    found = problems(bbc)
    state = [p for p in found if p["kind"] == "state"]
    assert state and state[0]["case"] == cases["huo"], found
    assert f"「{label}」" in state[0]["message"] and "被直接修改" in state[0]["message"]


def test_a_changed_unit_is_noticed(bbc, cases, isolated):
    sql(
        isolated,
        "INSERT INTO units (name, contact, created_at) VALUES ('别的单位', '', '2021-01-01')",
    )
    other = sql(isolated, "SELECT id FROM units WHERE name = '别的单位'")[0][0]
    sql(isolated, "UPDATE cases SET unit_id = ? WHERE number = ?", other, cases["li"])
    found = problems(bbc)
    assert any(p["case"] == cases["li"] and "「主办单位」" in p["message"] for p in found)


def _rewrite_history(db: Path) -> None:
    """What someone who read integrity.py could do: change an event and recompute the
    whole chain and both anchors."""
    con = sqlite3.connect(db)
    con.execute("UPDATE events SET actor = '窗口乙' WHERE id = 3")
    numbers = dict(con.execute("SELECT id, number FROM cases"))
    prev, seq = GENESIS, 0
    anchors: dict[int, tuple[int, int, str]] = {}
    rows = con.execute("SELECT id, case_id, at, actor, action, detail FROM events ORDER BY seq")
    from datetime import datetime

    for event, case_id, at, actor, action, detail in rows.fetchall():
        seq += 1
        moment = datetime.fromisoformat(at).replace(tzinfo=BEIJING)
        digest = event_hash(
            seq=seq,
            number=numbers.get(case_id, ""),
            at=moment,
            actor=actor,
            action=action,
            detail=detail,
            prev_hash=prev,
        )
        con.execute(
            "UPDATE events SET seq = ?, prev_hash = ?, hash = ? WHERE id = ?",
            (seq, prev, digest, event),
        )
        if case_id is not None:
            count = anchors.get(case_id, (0, 0, ""))[0]
            anchors[case_id] = (count + 1, seq, digest)
        prev = digest
    con.execute("UPDATE chain_head SET seq = ?, hash = ?", (seq, prev))
    for case_id, (count, last, digest) in anchors.items():
        con.execute(
            "UPDATE case_chain SET events = ?, last_seq = ?, last_hash = ? WHERE case_id = ?",
            (count, last, digest, case_id),
        )
    con.execute("DELETE FROM chain_verified")  # where the last clean verify got to
    con.commit()
    con.close()


def test_only_an_outside_anchor_catches_a_full_rewrite(bbc, cases, isolated, tmp_path):
    anchor = bbc.json("verify")["anchor"]
    assert bbc.json("verify", "--anchor", anchor)["anchor_checked"] == anchor
    _rewrite_history(isolated)
    # With the store's key the rewrite breaks the keyed seals (test_tamper.py has more).
    assert {p["kind"] for p in bbc.json("verify", code=BROKEN)["problems"]} == {"mac"}
    bbc.monkeypatch.setenv("BBC_KEY_DIR", str(tmp_path / "elsewhere"))  # no key here
    assert bbc.json("verify")["ok"] is True  # the honest limit: no secret in the hashes
    found = bbc.json("verify", "--anchor", anchor, code=BROKEN)["problems"]
    assert [p["kind"] for p in found] == ["anchor"]
    assert "此前的历史被改写" in found[0]["message"]
    # An anchor further back than the store now reaches: history was cut.
    assert (
        "不存在"
        in bbc.json("verify", "--anchor", "999:" + "0" * 16, code=BROKEN)["problems"][0]["message"]
    )


@pytest.mark.parametrize("anchor", ["", "12", "abc:def", "12:xyz", "12:" + "a" * 15, "1" * 200])
def test_a_malformed_anchor_is_refused(bbc, cases, snapshot, anchor):
    check = snapshot()
    assert "锚点格式不正确" in bbc.refused("verify", "--anchor", anchor)
    check()


def test_an_upgraded_0_1_0_store_verifies_clean_and_is_then_protected(bbc, tmp_path):
    path = tmp_path / "old.sqlite3"
    shutil.copy(V010, path)
    report = bbc.json("--db", str(path), "verify")
    # 15 case events, m004's record of the calendar entry and setting it found, then
    # m007's seal of each case row (3) and of the units.
    assert report["ok"] is True and report["events"] == 20 and report["cases"] == 3
    con = sqlite3.connect(path)
    assert [r[0] for r in con.execute("SELECT seq FROM events ORDER BY id")] == list(range(1, 21))
    assert (
        con.execute("SELECT name FROM schema_migrations ORDER BY name").fetchall()[-1][0]
        == (sorted(name for name, _ in MIGRATIONS)[-1])
    )
    con.close()
    # New events continue the same chain.
    bbc("--db", str(path), "note", "BB20261228-001", "已电话联系", now="2026-12-29 09:00")
    assert bbc.json("--db", str(path), "verify")["events"] == 21
    sql(path, "UPDATE events SET detail = replace(detail, '霍', '何') WHERE id = 1")
    found = bbc.json("--db", str(path), "verify", "--full", code=BROKEN)["problems"]
    assert [(p["kind"], p["case"], p["event"]) for p in found] == [("edited", "BB20210401-001", 1)]


def test_reveal_is_recorded_without_the_data(bbc, cases, isolated, snapshot):
    check = snapshot()
    masked = bbc.json("show", cases["li"])
    assert masked["citizen"] == "李*清" and masked["masked"] is True
    check()  # looking at masked data writes nothing
    bbc.monkeypatch.setenv("BBC_OPERATOR", "窗口乙")
    shown = bbc.json("show", cases["li"], "--reveal", now="2021-04-08 10:00")
    assert shown["citizen"] == "李海清" and shown["phone"] == "13900001111"
    assert shown["id_number"] == "11010519491231002X"
    reveal = shown["events"][-1]
    assert reveal["action"] == "reveal" and reveal["actor"] == "窗口乙"
    assert reveal["at"] == "2021-04-08T10:00:00+08:00"
    assert "姓名、电话、身份证号" in reveal["text"]
    # Whose data: the case. What data: none of it.
    rows = sql(isolated, "SELECT actor, action, detail FROM events")
    dumped = json.dumps(rows, ensure_ascii=False)
    for secret in ("李海清", "13900001111", "11010519491231002X", "霍某某", "13712341111"):
        assert secret not in dumped
    assert bbc.json("verify")["ok"] is True


def test_every_kind_of_change_replays_to_the_case_row(bbc, tmp_path):
    """The state check must never cry wolf: a case taken through every action, a
    provisional deadline recomputed, an import, and a reveal all verify clean."""
    number = bbc(
        "register", "--name", "王五", "--phone", "0571-87654321", "--matter", "各种操作",
        now="2026-11-02 09:00",
    ).stdout.strip()  # fmt: skip
    bbc("classify", number, "--category", "完全不能")
    bbc("classify", number, "--category", "应办未办", "--subtype", "不作为")
    bbc("dispatch", number, "--unit", "甲单位", "--helper", "乙单位", "--days", "2")
    bbc("dispatch", number, "--unit", "丙单位")
    bbc("note", number, "进展")
    bbc("escalate", number, "--reason", "协调")
    bbc("refer", number, "--reason", "索要好处")
    bbc("extend", number, "--days", "2", "--reason", "等材料", "--approver", "主任")
    bbc("extend", number, "--to", "2026-11-20", "--reason", "再等", "--approver", "主任")
    bbc("close", number, "--result", "办结", "--at", "2026-11-05 10:00", now="2026-11-06 09:00")
    bbc("visit", number, "--satisfaction", "不满意")
    bbc("reopen", number, "--reason", "不满意", "--days", "3", now="2026-11-09 09:00")
    bbc("close", number, "--result", "再次办结", "--outcome", "replied", now="2026-11-10 09:00")
    bbc("visit", number, "--satisfaction", "满意")
    late = bbc(
        "register", "--name", "赵六", "--phone", "13600000000", "--matter", "年底",
        "--category", "应办未办", now="2026-12-28 10:00",
    ).stdout.strip()  # fmt: skip
    bbc("calendar", "add", "--holiday", "2027-01-01..2027-01-04", "--source", "通知")
    bbc("config", "set", "limit.unhandled", "7")
    bbc("show", late, "--reveal")
    sheet = tmp_path / "a.csv"
    sheet.write_text(
        "姓名,电话,反映事项,受理时间,分类,主办单位,办结时间,办理结果,满意度\n"
        "钱七,13500000000,导入的,2026-12-01 09:00,应办未办,甲单位,2026-12-03,好了,非常满意\n",
        encoding="utf-8",
    )
    bbc("import", str(sheet))
    report = bbc.json("verify")
    assert report["ok"], report["problems"]
    actions = {e["action"] for e in bbc.json("show", late)["events"]}
    assert {"recompute", "reveal"} <= actions
