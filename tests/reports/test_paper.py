"""What the office holds in its hands: the daily export's workbook, the period
ranking, the work order and the notice printed to PDF by LibreOffice headless (as a
person would), and bbc's own one-page PDF, read back with poppler.

Skipped when LibreOffice or poppler is missing, except in CI (CI=true), where that is
a failure: .ci/run installs libreoffice-calc, libreoffice-writer, fonts-noto-cjk and
poppler-utils. Everything is converted once, in one LibreOffice run (paper_pipeline).
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import paper_pipeline as pipeline

A4 = "595.304 x 841.89 pts (A4)"
A4_LANDSCAPE = "841.89 x 595.304 pts (A4)"
CASE_NUMBER = re.compile(r"BB\d{8}-\d{3}")
ENGLISH_WORD = re.compile(r"[A-Za-z]{2,}")


@pytest.fixture(scope="session")
def papers(tmp_path_factory: pytest.TempPathFactory):
    missing = pipeline.tools_missing()
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must have {', '.join(missing)} (.ci/run installs them)")
        pytest.skip(f"not installed: {', '.join(missing)}")
    return pipeline.make_papers(tmp_path_factory.mktemp("paper"))


def _flat(text: str) -> str:
    """The text without spaces: pdftotext spaces out letter-spaced titles."""
    return re.sub(r"\s+", "", text)


def _clean(text: str) -> None:
    """No placeholder, no empty basis, no OS login, no English word on the paper."""
    assert "（无）" not in text and "{{" not in text and "root" not in text
    words = ENGLISH_WORD.findall(CASE_NUMBER.sub("", text))
    assert not words, words


def test_every_paper_is_a4(papers):
    files, _ = papers
    for key in ("daily_xlsx", "report_xlsx", "work_order", "notice"):
        _, size = pipeline.pdf_pages(files[f"{key}.pdf"])
        assert size in (A4, A4_LANDSCAPE), (key, size)
    pages, size = pipeline.pdf_pages(files["daily_pdf"])
    assert pages == 1 and size.startswith("595.2") and "(A4)" in size


def test_the_daily_workbook_prints(papers):
    files, numbers = papers
    pdf = files["daily_xlsx.pdf"]
    pages, _ = pipeline.pdf_pages(pdf)
    texts = [pipeline.pdf_text(pdf, page) for page in range(1, pages + 1)]
    # Each page's header names the report, its sheet and the date; the footer counts.
    for n, text in enumerate(texts, start=1):
        assert "每日汇总" in text and "2026-10-09" in text, n
        assert f"第 {n} 页 共 {pages} 页" in text, n
    # The summary is one page, labels and values together.
    summary = [t for t in texts if "每日汇总汇总" in _flat(t)]
    assert len(summary) == 1
    for label in ("今日新登记", "今日办结", "累计按期办结率", "累计满意率"):
        assert label in summary[0]
    assert "76.2%" in summary[0] and "按期 16 ÷" in summary[0] and "按期 4，超期 0" in summary[0]
    # The overdue sheet (3 rows) is one page, with every column.
    late = [t for t in texts if "每日汇总超期案件" in _flat(t)]
    assert len(late) == 1 and "反映事项" in late[0] and "编号" in late[0]
    for number in numbers["overdue"].split(","):
        assert number in late[0]
    assert "2026年9月23日" in late[0]  # a date, in its Chinese format
    assert pages <= 10  # one page per part and the chart (it was 19)
    _clean("\n".join(texts))


def test_the_ranking_prints_one_page_wide(papers):
    files, _ = papers
    pdf = files["report_xlsx.pdf"]
    pages, _ = pipeline.pdf_pages(pdf)
    ranking = [
        text
        for text in (pipeline.pdf_text(pdf, page) for page in range(1, pages + 1))
        if "期间统计各单位排名" in _flat(text)
    ]
    assert len(ranking) == 1  # six units: one page, all seventeen columns
    for header in ("名次", "单位", "按期办结率", "满意率", "综合得分"):
        assert header in ranking[0]
    assert "人社局" in ranking[0] and "100.0%" in ranking[0]
    _clean("\n".join(ranking))


def test_the_work_order_prints(papers):
    files, numbers = papers
    pdf = files["work_order.pdf"]
    pages, _ = pipeline.pdf_pages(pdf)
    assert pages == 2  # the order, and the reply slip for the unit
    text = pipeline.pdf_text(pdf)
    flat = _flat(text)
    assert "反映事项派单单" in flat and "派单单回执" in flat
    assert numbers["li"] in text and "省农保中心" in text
    assert "2026年10月20日" in flat  # the day it was dispatched
    assert "窗口经办人：窗口甲" in flat  # who dispatched it, not who printed it
    assert "（盖章）" in text and "签字" in text
    _clean(text)


def test_the_notice_prints(papers):
    files, numbers = papers
    pdf = files["notice.pdf"]
    pages, _ = pipeline.pdf_pages(pdf)
    assert pages == 1
    text = pipeline.pdf_text(pdf)
    flat = _flat(text)
    assert "告知书" in flat and numbers["stall"] in text
    assert "依据：《中华人民共和国消防法》第二十八条。" in flat
    assert "您可以：可向所在街道申请在规划的便民市场设摊。" in flat
    assert "2026年10月20日" in flat and "2026年10月22日" not in flat  # the reply's day
    _clean(text)


def test_the_one_page_roll_up(papers):
    files, numbers = papers
    text = pipeline.pdf_text(files["daily_pdf"])
    flat = _flat(text)
    assert "办不成事反映窗口" in flat and "每日汇总" in flat
    assert "2026年10月9日" in flat
    for number in numbers["overdue"].split(","):
        assert number in text
    assert "有超期案件的单位" in flat and "市场监管局" in text
    assert "近30天新登记与办结" in flat
    _clean(text)
