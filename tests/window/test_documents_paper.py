"""The 派单单 and 告知书 as the office files them: A4 in the GB/T 9704-2012 layout,
the clerk who dispatched, the day of the reply, no empty basis, the center (not the
program) in the properties. How they print is checked in tests/reports/test_paper.py."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from docx import Document
from docx.shared import Mm

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
BASE = ["--name", "霍某某", "--phone", "13712341111", "--department", "市场监管窗口"]


def _register(bbc, matter: str, now: str, category: str) -> str:
    args = ["register", *BASE, "--matter", matter, "--category", category]
    return bbc(*args, now=now).stdout.strip()


def _text(path: Path) -> str:
    doc = Document(str(path))
    parts = [p.text for p in doc.paragraphs]
    for table in doc.tables:  # each cell once, merged or not
        for tc in table._tbl.iter(W + "tc"):
            parts.append(
                "\n".join("".join(t.text or "" for t in q.iter(W + "t")) for q in tc.iter(W + "p"))
            )
    for section in doc.sections:
        for part in (section.first_page_header, section.header, section.footer):
            parts.extend(p.text for p in part.paragraphs)
    return "\n".join(parts)


def _assert_gb_page(doc) -> None:
    section = doc.sections[0]
    assert abs(section.page_width - Mm(210)) < Mm(0.1)  # A4
    assert abs(section.page_height - Mm(297)) < Mm(0.1)
    assert abs(section.top_margin - Mm(37)) < Mm(0.5)  # 天头
    assert abs(section.left_margin - Mm(28)) < Mm(0.5)  # 订口
    width = section.page_width - section.left_margin - section.right_margin
    height = section.page_height - section.top_margin - section.bottom_margin
    assert abs(width - Mm(156)) < Mm(0.5) and abs(height - Mm(225)) < Mm(0.5)  # 版心


def test_work_order_names_the_dispatching_clerk_and_the_center(bbc, tmp_path, monkeypatch):
    bbc("config", "set", "center_name", "某县政务服务中心")
    number = _register(bbc, "诊所两证名称不一致", "2026-11-16 09:00", "应办未办")
    bbc("dispatch", number, "--unit", "市场监管局", now="2026-11-16 10:00")
    out = tmp_path / "派单单.docx"
    monkeypatch.setenv("BBC_OPERATOR", "root")  # whoever prints it
    bbc("print", number, "--work-order", "--out", str(out), now="2026-11-18 15:00")
    doc = Document(str(out))
    _assert_gb_page(doc)
    text = _text(out)
    assert "窗口经办人：窗口甲" in text and "root" not in text
    assert "某县政务服务中心" in text and "2026年11月16日" in text and "2026-11-16 10:00" in text
    assert "（盖章）" in text and "签字" in text and "主办单位负责人（签字）" in text
    assert "群众诉求" not in text and text.count("诊所两证名称不一致") == 1
    assert "{{" not in text
    props = doc.core_properties
    assert props.author == "某县政务服务中心" and props.last_modified_by == "某县政务服务中心"
    assert props.title == f"派单单 {number}"
    assert props.created == datetime(2026, 11, 16, 2, 0, tzinfo=UTC)  # 10:00 Beijing: dispatch
    # The title's and body's fonts are the standard's.
    runs = [r for p in doc.paragraphs for r in p.runs if r.text]
    title = next(r for r in runs if "派单单" in r.text)
    assert title.font.size.pt == 22
    assert "小标宋" in title._r.rPr.rFonts.get(W + "eastAsia")


def test_a_reopened_case_is_sent_again_from_the_reopening(bbc, tmp_path, monkeypatch):
    number = _register(bbc, "证照办理受阻", "2026-11-02 09:00", "应办未办")
    bbc("dispatch", number, "--unit", "人社局", now="2026-11-02 10:00")
    bbc("close", number, "--result", "已办", now="2026-11-04 10:00")
    bbc("visit", number, "--satisfaction", "不满意", now="2026-11-05 09:00")
    monkeypatch.setenv("BBC_OPERATOR", "窗口乙")
    bbc("reopen", number, "--reason", "群众不满意", now="2026-11-09 09:30")
    out = tmp_path / "o.docx"
    bbc("print", number, "--work-order", "--out", str(out), now="2026-11-09 10:00")
    text = _text(out)
    assert "2026-11-09 09:30" in text and "2026-11-02 10:00" not in text
    assert "2026年11月9日" in text and "重新办理（第1次）" in text
    assert "窗口经办人：窗口乙" in text


def test_notice_refuses_without_basis_and_remedy(bbc, tmp_path, snapshot):
    number = _register(bbc, "要求为无证摊点办理许可", "2026-11-23 09:00", "完全不能")
    bbc("close", number, "--result", "该摊点占用消防通道，依法不能许可", now="2026-11-24 10:00")
    out = tmp_path / "n.docx"
    unchanged = snapshot()
    message = bbc.refused("print", number, "--notice", "--out", str(out))
    assert "依据" in message and "其他途径" in message and "答复口径" in message
    message = bbc.refused("print", number, "--notice", "--basis", "某条", "--out", str(out))
    assert "其他途径" in message and "依据（" not in message
    assert not out.exists()
    unchanged()


def test_notice_takes_basis_and_remedy_from_the_reply_template(bbc, tmp_path):
    bbc("mechanism", "add", "占道经营不予许可", "--decider", "窗口负责人")
    bbc(
        "reply-template", "add", "无证摊点", "--mechanism", "1",
        "--body", "您反映的「{事项}」依法不能办理",
        "--basis", "《中华人民共和国消防法》第二十八条",
        "--alternative", "可在规划的便民市场申请摊位；如需帮助请联系本窗口",
    )  # fmt: skip
    shown = bbc.json("reply-template", "show", "1")
    assert shown["basis"].startswith("《中华人民共和国消防法》")
    number = _register(bbc, "要求为无证摊点办理许可", "2026-11-23 09:00", "完全不能")
    bbc("close", number, "--template", "无证摊点", now="2026-11-24 10:00")
    out = tmp_path / "告知书.docx"
    bbc("print", number, "--notice", "--out", str(out), now="2026-11-27 16:00")
    text = _text(out)
    assert "依据：《中华人民共和国消防法》第二十八条。" in text
    assert "您可以：可在规划的便民市场申请摊位；如需帮助请联系本窗口。" in text
    assert "依法不能办理。" in text  # the reasons end as a sentence
    assert "2026年11月24日" in text and "2026年11月27日" not in text  # the day of the reply
    assert "（无）" not in text and "{{" not in text
    doc = Document(str(out))
    _assert_gb_page(doc)
    assert doc.core_properties.author == "政务服务中心"
    # The command line wins over the template.
    bbc("print", number, "--notice", "--out", str(out), "--basis", "另一依据")
    assert "依据：另一依据。" in _text(out)


def test_the_shipped_templates_are_what_the_script_makes(tmp_path, monkeypatch):
    """scripts/make_templates.py writes the shipped templates (run it after editing)."""
    import importlib.util

    root = Path(__file__).resolve().parents[2]
    spec = importlib.util.spec_from_file_location(
        "make_templates", root / "scripts" / "make_templates.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "OUT", tmp_path)
    module.work_order()
    module.notice()
    for name in ("work_order.docx", "notice.docx"):
        made, shipped = _text(tmp_path / name), _text(root / "banbucheng" / "templates" / name)
        assert made == shipped, name
