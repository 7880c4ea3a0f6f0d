"""Every file bbc writes is owner-only (0600) whatever the umask, or the group mode a
center sets with BBC_FILE_MODE for a shared office folder; never readable by others."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def loose_umask():
    old = os.umask(0o002)  # the most permissive umask an office machine might have
    yield
    os.umask(old)


def _write_everything(bbc, tmp_path: Path) -> list[Path]:
    """Every kind of file the project writes, in a fresh store."""
    fresh = tmp_path / "store" / "bbc.sqlite3"
    (tmp_path / "store").mkdir()
    db = ["--db", str(fresh)]
    number = bbc(
        *db,
        "register",
        "--name",
        "霍某某",
        "--phone",
        "13712341111",
        "--matter",
        "两证名称不一致",
        "--category",
        "应办未办",
        now="2026-11-23 09:00",
    ).stdout.strip()
    bbc(*db, "dispatch", number, "--unit", "中心综合协调科", now="2026-11-23 10:00")
    out = tmp_path / "out"
    out.mkdir()
    bbc(*db, "backup", str(out / "backup.sqlite3"))
    bbc(*db, "print", number, "--work-order", "--out", str(out / "派单单.docx"))
    bbc(*db, "daily-report", "--date", "2026-11-23", "--xlsx", str(out / "daily.xlsx"))
    bbc(*db, "daily-report", "--date", "2026-11-23", "--csv", "-o", str(out / "daily.csv"))
    bbc(*db, "overdue", "--json", "-o", str(out / "overdue.json"), now="2026-12-23 09:00", code=4)
    bbc(*db, "export", "--dir", str(out / "export"), "--date", "2026-11-23")
    info = bbc.json(*db, "restore", str(out / "backup.sqlite3"), "--yes")
    files = [fresh, Path(info["side_copy"]), *sorted(p for p in out.rglob("*") if p.is_file())]
    assert len(files) >= 10 and any(p.suffix == ".pdf" for p in files)
    return files


def test_every_file_is_owner_only_whatever_the_umask(bbc, tmp_path, loose_umask):
    for path in _write_everything(bbc, tmp_path):
        assert _mode(path) == 0o600, path


def test_a_shared_office_folder_may_give_the_group_read(bbc, tmp_path, loose_umask, monkeypatch):
    monkeypatch.setenv("BBC_FILE_MODE", "0640")
    for path in _write_everything(bbc, tmp_path):
        assert _mode(path) == 0o640, path
    store = tmp_path / "store" / "bbc.sqlite3"
    doctor = bbc.json("--db", str(store), "doctor")
    permissions = next(c for c in doctor["checks"] if c["name"] == "permissions")
    assert permissions["status"] == "ok" and "同组可读" in permissions["message"]
    os.chmod(store, 0o644)  # others may read: a problem, fixed back to the setting
    bbc("--db", str(store), "doctor", "--fix", code=0)
    assert _mode(store) == 0o640


@pytest.mark.parametrize("value", ["0644", "0666", "777", "abc", "0o600x"])
def test_a_mode_that_lets_others_read_is_refused(bbc, tmp_path, monkeypatch, value):
    monkeypatch.setenv("BBC_FILE_MODE", value)
    bbc("list")  # reading writes nothing: no need to refuse
    message = bbc.refused("backup", str(tmp_path / "b.sqlite3"))
    assert "BBC_FILE_MODE" in message and "0640" in message
    assert not (tmp_path / "b.sqlite3").exists()
