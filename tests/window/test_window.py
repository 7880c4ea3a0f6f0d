"""The home screen, printed documents and shell completion."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from docx import Document

BASE = ["--name", "霍某某", "--phone", "13712341111", "--department", "市场监管窗口"]


def _register(bbc, matter: str, now: str, *extra: str) -> str:
    return bbc("register", *BASE, "--matter", matter, *extra, now=now).stdout.strip()


def test_home_screen_shows_the_day(bbc):
    late = _register(bbc, "早前的事", "2026-11-16 09:00", "--category", "应办未办")  # due 11-23
    today = _register(bbc, "今天到期", "2026-11-20 09:00", "--category", "应办未办")  # due 11-27
    nxt = _register(bbc, "下一工作日到期", "2026-11-27 08:00", "--category", "完全不能")  # 12-02
    new = _register(bbc, "待分类的事", "2026-11-27 09:00")
    done = _register(bbc, "已办结待回访", "2026-11-24 09:00", "--category", "应办未办")
    bbc("close", done, "--result", "已办", now="2026-11-26 10:00")
    data = bbc.json("home", now="2026-11-27 10:00")
    assert data["date"] == "2026-11-27" and data["next_workday"] == "2026-11-30"
    assert data["registered_today"] == 2
    assert [c["number"] for c in data["overdue"]["cases"]] == [late]
    assert [c["number"] for c in data["due_today"]["cases"]] == [today]
    assert data["due_next_workday"]["count"] == 0  # nxt is due 12-02, not 11-30
    assert [c["number"] for c in data["to_classify"]["cases"]] == [new]
    assert {c["number"] for c in data["to_dispatch"]["cases"]} == {late, today}
    assert [c["number"] for c in data["to_visit"]["cases"]] == [done]
    assert data["calendar_warning"] and "2027" in data["calendar_warning"]
    assert any("bbc overdue" in a for a in data["next_actions"])
    assert nxt not in str(data["overdue"])
    text = bbc(now="2026-11-27 10:00").stdout  # plain `bbc` shows the home screen
    assert "超期：1 件" in text and "2027 年节假日安排尚未载入" in text
    assert "13712341111" not in text and "霍某某" not in text


def test_home_warns_about_next_year_only_from_november(bbc):
    _register(bbc, "事项", "2026-10-20 09:00")
    assert bbc.json("home", now="2026-10-30 10:00")["calendar_warning"] is None


def test_work_order_document(bbc, tmp_path: Path):
    number = _register(bbc, "诊所两证名称不一致", "2026-12-28 09:00", "--category", "应办未办")
    refused = bbc.refused("print", number, "--work-order", "--out", str(tmp_path / "x.docx"))
    assert "尚未派单" in refused
    bbc("dispatch", number, "--unit", "中心综合协调科", "--helper", "卫健窗口")
    out = tmp_path / "派单单.docx"
    bbc("print", number, "--work-order", "--out", str(out), now="2026-12-28 10:05")
    text = _docx_text(out)
    assert number in text and "中心综合协调科" in text and "卫健窗口" in text
    assert "诊所两证名称不一致" in text
    assert "2027-01-05 17:30（暂定）" in text and "暂定" in text
    assert "霍*某" in text and "137****1111" in text and "13712341111" not in text
    assert "派单单回执" in text
    assert "{{" not in text
    # With --reveal the unit gets the full contact, and that is on the record.
    bbc("print", number, "--work-order", "--reveal", "--out", str(out), now="2026-12-28 10:06")
    assert "13712341111" in _docx_text(out)
    events = bbc.json("show", number)["events"]
    prints = [e for e in events if e["action"] == "print"]
    assert len(prints) == 2
    expected = {"document": "work_order", "file": "派单单.docx", "revealed": ["citizen", "phone"]}
    assert prints[-1]["after"] == expected


def test_notice_document(bbc, tmp_path: Path):
    number = _register(bbc, "要求为无证摊点办理许可", "2026-11-23 09:00", "--category", "完全不能")
    other = _register(bbc, "应办未办的事", "2026-11-23 09:00", "--category", "应办未办")
    assert "不是「完全不能」类" in bbc.refused("print", other, "--notice")
    assert "缺少不能办理的理由" in bbc.refused("print", number, "--notice")
    bbc("close", number, "--result", "该摊点占用消防通道，依法不能许可", now="2026-11-24 10:00")
    out = tmp_path / "告知书.docx"
    bbc(
        "print", number, "--notice", "--out", str(out),
        "--basis", "《消防法》第二十八条", "--alternative", "可在规划的便民市场申请摊位",
        now="2026-11-24 11:00",
    )  # fmt: skip
    text = _docx_text(out)
    assert "霍某某：" in text  # addressed to the citizen
    assert "2026年11月23日" in text and "要求为无证摊点办理许可" in text
    assert "占用消防通道" in text and "《消防法》第二十八条" in text and "便民市场" in text
    assert "政务服务中心" in text and "（盖章）" in text and "2026年11月24日" in text


def test_center_templates_replace_the_defaults(bbc, tmp_path: Path):
    own = tmp_path / "tpl"
    own.mkdir()
    doc = Document()
    doc.add_paragraph("某某县政务服务中心专用 {{ number }} {{ unit }}")
    doc.save(own / "work_order.docx")
    bbc("config", "set", "template_dir", str(own))
    number = _register(bbc, "事项", "2026-11-23 09:00", "--category", "应办未办")
    bbc("dispatch", number, "--unit", "人社局")
    out = tmp_path / "o.docx"
    bbc("print", number, "--work-order", "--out", str(out))
    assert _docx_text(out).strip() == f"某某县政务服务中心专用 {number} 人社局"


def _docx_text(path: Path) -> str:
    doc = Document(str(path))
    parts = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        for row in table.rows:
            parts.extend(cell.text for cell in row.cells)
    return "\n".join(parts)


def _complete(words: str, env: dict[str, str]) -> tuple[list[str], float]:
    """Ask the real `bbc` for bash completions the way the shell does."""
    full = dict(os.environ, **env, _BBC_COMPLETE="complete_bash", COMP_WORDS=words)
    full["COMP_CWORD"] = str(len(words.split(" ")) - 1)
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "banbucheng"], capture_output=True, text=True, env=full
    )
    elapsed = time.perf_counter() - started
    return out.stdout.split(), elapsed


def test_completion_of_case_numbers_and_units(bbc, isolated: Path):
    a = _register(bbc, "事项一", "2026-11-23 09:00", "--category", "应办未办")
    b = _register(bbc, "事项二", "2026-11-24 09:00", "--category", "应办未办")
    bbc("dispatch", a, "--unit", "省农保中心")
    bbc("units", "add", "省人社厅")
    env = {"BBC_DB": str(isolated)}
    numbers, _ = _complete("bbc show BB202611", env)
    assert numbers == [b, a]
    numbers, _ = _complete("bbc show BB20261124", env)
    assert numbers == [b]
    units, _ = _complete("bbc dispatch BB20261123-001 --unit 省", env)
    assert units == ["省人社厅", "省农保中心"]
    commands, _ = _complete("bbc reg", env)
    assert commands == ["register"]
