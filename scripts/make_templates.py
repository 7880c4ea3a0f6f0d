"""Writes the default DOCX templates shipped in banbucheng/templates/.

Both follow GB/T 9704-2012 (党政机关公文格式) where it applies to such papers, in its
信函格式 (letter form): A4; 天头 37 mm, 订口 28 mm, a 156 × 225 mm text block of 22
lines; the issuing center's name in red 小标宋 over a red double rule; the number at
the right edge of the text block; the title in 2号 (22 pt) 小标宋, the body in 3号
(16 pt) 仿宋 with a two-character indent; the center's signature and the date (in
Arabic numerals, 7.3.5.3) four characters from the right, with the place for the seal
over them; page numbers in 4号 as "— 1 —", odd pages right and even pages left.

Fonts are those a Chinese Windows or WPS machine has: 仿宋 (FangSong) for the body,
方正小标宋简体 for titles (the standard's font, installed on government machines; the
font table names 宋体 as its alternative), 宋体 for page numbers. Where they are
missing (LibreOffice on Linux) the system's Chinese font stands in and the page
still prints.

A center replaces them with its own letterhead: copy one, edit it in Word or WPS
keeping the {{ ... }} fields, and point `bbc config set template_dir DIR` at the folder.
Run: python scripts/make_templates.py
"""

from __future__ import annotations

from pathlib import Path

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement, parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.shared import Mm, Pt, RGBColor

OUT = Path(__file__).resolve().parent.parent / "banbucheng" / "templates"

BODY_FONT = "仿宋"  # FangSong: on every Chinese Windows, and in WPS
TITLE_FONT = "方正小标宋简体"
NUMBER_FONT = "宋体"
RED = RGBColor(0xE6, 0x00, 0x12)
SEAL = RGBColor(0x99, 0x00, 0x00)
LINE = Pt(28.95)  # 225 mm / 22 lines
TABLE_LINE = Pt(20)

# The font table: what Word and WPS substitute when a font is missing.
_FONTS = {
    BODY_FONT: ("FangSong", "02010609060101010101", "modern", "fixed"),
    TITLE_FONT: ("宋体", "02000000000000000000", "script", "variable"),
    NUMBER_FONT: ("SimSun", "02010600030101010101", "auto", "variable"),
}


def _document() -> Document:
    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(37), Mm(35)
    section.left_margin, section.right_margin = Mm(28), Mm(26)
    section.header_distance, section.footer_distance = Mm(24), Mm(22)
    grid = section._sectPr.find(qn("w:docGrid"))
    if grid is None:
        grid = OxmlElement("w:docGrid")
        section._sectPr.append(grid)
    grid.set(qn("w:type"), "lines")
    grid.set(qn("w:linePitch"), "579")

    styles = doc.styles.element
    defaults = styles.find(qn("w:docDefaults"))
    defaults.getparent().replace(
        defaults,
        parse_xml(
            f"<w:docDefaults {nsdecls('w')}><w:rPrDefault><w:rPr>"
            f'<w:rFonts w:ascii="Times New Roman" w:hAnsi="Times New Roman" '
            f'w:eastAsia="{BODY_FONT}" w:cs="Times New Roman"/>'
            '<w:kern w:val="2"/><w:sz w:val="32"/><w:szCs w:val="32"/>'
            '<w:lang w:val="zh-CN" w:eastAsia="zh-CN" w:bidi="ar-SA"/>'
            "</w:rPr></w:rPrDefault><w:pPrDefault><w:pPr>"
            '<w:spacing w:before="0" w:after="0" w:line="579" w:lineRule="exact"/>'
            '<w:jc w:val="both"/>'
            "</w:pPr></w:pPrDefault></w:docDefaults>"
        ),
    )
    normal = doc.styles["Normal"]
    normal.font.name = "Times New Roman"
    normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), BODY_FONT)
    normal.font.size = Pt(16)
    _font_table(doc)
    _page_numbers(doc)
    # Fixed metadata (the program fills in the center and the date when it prints).
    props = doc.core_properties
    props.author = props.last_modified_by = ""
    props.title = props.comments = props.subject = props.keywords = ""
    return doc


def _font_table(doc: Document) -> None:
    part = next(p for p in doc.part.package.iter_parts() if p.partname == "/word/fontTable.xml")
    xml = part.blob.decode("utf-8")
    entries = "".join(
        f'<w:font w:name="{name}"><w:altName w:val="{alt}"/><w:panose1 w:val="{panose}"/>'
        f'<w:charset w:val="86"/><w:family w:val="{family}"/><w:pitch w:val="{pitch}"/></w:font>'
        for name, (alt, panose, family, pitch) in _FONTS.items()
    )
    part._blob = xml.replace("</w:fonts>", entries + "</w:fonts>").encode("utf-8")


def _page_numbers(doc: Document) -> None:
    """— 1 — in 4号 宋体: odd pages one character in from the right, even pages from
    the left (GB/T 9704-2012 7.5)."""
    settings = doc.settings.element
    settings.append(OxmlElement("w:evenAndOddHeaders"))
    section = doc.sections[0]
    for footer, align, indent in (
        (section.footer, WD_ALIGN_PARAGRAPH.RIGHT, "right"),
        (section.even_page_footer, WD_ALIGN_PARAGRAPH.LEFT, "left"),
    ):
        footer.is_linked_to_previous = False
        p = footer.paragraphs[0]
        p.alignment = align
        p.paragraph_format.line_spacing = Pt(14)
        ind = OxmlElement("w:ind")
        ind.set(qn(f"w:{indent}"), "280")  # one 4号 character (14 pt)
        p._p.get_or_add_pPr().append(ind)
        _run(p, "— ", NUMBER_FONT, 14)
        _field(p, "PAGE", NUMBER_FONT, 14)
        _run(p, " —", NUMBER_FONT, 14)


def _field(p, code: str, font: str, size: float) -> None:
    for kind in ("begin", None, "separate", "1", "end"):
        run = _run(p, "", font, size)
        if kind in ("begin", "separate", "end"):
            char = OxmlElement("w:fldChar")
            char.set(qn("w:fldCharType"), kind)
            run._r.append(char)
        elif kind is None:
            instr = OxmlElement("w:instrText")
            instr.set(qn("xml:space"), "preserve")
            instr.text = f" {code} "
            run._r.append(instr)
        else:
            run.text = kind


def _run(p, text: str, font: str, size: float, *, color: RGBColor | None = None, bold=False):
    run = p.add_run(text)
    run.font.size = Pt(size)
    run.font.name = font if font != BODY_FONT else "Times New Roman"
    run._r.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), font)
    if color is not None:
        run.font.color.rgb = color
    run.bold = bold
    return run


def _para(doc_or_cell, text: str = "", *, font: str = BODY_FONT, size: float = 16, **kw):
    p = doc_or_cell.add_paragraph()
    align = kw.pop("align", None)
    if align is not None:
        p.alignment = align
    fmt = p.paragraph_format
    fmt.line_spacing = kw.pop("line", LINE)
    if kw.pop("indent", False):
        ind = OxmlElement("w:ind")
        ind.set(qn("w:firstLineChars"), "200")  # two characters
        ind.set(qn("w:firstLine"), "640")
        p._p.get_or_add_pPr().append(ind)
    right_chars = kw.pop("right_chars", 0)
    if right_chars:
        ind = OxmlElement("w:ind")
        ind.set(qn("w:rightChars"), str(right_chars * 100))
        ind.set(qn("w:right"), str(right_chars * 320))
        p._p.get_or_add_pPr().append(ind)
    if text:
        _run(p, text, font, size, **kw)
    return p


def _masthead(doc: Document) -> None:
    """The center's name in red 小标宋 over a red double rule (上粗下细), 170 mm long,
    in the first page's header, about 30 mm from the top edge (信函格式, 10.1); the
    first page shows no page number."""
    section = doc.sections[0]
    section.different_first_page_header_footer = True
    header = section.first_page_header
    header.is_linked_to_previous = False
    p = header.paragraphs[0]
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    p.paragraph_format.line_spacing = Pt(34)
    _run(p, "{{ center }}", TITLE_FONT, 26, color=RED)
    ppr = p._p.get_or_add_pPr()
    ppr.append(
        parse_xml(
            f'<w:pBdr {nsdecls("w")}><w:bottom w:val="thickThinSmallGap" w:sz="24" '
            'w:space="4" w:color="E60012"/></w:pBdr>'
        )
    )
    ind = OxmlElement("w:ind")
    ind.set(qn("w:left"), "-397")  # 7 mm each side beyond the 156 mm text block
    ind.set(qn("w:right"), "-397")
    ppr.append(ind)


def _number(doc: Document) -> None:
    _para(doc, "编号：{{ number }}", align=WD_ALIGN_PARAGRAPH.RIGHT, size=16)


def _title(doc: Document, text: str, size: float = 22):
    return _para(
        doc, text, font=TITLE_FONT, size=size, align=WD_ALIGN_PARAGRAPH.CENTER, line=Pt(40)
    )


def _signature(doc: Document, who: str = "{{ center }}", when: str = "{{ date }}") -> None:
    """The issuer with the place for its seal, and the date, four characters from the
    right (the seal is pressed over both, 7.3.5.1)."""
    right = WD_ALIGN_PARAGRAPH.RIGHT
    p = _para(doc, who, right_chars=4, align=right, line=Pt(40))
    _run(p, "（盖章）", BODY_FONT, 16, color=SEAL)
    _para(doc, when, right_chars=4, align=right)


def _table(doc: Document, rows: list[tuple[str, ...]], widths: list[float]) -> None:
    """A ruled table in 4号 仿宋: label cells centred, values left."""
    table = doc.add_table(rows=0, cols=len(widths))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    for values in rows:
        cells = table.add_row().cells
        spans = []
        for i, text in enumerate(values):
            if text == "<":  # merged with the cell before it
                spans.append(i)
                continue
            cell = cells[i]
            cell.width = Mm(widths[i])
            p = cell.paragraphs[0]
            p.paragraph_format.line_spacing = TABLE_LINE
            p.paragraph_format.space_before = p.paragraph_format.space_after = Pt(2)
            p.alignment = WD_ALIGN_PARAGRAPH.CENTER if i % 2 == 0 else WD_ALIGN_PARAGRAPH.LEFT
            _run(p, text, BODY_FONT, 14)
        for i in reversed(spans):
            cells[i - 1].merge(cells[i])
            # A merged cell keeps the first cell's paragraph only.
            for extra in cells[i - 1].paragraphs[1:]:
                extra._p.getparent().remove(extra._p)
    for row in table.rows:
        for i, cell in enumerate(row.cells):
            cell.width = Mm(widths[i])
    grid = table._tbl.tblGrid
    for i, col in enumerate(grid.findall(qn("w:gridCol"))):
        col.set(qn("w:w"), str(int(widths[i] * 56.7)))


def work_order() -> None:
    doc = _document()
    _masthead(doc)
    _number(doc)
    _title(doc, "“办不成事”反映事项派单单")
    _para(doc, "{{ unit }}：")
    _para(
        doc,
        "现将群众反映的以下事项派你单位办理。请当日与反映人联系，于办结期限前办结，并将办理"
        "结果填写回执反馈窗口；确需延期的，请在期限届满前说明理由并报批。{{ round_note }}",
        indent=True,
    )
    _table(
        doc,
        [
            ("派单时间", "{{ dispatched }}", "分　　类", "{{ category }}"),
            ("主办单位", "{{ unit }}", "协办单位", "{{ helpers }}"),
            ("反 映 人", "{{ citizen }}", "联系电话", "{{ phone }}"),
            ("受理时间", "{{ received }}", "受阻部门", "{{ department }}"),
            ("反映事项", "{{ matter }}", "<", "<"),
            ("办理时限", "{{ limit }}", "办结期限", "{{ due }}"),
            ("单位期限", "{{ unit_due }}", "<", "<"),
        ],
        [26, 52, 26, 52],
    )
    _para(doc, "{{ provisional_note }}", size=12, line=Pt(18))
    _para(doc, "窗口经办人：{{ operator }}　　签字：＿＿＿＿＿＿", line=Pt(40))
    _signature(doc)
    _title(doc, "派单单回执", size=22).paragraph_format.page_break_before = True
    _para(
        doc,
        "（由主办单位办结后填写并盖章，交回办不成事反映窗口）",
        size=14,
        align=WD_ALIGN_PARAGRAPH.CENTER,
    )
    _table(
        doc,
        [
            ("编　　号", "{{ number }}", "办结期限", "{{ due }}"),
            ("主办单位", "{{ unit }}", "<", "<"),
            ("办理结果", "\n\n\n\n", "<", "<"),
            ("长效机制", "□已形成（名称：　　　　　　　　　　）　□未形成", "<", "<"),
            ("办结日期", "　　年　　月　　日", "联系电话", ""),
        ],
        [26, 52, 26, 52],
    )
    _para(doc, "")
    _para(doc, "主办单位经办人（签字）：＿＿＿＿＿＿", line=Pt(32))
    _para(doc, "主办单位负责人（签字）：＿＿＿＿＿＿", line=Pt(32))
    _signature(doc, "{{ unit }}", "　　年　　月　　日")
    doc.save(OUT / "work_order.docx")


def notice() -> None:
    doc = _document()
    _masthead(doc)
    _number(doc)
    _title(doc, "告　知　书")
    _para(doc, "{{ citizen }}：")
    _para(
        doc,
        "您于{{ received }}反映的“{{ matter }}”事项，经本中心核实，该事项不能办理。理由如下："
        "{{ reasons }}",
        indent=True,
    )
    _para(doc, "依据：{{ basis }}", indent=True)
    _para(doc, "您可以：{{ alternative }}", indent=True)
    _para(doc, "如对本答复有异议，可向本中心“办不成事”反映窗口或12345热线反映。", indent=True)
    _para(doc, "特此告知。", indent=True)
    _para(doc, "")
    _signature(doc)
    _para(doc, "")
    _para(doc, "窗口经办人：{{ operator }}", size=14, line=Pt(24))
    doc.save(OUT / "notice.docx")


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    work_order()
    notice()
    print(f"templates written to {OUT}")
