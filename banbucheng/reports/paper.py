"""The daily roll-up on one A4 page, as PDF, for the leading-group office to file.

One page whatever the day brings: the key figures, the units with overdue cases, the
overdue cases (the most overdue first, at most OVERDUE_ROWS and fewer on a full page,
then a line 及其余 K 件)
and the 30-day trend drawn as a bar chart. Built from the daily Document
(layouts.daily_document) with fpdf2; no personal data (the citizen column is left
out, not just masked).

The Chinese font is embedded in the PDF (only the characters used), so the page reads
the same in any PDF viewer and prints anywhere. It is taken from the machine:
BBC_PDF_FONT (a .ttf, .otf or .ttc file) when set, else what fontconfig offers for
Simplified Chinese (`fc-match`), else the usual places of Noto Sans CJK, WenQuanYi
and the Windows and macOS system fonts (find_font). fpdf2 is imported only here.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from banbucheng.core.errors import BbcError
from banbucheng.reports.document import Document, cell_text

OVERDUE_ROWS = 12  # overdue cases listed by name; the rest are counted
# The trend's plot is never squeezed below this (mm): on a full page the overdue table
# lists fewer cases instead (the rest counted, as ever).
CHART_MIN = 36.0
_BOTTOM = 297 - 12 - 14  # the lowest the plot goes: room for its axis and the footer
_ROW, _HEAD_ROW, _REST = 5.6, 6.0, 6.0  # a table's row and header, the 及其余 line (mm)
_ABOVE, _LINE, _BELOW = 2.5, 6.5, 1  # a section heading: space above, its line, space below
_HEADING = _ABOVE + _LINE + _BELOW
UNIT_ROWS = 8  # units with overdue cases listed by name

# Where a Simplified Chinese font usually is, best first: (path, face in a collection).
_KNOWN_FONTS = [
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",  # Debian, Ubuntu
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",  # Fedora
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",  # Arch
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "C:/Windows/Fonts/simhei.ttf",
    "C:/Windows/Fonts/msyh.ttc",
    "C:/Windows/Fonts/simsun.ttc",
    "/System/Library/Fonts/Supplemental/Songti.ttc",
    "/Library/Fonts/Arial Unicode.ttf",
]


class FontMissing(BbcError):
    """No font with Chinese characters to embed."""

    exit_code = 1


@dataclass(frozen=True)
class Font:
    path: Path
    index: int = 0  # the face in a font collection (.ttc)


def find_font() -> Font:
    """The Simplified Chinese font to embed: BBC_PDF_FONT, fontconfig's choice, or a
    known system font."""
    chosen = os.environ.get("BBC_PDF_FONT", "").strip()
    if chosen:
        path = Path(chosen).expanduser()
        if not path.is_file():
            raise FontMissing(f"BBC_PDF_FONT 指定的字体文件不存在：{path}")
        return Font(path, _sc_face(path))
    if shutil.which("fc-match"):
        try:
            found = subprocess.run(
                ["fc-match", "-f", "%{file}\n%{index}\n%{lang}", "sans-serif:lang=zh-cn"],
                capture_output=True,
                text=True,
                timeout=10,
            ).stdout.split("\n")
            path, index, langs = Path(found[0]), int(found[1] or 0), found[2].split("|")
            # fontconfig falls back to any font; take it only if it covers Chinese.
            if path.suffix.lower() in (".ttf", ".otf", ".ttc") and "zh-cn" in langs:
                return Font(path, index)
        except (OSError, ValueError, IndexError, subprocess.SubprocessError):
            pass
    for name in _KNOWN_FONTS:
        path = Path(name)
        if path.is_file():
            return Font(path, _sc_face(path))
    raise FontMissing(
        "找不到中文字体，无法生成 PDF：请安装 Noto CJK 字体（如 apt-get install fonts-noto-cjk），"
        "或用环境变量 BBC_PDF_FONT 指定字体文件"
    )


def _sc_face(path: Path) -> int:
    """In a collection, the Simplified Chinese face (Noto's 'SC'), else the first."""
    if path.suffix.lower() != ".ttc":
        return 0
    try:
        from fontTools.ttLib import TTCollection

        faces = TTCollection(str(path), lazy=True).fonts
        names = [str(f["name"].getDebugName(1) or "") for f in faces]
    except Exception:  # an unreadable collection: let fpdf2 try the first face
        return 0
    return next((i for i, n in enumerate(names) if n.endswith(" SC")), 0)


# ---------------------------------------------------------------- the page

_INK = (0, 0, 0)
_GREY = (110, 110, 110)
_RULE = (170, 170, 170)
_HEAD_FILL = (221, 235, 247)
_NEW = (68, 114, 196)  # 新登记
_CLOSED = (192, 80, 77)  # 办结
_LATE = (192, 0, 0)

_W = 180.0  # text width in mm: A4 less 15 mm margins


def daily_pdf(doc: Document, font: Font | None = None) -> bytes:
    """The daily roll-up (a layouts.daily_document) as a one-page A4 PDF."""
    from fpdf import FPDF

    font = font or find_font()
    data = doc.data
    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_auto_page_break(False)
    pdf.set_margins(15, 12, 15)
    try:
        # One face only: embedding a CJK font costs about a second per face.
        pdf.add_font("cjk", fname=str(font.path), collection_font_number=font.index)
    except Exception as exc:
        raise FontMissing(f"字体 {font.path} 无法嵌入 PDF（{type(exc).__name__}）") from None
    stamp = doc.as_of.astimezone(UTC)
    pdf.set_creation_date(stamp)
    pdf.set_title(doc.title)
    pdf.set_author(data["center"])
    pdf.set_creator(data["center"])
    pdf.set_producer(data["center"])
    pdf.set_subject(doc.subtitle)
    pdf.set_lang("zh-CN")
    pdf.add_page()

    page = _Page(pdf)
    page.title(doc)
    page.summary(data)
    page.units(data)
    page.overdue(doc)
    page.trend(doc)
    page.footer(doc)
    return bytes(pdf.output())


class _Page:
    def __init__(self, pdf: Any) -> None:
        self.pdf = pdf

    # ------------------------------------------------------------ helpers

    def font(self, size: float, color: tuple[int, int, int] = _INK) -> None:
        self.pdf.set_font("cjk", size=size)
        self.pdf.set_text_color(*color)

    def fit(self, text: str, width: float) -> str:
        """The text cut to `width` mm, with an ellipsis when cut."""
        if self.pdf.get_string_width(text) <= width:
            return text
        while text and self.pdf.get_string_width(text + "…") > width:
            text = text[:-1]
        return text + "…"

    def heading(self, text: str) -> None:
        pdf = self.pdf
        pdf.ln(_ABOVE)
        self.font(11.5)
        pdf.cell(_W, _LINE, text, new_x="LMARGIN", new_y="NEXT")
        pdf.set_draw_color(*_RULE)
        pdf.line(15, pdf.get_y(), 15 + _W, pdf.get_y())
        pdf.ln(_BELOW)

    def table(self, headers: list[tuple[str, float, str]], rows: list[list[str]]) -> None:
        """headers: (text, width in mm, align L/R/C); rows of cell texts."""
        pdf = self.pdf
        self.font(9)
        pdf.set_fill_color(*_HEAD_FILL)
        for text, width, align in headers:
            pdf.cell(width, _HEAD_ROW, text, align=align, fill=True)
        pdf.ln(_HEAD_ROW)
        for row in rows:
            for (_, width, align), text in zip(headers, row, strict=True):
                pdf.cell(width, _ROW, self.fit(text, width - 1.5), align=align)
            pdf.ln(_ROW)

    # ------------------------------------------------------------ parts

    def title(self, doc: Document) -> None:
        pdf, data = self.pdf, doc.data
        self.font(18)
        pdf.cell(_W, 10, f"{data['center']} 办不成事反映窗口", align="C", new_x="LMARGIN")
        pdf.ln(9.5)
        self.font(15)
        pdf.cell(_W, 8, "每 日 汇 总", align="C", new_x="LMARGIN")
        pdf.ln(8.5)
        day = datetime.fromisoformat(data["date"])
        self.font(10, _GREY)
        as_of = data["as_of"][:16].replace("T", " ")
        pdf.cell(_W, 6, f"{day.year}年{day.month}月{day.day}日（截至 {as_of}）", align="C")
        pdf.ln(7)
        pdf.set_draw_color(*_LATE)
        pdf.set_line_width(0.6)
        pdf.line(15, pdf.get_y(), 15 + _W, pdf.get_y())
        pdf.set_line_width(0.2)
        pdf.ln(1)

    def summary(self, data: dict[str, Any]) -> None:
        cat, sub, run = data["by_category"], data["by_subtype"], data["running"]

        def pct(value: float | None) -> str:
            return "—" if value is None else f"{value * 100:.1f}%"

        cells = [
            ("今日新登记", f"{data['registered']} 件"),
            (
                "其中",
                f"应办未办 {cat['unhandled']}（很难办 {sub['hard']}，"
                f"不作为/吃拿卡要 {sub['misconduct']}），完全不能 {cat['impossible']}，"
                f"待分类 {cat['unclassified']}",
            ),
            (
                "今日办结",
                f"{data['closed']} 件（按期 {data['closed_on_time']}，超期 {data['closed_late']}；"
                f"答复不能办理 {data['replied']}）",
            ),
            ("在办", f"{data['open']} 件"),
            ("超期", f"{data['overdue']} 件"),
            ("下一工作日到期", f"{data['due_next_workday']} 件（{data['next_workday']}）"),
            ("今日上报领导小组", f"{data['escalated']} 件"),
            ("今日移交纪检组", f"{data['referred']} 件"),
            ("期限暂定", f"{data['provisional']} 件"),
            ("累计受理", f"{data['total']} 件"),
            ("累计办结（件次）", f"{run['closed']} 件"),
            (
                "累计按期办结率",
                f"{pct(run['on_time_rate'])}（按期 {run['closed_on_time']} ÷ "
                f"(办结 {run['closed']} + 超期未办结 {run['overdue_open']})）",
            ),
            ("累计满意率", f"{pct(run['satisfaction_rate'])}（回访 {run['visits']} 次）"),
        ]
        self.heading("一、汇总")
        pdf = self.pdf
        wide = {"其中", "今日办结", "累计按期办结率"}
        column = 0
        for label, value in cells:
            if label in wide:
                if column:
                    pdf.ln(5.8)
                    column = 0
                self.font(9.5, _GREY)
                pdf.cell(40, 5.8, label)
                self.font(9.5)
                pdf.cell(_W - 40, 5.8, self.fit(value, _W - 41))
                pdf.ln(5.8)
                continue
            self.font(9.5, _GREY)
            pdf.cell(40, 5.8, self.fit(label, 39))
            self.font(9.5, _LATE if label == "超期" and data["overdue"] else _INK)
            pdf.cell(50, 5.8, value)
            column += 1
            if column == 2:
                pdf.ln(5.8)
                column = 0
        if column:
            pdf.ln(5.8)

    def units(self, data: dict[str, Any]) -> None:
        late = [r for r in data["by_unit"] if r["overdue"]]
        self.heading("二、有超期案件的单位")
        if not late:
            self.font(9.5)
            self.pdf.cell(_W, 6, "无超期案件。", new_x="LMARGIN", new_y="NEXT")
            return
        rows = [
            [
                r["unit"] or "（未派单）",
                r["contact"] or "—",
                str(r["overdue"]),
                str(r["open"]),
                str(r["closed"]),
            ]
            for r in late[:UNIT_ROWS]
        ]
        self.table(
            [
                ("单位", 62, "L"),
                ("联系方式", 58, "L"),
                ("超期", 20, "R"),
                ("在办", 20, "R"),
                ("今日办结", 20, "R"),
            ],
            rows,
        )
        self.rest(len(late) - UNIT_ROWS, "个单位")

    def overdue(self, doc: Document) -> None:
        import heapq

        section = doc.section("overdue")
        # Only the first OVERDUE_ROWS are listed: just those are kept (nsmallest gives
        # what sorted()[:n] gives, equals in their order), not every overdue case.
        cases = heapq.nsmallest(
            OVERDUE_ROWS,
            section.rows,
            key=lambda r: (-(r.get("days_overdue") or 0), r.get("due_date") or ""),
        )
        total = len(section.rows)
        self.heading(f"三、超期案件（{total} 件，超期最久的在前）")
        # As many as leave the trend its plot: below the table come the line counting
        # the rest, the trend's heading and the plot, 4 mm under that heading.
        room = _BOTTOM - CHART_MIN - 4 - _HEADING - _REST - _HEAD_ROW - self.pdf.get_y()
        cases = cases[: max(1, min(OVERDUE_ROWS, int(room // _ROW)))]
        if not cases:
            self.font(9.5)
            self.pdf.cell(_W, 6, "无。", new_x="LMARGIN", new_y="NEXT")
            return
        columns = {c.key: c for c in section.columns}
        rows = [
            [
                r["number"],
                r.get("unit") or "（未派单）",
                r.get("category_label") or "—",
                cell_text(columns["due_date"], r),
                str(r.get("days_overdue") or 0),
                r.get("matter") or "",
            ]
            for r in cases
        ]
        self.table(
            [
                ("编号", 30, "L"),
                ("主办单位", 30, "L"),
                ("分类", 28, "L"),
                ("到期日", 30, "L"),
                ("超期工作日", 20, "R"),
                ("　反映事项", 42, "L"),
            ],
            rows,
        )
        self.rest(total - len(cases), "件")

    def rest(self, more: int, unit: str) -> None:
        if more > 0:
            self.font(9.5)
            self.pdf.cell(_W, _REST, f"及其余 {more} {unit}（详见同日每日汇总的表格）")
            self.pdf.ln(_REST)

    def trend(self, doc: Document) -> None:
        """The 30 days as bars: new cases and closures side by side, per day."""
        pdf = self.pdf
        rows = doc.section("trend").rows
        first, last = rows[0]["date"], rows[-1]["date"]
        self.heading(f"四、近{len(rows)}天新登记与办结（{first} 至 {last}）")
        top = max([r["registered"] for r in rows] + [r["closed"] for r in rows] + [1])
        step = max(1, -(-top // 5))
        top = step * -(-top // step)
        left, width = 27.0, _W - 12 - 24
        y0 = pdf.get_y() + 4
        bottom = min(y0 + 52, _BOTTOM)
        height = bottom - y0
        self.font(8, _GREY)
        pdf.set_draw_color(*_RULE)
        for value in range(0, top + 1, step):
            y = bottom - height * value / top
            pdf.line(left, y, left + width, y)
            pdf.text(left - 2 - pdf.get_string_width(str(value)), y + 1.2, str(value))
        slot = width / len(rows)
        bar = slot * 0.36
        for i, r in enumerate(rows):
            x = left + i * slot + slot * 0.14
            if not r["workday"]:
                pdf.set_fill_color(242, 242, 242)
                pdf.rect(left + i * slot, y0, slot, height, style="F")
            for j, (key, color) in enumerate((("registered", _NEW), ("closed", _CLOSED))):
                value = r[key] or 0
                if value:
                    h = height * value / top
                    pdf.set_fill_color(*color)
                    pdf.rect(x + j * bar, bottom - h, bar, h, style="F")
            if i % 5 == 0 or i == len(rows) - 1:
                day = datetime.fromisoformat(r["date"])
                label = f"{day.month}/{day.day}"
                pdf.text(x + bar - pdf.get_string_width(label) / 2, bottom + 4, label)
        pdf.set_draw_color(*_INK)
        pdf.line(left, bottom, left + width, bottom)
        # The legend, to the right of the plot.
        lx = left + width + 3
        for k, (text, color) in enumerate((("新登记", _NEW), ("办结", _CLOSED))):
            pdf.set_fill_color(*color)
            pdf.rect(lx, y0 + 2 + k * 6, 3, 3, style="F")
            self.font(8.5)
            pdf.text(lx + 4.5, y0 + 4.6 + k * 6, text)
        pdf.set_fill_color(242, 242, 242)
        pdf.rect(lx, y0 + 14, 3, 3, style="F")
        self.font(8, _GREY)
        pdf.text(lx + 4.5, y0 + 16.6, "休息日")
        self.font(8, _GREY)
        pdf.text(left - 10, y0 - 1, "件数")
        pdf.set_y(bottom + 6)

    def footer(self, doc: Document) -> None:
        pdf = self.pdf
        self.font(8.5, _GREY)
        pdf.set_xy(15, 297 - 12 - 5)
        pdf.cell(_W / 2, 5, f"{doc.data['center']} 办不成事反映窗口", align="L")
        pdf.cell(_W / 2, 5, "第 1 页 共 1 页", align="R")
