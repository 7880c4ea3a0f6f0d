"""Writes the default DOCX templates shipped in banbucheng/templates/.

A center replaces them with its own letterhead: copy one, edit it in Word or WPS
keeping the {{ ... }} fields, and point `bbc config set template_dir DIR` at the folder.
Run: python scripts/make_templates.py
"""

from __future__ import annotations

from pathlib import Path

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Pt

OUT = Path(__file__).resolve().parent.parent / "banbucheng" / "templates"


def _document() -> Document:
    doc = Document()
    style = doc.styles["Normal"]
    style.font.name = "宋体"
    style.font.size = Pt(12)
    # East Asian text needs its own font attribute, or Word falls back to a Latin font.
    style.element.rPr.rFonts.set(qn("w:eastAsia"), "宋体")
    # Fixed metadata, so a printed file is the same bytes however often it is made.
    props = doc.core_properties
    props.author = props.last_modified_by = "banbucheng"
    props.title = props.comments = ""
    return doc


def _title(doc: Document, text: str) -> None:
    p = doc.add_paragraph()
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = p.add_run(text)
    run.bold = True
    run.font.size = Pt(18)


def _table(doc: Document, rows: list[tuple[str, str]]) -> None:
    table = doc.add_table(rows=0, cols=2)
    table.style = "Table Grid"
    for label, value in rows:
        cells = table.add_row().cells
        cells[0].text = label
        cells[1].text = value


def work_order() -> None:
    doc = _document()
    _title(doc, "{{ center }}")
    _title(doc, "“办不成事”反映窗口 派单单")
    doc.add_paragraph("编号：{{ number }}　　派单日期：{{ dispatched }}")
    _table(
        doc,
        [
            ("主办单位", "{{ unit }}"),
            ("协办单位", "{{ helpers }}"),
            ("反映人", "{{ citizen }}"),
            ("联系电话", "{{ phone }}"),
            ("受理时间", "{{ received }}"),
            ("受阻部门/窗口", "{{ department }}"),
            ("反映事项", "{{ matter }}"),
            ("群众诉求", "{{ need }}"),
            ("分类", "{{ category }}"),
            ("办理时限", "{{ limit }}"),
            ("办结期限", "{{ due }}"),
            ("单位期限", "{{ unit_due }}"),
            ("窗口经办人", "{{ operator }}"),
        ],
    )
    doc.add_paragraph(
        "请主办单位当日与反映人联系，于办结期限前办结，并将办理结果填写回执反馈窗口；"
        "确需延期的，请在期限届满前说明理由并报批。"
    )
    doc.add_paragraph("{{ provisional_note }}")
    doc.add_paragraph("- - - - - - - - - - - - - - - - 沿此线剪下 - - - - - - - - - - - - - - - -")
    _title(doc, "回　执")
    _table(
        doc,
        [
            ("编号", "{{ number }}"),
            ("办理单位", "{{ unit }}"),
            ("办理结果", ""),
            ("是否形成长效机制", ""),
            ("经办人（签字）", ""),
            ("日期", ""),
        ],
    )
    doc.save(OUT / "work_order.docx")


def notice() -> None:
    doc = _document()
    _title(doc, "{{ center }}")
    _title(doc, "告　知　书")
    doc.add_paragraph("编号：{{ number }}")
    doc.add_paragraph("{{ citizen }}：")
    doc.add_paragraph(
        "　　您于{{ received }}反映的“{{ matter }}”事项，经本中心核实，该事项不能办理。理由如下："
    )
    doc.add_paragraph("　　{{ reasons }}")
    doc.add_paragraph("　　依据：{{ basis }}")
    doc.add_paragraph("　　您可以：{{ alternative }}")
    doc.add_paragraph("　　如对本答复有异议，可向本中心“办不成事”反映窗口或 12345 热线反映。")
    doc.add_paragraph("　　特此告知。")
    for text in ("{{ center }}", "（盖章）", "{{ date }}"):
        p = doc.add_paragraph(text)
        p.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    doc.save(OUT / "notice.docx")


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    work_order()
    notice()
    print(f"templates written to {OUT}")
