"""Nothing unmasked is written or shown unless its record was committed first, and the
record says which personal fields were shown (never their values).

The store is opened read-only through SQLite itself (mode=ro): the tests run as any
user, root included, for whom a chmod would not stop a write.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

NAME, PHONE, ID = "欧阳明华", "13812345678", "11010519491231002X"


def _case(bbc, category: str = "应办未办") -> str:
    number = bbc(
        "register",
        "--name",
        NAME,
        "--phone",
        PHONE,
        "--id-number",
        ID,
        "--matter",
        "营业执照与许可证名称不一致",
        "--category",
        category,
        now="2026-11-23 09:00",
    ).stdout.strip()
    if category == "应办未办":
        bbc("dispatch", number, "--unit", "中心综合协调科", now="2026-11-23 10:00")
    else:
        bbc("close", number, "--result", "依法不能办理", now="2026-11-23 11:00")
    return number


def _read_only(db: Path) -> str:
    return f"sqlite+pysqlite:///file:{db}?mode=ro&uri=true"


def _events(db: Path, action: str) -> list[dict]:
    con = sqlite3.connect(db)
    try:
        rows = con.execute("SELECT detail FROM events WHERE action = ? ORDER BY seq", (action,))
        return [json.loads(r[0]) for r in rows]
    finally:
        con.close()


NOTICE = ["--notice", "--basis", "《行政许可法》第十二条", "--alternative", "向市场监管局咨询"]


@pytest.mark.parametrize("document", [["--work-order", "--reveal"], ["--work-order"], NOTICE])
def test_no_document_without_its_record(bbc, isolated, tmp_path, snapshot, document):
    number = _case(bbc, "完全不能" if "--notice" in document else "应办未办")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    check = snapshot()
    message = bbc.refused(
        "--db",
        _read_only(isolated),
        "print",
        number,
        *document,
        "--out",
        str(out_dir / "a.docx"),
        code=3,
    )
    assert "无法" in message
    assert list(out_dir.iterdir()) == []  # no document, no temporary file
    check()


def test_show_reveal_shows_nothing_without_its_record(bbc, isolated):
    number = _case(bbc)
    result = bbc("--db", _read_only(isolated), "show", number, "--reveal", code=3)
    assert PHONE not in result.output + result.stderr and NAME not in result.output
    assert _events(isolated, "reveal") == []


def test_the_print_record_says_what_it_revealed(bbc, isolated, tmp_path):
    order = _case(bbc)
    bbc("print", order, "--work-order", "--out", str(tmp_path / "a.docx"))
    bbc("print", order, "--work-order", "--reveal", "--out", str(tmp_path / "b.docx"))
    notice = _case(bbc, "完全不能")
    bbc("print", notice, *NOTICE, "--out", str(tmp_path / "c.docx"))
    revealed = [e["after"]["revealed"] for e in _events(isolated, "print")]
    # the notice is addressed to the citizen by full name, and says so
    assert revealed == [[], ["citizen", "phone"], ["citizen"]]
    for event in _events(isolated, "print"):
        text = json.dumps(event, ensure_ascii=False)
        assert NAME not in text and PHONE not in text
    timeline = bbc("show", notice).stdout
    assert "未遮盖的个人信息：姓名" in timeline


def test_show_reveal_records_the_fields_first(bbc, isolated):
    number = _case(bbc)
    data = bbc.json("show", number, "--reveal")
    assert (data["citizen"], data["phone"], data["id_number"]) == (NAME, PHONE, ID)
    (event,) = _events(isolated, "reveal")
    assert event["after"]["revealed"] == ["citizen", "phone", "id_number"]
    text = json.dumps(event, ensure_ascii=False)
    assert NAME not in text and PHONE not in text and ID not in text
