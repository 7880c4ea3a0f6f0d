"""Names, phones and ID numbers encrypted at rest (schema/personal.py, core/keyring.py):
a copied store file gives none of them away, nor the key; with the key everything
works, without it everything but the clear values does; a token moved between cases is
caught; an old store is encrypted by its upgrade."""

from __future__ import annotations

import base64
import json
import os
import shutil
import sqlite3
from pathlib import Path

import pytest

from banbucheng.core import keyring as keys

NOW = "2021-04-06 14:20"
CITIZENS = [
    # name, phone, ID number
    ("李海清", "13900001111", "11010519491231002X"),
    ("欧阳明华", "13712341111", "330102198001010018"),
]


def _register(bbc, name: str, phone: str, id_number: str | None, matter: str) -> str:
    args = ["register", "--name", name, "--phone", phone, "--matter", matter]
    if id_number:
        args += ["--id-number", id_number]
    return bbc(*args, "--category", "应办未办", now=NOW).stdout.strip()


def _key_file(store: Path) -> Path:
    con = sqlite3.connect(store)
    (store_id,) = con.execute("SELECT store_id FROM store_info").fetchone()
    con.close()
    return keys.key_path(store_id)


def _assert_nothing_personal(data: bytes, values: list[str]) -> None:
    for value in values:
        for encoding in ("utf-8", "gb18030", "utf-16-le"):
            assert value.encode(encoding) not in data, (value, encoding)


def _assert_no_key(data: bytes, key_file: Path) -> None:
    ring = keys.read_file(key_file)
    secrets = [*ring.data_keys.values(), ring.lookup_key, ring.seal_key]
    for secret in secrets:
        assert secret not in data
        assert base64.b64encode(secret) not in data
        assert secret.hex().encode() not in data


@pytest.fixture
def two_cases(bbc, isolated: Path) -> list[str]:
    numbers = [
        _register(bbc, name, phone, id_number, f"第{i}件：社保卡未年检，养老金停发")
        for i, (name, phone, id_number) in enumerate(CITIZENS)
    ]
    bbc("dispatch", numbers[0], "--unit", "省农保中心", now="2021-04-06 15:00")
    bbc("show", numbers[0], "--reveal", now="2021-04-06 15:10")
    return numbers


def test_the_store_file_alone_holds_no_name_phone_id_number_nor_key(
    bbc, isolated: Path, two_cases: list[str], tmp_path: Path
) -> None:
    elsewhere = tmp_path / "copied"
    elsewhere.mkdir()
    copy = elsewhere / "bbc.sqlite3"
    shutil.copy(isolated, copy)  # the file alone, as someone would walk away with it
    data = copy.read_bytes()
    _assert_nothing_personal(data, [v for row in CITIZENS for v in row])
    _assert_no_key(data, _key_file(isolated))
    # And the copy, without its key, still shows only masks.
    os.environ["BBC_KEY_DIR"], saved = str(tmp_path / "no-keys"), os.environ["BBC_KEY_DIR"]
    try:
        rows = bbc.json("--db", str(copy), "list")
        assert [r["phone"] for r in rows] == ["139****1111", "137****1111"]
        message = bbc.refused("--db", str(copy), "show", two_cases[0], "--reveal", code=6)
        assert "密钥" in message
    finally:
        os.environ["BBC_KEY_DIR"] = saved


def test_with_the_key_reveal_shows_the_clear_values_and_lookups_find_them(
    bbc, two_cases: list[str]
) -> None:
    shown = bbc.json("show", two_cases[1], "--reveal")
    assert (shown["citizen"], shown["phone"], shown["id_number"]) == CITIZENS[1]
    assert shown["masked"] is False
    masked = bbc.json("show", two_cases[1])
    assert (masked["citizen"], masked["phone"]) == ("欧**华", "137****1111")
    assert masked["id_number"] == "330102********0018"
    assert [r["number"] for r in bbc.json("list", "--phone", "13712341111")] == [two_cases[1]]
    assert [r["number"] for r in bbc.json("list", "--name", "李海清")] == [two_cases[0]]
    found = bbc.json("list", "--id-number", "11010519491231002x")
    assert [r["number"] for r in found] == [two_cases[0]]
    assert bbc.json("list", "--phone", "13712341111", "--name", "李海清") == []
    assert bbc.json("verify")["ok"] is True


def test_without_the_key_lists_and_reports_work_and_the_clear_values_are_refused(
    bbc, isolated: Path, two_cases: list[str], tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("BBC_KEY_DIR", str(tmp_path / "elsewhere"))
    before = isolated.read_bytes()
    assert len(bbc.json("list")) == 2
    bbc("daily-report", "--date", "2021-04-06", now="2021-04-07 09:00")
    bbc("overdue", now="2021-04-07 09:00")
    bbc("export", "--dir", str(tmp_path / "out"), "--date", "2021-04-06", now="2021-04-07 09:00")
    exported = b"".join(p.read_bytes() for p in (tmp_path / "out").iterdir())
    _assert_nothing_personal(exported, ["李海清", "13900001111", "11010519491231002X"])
    bbc("close", two_cases[0], "--result", "已补发", now="2021-04-07 10:00")
    after_close = isolated.read_bytes()
    for args in (
        ("show", two_cases[0], "--reveal"),
        ("list", "--phone", "13900001111"),
        ("register", "--name", "王某", "--phone", "13812345678", "--matter", "事项"),
        ("key", "rotate"),
        ("key", "backup", "--out", str(tmp_path / "k.key")),
    ):
        message = bbc.refused(*args, code=6)
        assert "密钥" in message and "13" not in message
    assert isolated.read_bytes() == after_close != before
    status = bbc("key", "status", code=6)
    assert "不可用" in status.stdout
    verified = bbc("verify")
    assert "未核对" in verified.stderr


def test_a_token_moved_to_another_case_or_field_does_not_open(
    bbc, isolated: Path, two_cases: list[str]
) -> None:
    con = sqlite3.connect(isolated)
    a, b = (
        con.execute("SELECT phone_enc FROM cases WHERE number = ?", (n,)).fetchone()[0]
        for n in two_cases
    )
    con.execute("UPDATE cases SET phone_enc = ? WHERE number = ?", (b, two_cases[0]))
    con.execute("UPDATE cases SET phone_enc = ? WHERE number = ?", (a, two_cases[1]))
    con.commit()
    message = bbc.refused("show", two_cases[0], "--reveal", code=6)
    assert "无法解密" in message
    report = bbc.json("verify", code=5)
    personal = [p for p in report["problems"] if p["kind"] == "personal"]
    assert {p["case"] for p in personal} == set(two_cases)
    assert all("电话" in p["message"] for p in personal)
    # Moved to another field of the same case: caught as well.
    swap = "UPDATE cases SET phone_enc = ?, citizen_enc = ? WHERE number = ?"
    con.execute(swap, (a, a, two_cases[0]))
    con.commit()
    con.close()
    report = bbc.json("verify", code=5)
    assert any("姓名" in p["message"] and p["case"] == two_cases[0] for p in report["problems"])


def test_a_mask_edited_behind_the_tools_back_is_named_by_verify(
    bbc, isolated: Path, two_cases: list[str]
) -> None:
    con = sqlite3.connect(isolated)
    con.execute("UPDATE cases SET citizen_mask = '张*' WHERE number = ?", (two_cases[1],))
    con.commit()
    con.close()
    report = bbc.json("verify", code=5)
    assert [(p["case"], p["kind"]) for p in report["problems"]] == [(two_cases[1], "personal")]
    assert "遮盖" in report["problems"][0]["message"]


def test_a_key_file_others_can_read_is_refused_but_lists_still_work(
    bbc, isolated: Path, two_cases: list[str]
) -> None:
    key_file = _key_file(isolated)
    key_file.chmod(0o644)
    message = bbc.refused("show", two_cases[0], "--reveal", code=6)
    assert "权限过宽" in message and "chmod 600" in message
    assert len(bbc.json("list")) == 2
    key_file.chmod(0o600)
    bbc("show", two_cases[0], "--reveal")


def test_the_key_from_the_environment_for_servers(
    bbc, isolated: Path, two_cases: list[str], tmp_path: Path, monkeypatch
) -> None:
    key_file = _key_file(isolated)
    monkeypatch.setenv("BBC_KEY", key_file.read_text())
    monkeypatch.setenv("BBC_KEY_DIR", str(tmp_path / "none"))
    assert bbc.json("show", two_cases[0], "--reveal")["phone"] == "13900001111"
    monkeypatch.setenv("BBC_KEY", "不是密钥")
    message = bbc.refused("show", two_cases[0], "--reveal", code=6)
    assert "BBC_KEY" in message


def test_a_new_store_makes_its_key_and_says_where(bbc, isolated: Path) -> None:
    result = bbc("register", "--name", "霍某某", "--phone", "13712341111", "--matter", "两证")
    key_file = _key_file(isolated)
    assert str(key_file) in result.stderr and "bbc key backup" in result.stderr
    assert key_file.stat().st_mode & 0o777 == 0o600
    again = bbc("register", "--name", "霍某某", "--phone", "13712341111", "--matter", "两证二")
    assert "密钥" not in again.stderr


V010 = Path(__file__).parents[1] / "data" / "store-v0.1.0.sqlite3"


def test_an_old_store_is_encrypted_by_its_upgrade_and_keeps_no_clear_value(
    bbc, tmp_path: Path
) -> None:
    path = tmp_path / "old.sqlite3"
    shutil.copy(V010, path)
    con = sqlite3.connect(path)
    rows = con.execute("SELECT citizen_name, phone, id_number FROM cases").fetchall()
    clear = [v for row in rows for v in row if v]
    secret = con.execute("SELECT count(*) FROM cases").fetchone()[0]
    con.close()
    assert clear and secret == 3
    assert any(v.encode() in path.read_bytes() for v in clear)
    result = bbc("--db", str(path), "list")
    assert "已新建这个数据库的密钥" in result.stderr
    copy = tmp_path / "copy.sqlite3"
    shutil.copy(path, copy)
    assert not Path(f"{path}-wal").exists() or Path(f"{path}-wal").stat().st_size == 0
    _assert_nothing_personal(copy.read_bytes(), clear)
    _assert_no_key(copy.read_bytes(), _key_file(path))
    con = sqlite3.connect(path)
    names = {r[1] for r in con.execute("PRAGMA table_info(cases)")}
    assert not {"citizen_name", "phone", "id_number"} & names
    settings = [r[0] for r in con.execute("SELECT key FROM settings")]
    assert "secret.citizen_key" not in settings
    con.close()
    revealed = [
        bbc.json("--db", str(path), "show", n, "--reveal")
        for n in ("BB20210401-001", "BB20210406-001")
    ]
    assert {r["citizen"] for r in revealed} <= set(clear)
    assert bbc.json("--db", str(path), "verify")["ok"] is True


def test_the_json_of_a_case_keeps_its_keys(bbc, two_cases: list[str]) -> None:
    shown = bbc.json("show", two_cases[0])
    assert list(shown)[9:13] == ["citizen", "phone", "id_number", "masked"]
    assert json.dumps(shown, ensure_ascii=False).count("13900001111") == 0


def test_verify_checks_the_personal_data_a_batch_at_a_time(
    bbc, isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """verify reads the cases and their citizens' keys in batches (constant memory):
    findings on either side of a batch's edge, and in the last short batch, are those
    of one pass over everything."""
    from banbucheng.trust import integrity

    monkeypatch.setattr(integrity, "BATCH", 2)
    numbers = [
        _register(bbc, f"群众{i}", f"1390000{i:04d}", None, f"第{i}件：营业执照变更办不下来")
        for i in range(5)
    ]
    assert bbc.json("verify")["ok"]
    con = sqlite3.connect(isolated)
    con.execute("UPDATE cases SET phone_mask = '139****9999' WHERE number = ?", (numbers[1],))
    con.execute(
        "DELETE FROM citizen_keys WHERE case_id = (SELECT id FROM cases WHERE number = ?)",
        (numbers[2],),
    )
    con.execute("UPDATE cases SET citizen_mask = '张*' WHERE number = ?", (numbers[4],))
    con.commit()
    con.close()
    report = bbc.json("verify", code=5)
    found = sorted(
        (p["case"], p["message"][:2]) for p in report["problems"] if p["kind"] == "personal"
    )
    assert found == [(numbers[1], "电话"), (numbers[2], "查找"), (numbers[4], "姓名")]
