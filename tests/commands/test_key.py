"""`bbc key`: status, create, backup and rotate (commands/key.py, trust/personal.py)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from banbucheng.core import keyring as keys

NOW = "2021-04-06 14:20"


def _register(bbc, name: str, phone: str) -> str:
    args = ("register", "--name", name, "--phone", phone, "--matter", "社保卡未年检")
    return bbc(*args, now=NOW).stdout.strip()


def _key_file(store: Path) -> Path:
    con = sqlite3.connect(store)
    (store_id,) = con.execute("SELECT store_id FROM store_info").fetchone()
    con.close()
    return keys.key_path(store_id)


def test_status_says_where_the_key_is_and_counts_cases_per_key_without_secrets(
    bbc, isolated: Path
) -> None:
    _register(bbc, "李海清", "13900001111")
    _register(bbc, "霍某某", "13712341111")
    status = bbc.json("key", "status")
    assert status["present"] is True and status["current"] == "k1"
    assert status["key_ids"] == ["k1"] and status["cases_by_key"] == {"k1": 2}
    assert status["source"] == str(_key_file(isolated))
    text = bbc("key", "status").stdout
    ring = keys.read_file(_key_file(isolated))
    for secret in (*ring.data_keys.values(), ring.lookup_key, ring.seal_key):
        assert secret.hex() not in text and keys.base64.b64encode(secret).decode() not in text


def test_create_refuses_to_overwrite_and_backup_writes_an_owner_only_copy(
    bbc, isolated: Path, tmp_path: Path
) -> None:
    _register(bbc, "李海清", "13900001111")
    key_file = _key_file(isolated)
    before = key_file.read_bytes()
    assert "不会覆盖" in bbc.refused("key", "create")
    assert key_file.read_bytes() == before
    out = tmp_path / "backup" / "bbc.key"
    # A mistyped folder is refused, never made (as for every file bbc writes).
    assert "目录不存在" in bbc.refused("key", "backup", "--out", str(out), code=73)
    assert not out.parent.exists()
    out.parent.mkdir()
    result = bbc("key", "backup", "--out", str(out))
    assert "分开保存" in result.stderr
    assert out.read_bytes() == before and out.stat().st_mode & 0o777 == 0o600
    assert "不会覆盖" in bbc.refused("key", "backup", "--out", str(out))
    # The backup opens the store on another machine (as BBC_KEY or as its key file).
    key_file.unlink()
    bbc.refused("show", "BB20210406-001", "--reveal", code=6)
    bbc.monkeypatch.setenv("BBC_KEY", out.read_text())
    assert bbc.json("show", "BB20210406-001", "--reveal")["citizen"] == "李海清"


def test_rotate_reencrypts_every_case_and_the_old_key_is_no_longer_needed(
    bbc, isolated: Path, tmp_path: Path
) -> None:
    numbers = [_register(bbc, f"群众{i}", f"139{i:08d}") for i in range(3)]
    old = tmp_path / "old.key"
    bbc("key", "backup", "--out", str(old))
    con = sqlite3.connect(isolated)
    tokens_before = con.execute("SELECT phone_enc FROM cases ORDER BY id").fetchall()
    con.close()
    result = bbc("key", "rotate")
    assert "k2" in result.stdout and "3 件" in result.stdout
    status = bbc.json("key", "status")
    assert status["key_ids"] == ["k2"] and status["cases_by_key"] == {"k2": 3}
    con = sqlite3.connect(isolated)
    tokens_after = con.execute("SELECT phone_enc FROM cases ORDER BY id").fetchall()
    con.close()
    assert all(a != b for a, b in zip(tokens_before, tokens_after, strict=True))
    assert bbc.json("show", numbers[2], "--reveal")["phone"] == "13900000002"
    assert bbc.json("verify")["ok"] is True
    # The old key alone opens nothing any more.
    bbc.monkeypatch.setenv("BBC_KEY_DIR", str(tmp_path / "none"))
    bbc.monkeypatch.setenv("BBC_KEY", old.read_text())
    assert "密钥中没有" in bbc.refused("show", numbers[0], "--reveal", code=6)
    # Repeats are still found: the lookup key did not change.
    bbc.monkeypatch.delenv("BBC_KEY")
    bbc.monkeypatch.delenv("BBC_KEY_DIR")


def test_an_interrupted_rotation_is_finished_without_another_key(bbc, isolated: Path) -> None:
    numbers = [_register(bbc, f"群众{i}", f"139{i:08d}") for i in range(2)]
    key_file = _key_file(isolated)
    # As if rotate stopped right after writing the new key: tokens still under k1.
    ring = keys.read_file(key_file).with_new_data_key()
    keys.write(ring, key_file, overwrite=True)
    assert bbc.json("key", "status")["cases_by_key"] == {"k1": 2}
    result = bbc("key", "rotate")
    assert "继续" in result.stdout
    status = bbc.json("key", "status")
    assert status["key_ids"] == ["k2"] and status["cases_by_key"] == {"k2": 2}
    assert bbc.json("show", numbers[1], "--reveal")["citizen"] == "群众1"


def test_a_lost_key_can_be_replaced_only_on_purpose(bbc, isolated: Path) -> None:
    first = _register(bbc, "李海清", "13900001111")
    _key_file(isolated).unlink()
    assert "--force" in bbc.refused("key", "create")
    bbc("key", "create", "--force")
    status = bbc.json("key", "status", code=0)
    assert status["current"] == "k2"  # never the lost key's id
    second = _register(bbc, "霍某某", "13712341111")
    assert bbc.json("show", second, "--reveal")["citizen"] == "霍某某"
    assert "密钥中没有" in bbc.refused("show", first, "--reveal", code=6)


def test_rotation_with_the_key_in_the_environment_is_refused_with_what_to_do(
    bbc, isolated: Path
) -> None:
    _register(bbc, "李海清", "13900001111")
    key_file = _key_file(isolated)
    bbc.monkeypatch.setenv("BBC_KEY", key_file.read_text())
    message = bbc.refused("key", "rotate", code=6)
    assert "BBC_KEY" in message and str(key_file) in message
    assert bbc.json("key", "status")["key_ids"] == ["k1"]
