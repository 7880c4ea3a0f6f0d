"""The one-page daily roll-up as PDF: written by daily-report --pdf and by export,
reproducible, and a clear refusal when there is no Chinese font (what the page looks
like, read back with poppler, is in test_paper.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ("report_fixture",)  # the `window` fixture

LATER = "2026-10-20 09:00"
DAY = "2026-10-09"


def _font_or_skip():
    from banbucheng.core.errors import BbcError
    from banbucheng.reports import paper

    try:
        return paper.find_font()
    except BbcError:
        pytest.skip("no Chinese font on this machine (CI installs fonts-noto-cjk)")


def test_daily_report_pdf_is_one_reproducible_a4_page(bbc, window, tmp_path):
    _font_or_skip()
    a, b = tmp_path / "a.pdf", tmp_path / "b.pdf"
    result = bbc("daily-report", "--date", DAY, "--pdf", str(a), now=LATER)
    assert result.stdout == "" and f"已写入 {a}" in result.stderr
    bbc("daily-report", "--date", DAY, "--pdf", str(b), now="2026-10-25 17:00")
    assert a.read_bytes() == b.read_bytes()
    raw = a.read_bytes()
    assert raw.startswith(b"%PDF-")
    assert b"/Count 1" in raw and b"/MediaBox [0 0 595.28 841.89]" in raw  # one A4 page
    assert b"/FontFile3" in raw or b"/FontFile2" in raw  # the font is embedded


def test_pdf_switch_conflicts_and_missing_font(bbc, window, tmp_path, monkeypatch):
    message = bbc.refused("daily-report", "--pdf", str(tmp_path / "x.pdf"), "--json", now=LATER)
    assert "--pdf" in message
    monkeypatch.setenv("BBC_PDF_FONT", str(tmp_path / "none.ttf"))
    message = bbc.refused("daily-report", "--pdf", str(tmp_path / "x.pdf"), now=LATER)
    assert message.startswith("错误：") and "字体" in message
    assert not (tmp_path / "x.pdf").exists()
    # The cron export writes nothing rather than three files of four.
    message = bbc.refused("export", "--dir", str(tmp_path / "out"), "--date", DAY, now=LATER)
    assert "字体" in message
    assert list((tmp_path / "out").iterdir()) == []


def test_a_font_that_is_not_a_font(bbc, window, tmp_path, monkeypatch):
    fake = tmp_path / "fake.ttf"
    fake.write_bytes(b"not a font")
    monkeypatch.setenv("BBC_PDF_FONT", str(fake))
    message = bbc.refused("daily-report", "--pdf", str(tmp_path / "x.pdf"), now=LATER)
    assert "字体" in message and "无法嵌入" in message


def test_an_empty_day_still_makes_a_page(bbc, tmp_path):
    _font_or_skip()
    path = tmp_path / "empty.pdf"
    bbc("daily-report", "--date", "2026-11-02", "--pdf", str(path), now="2026-11-03 09:00")
    assert path.read_bytes().startswith(b"%PDF-")


def test_the_font_is_found(monkeypatch, tmp_path: Path):
    font = _font_or_skip()
    assert font.path.is_file()
    monkeypatch.setenv("BBC_PDF_FONT", str(font.path))
    from banbucheng.reports import paper

    assert paper.find_font().path == font.path


def test_a_full_page_keeps_the_trend_legible(tmp_path):
    """Many overdue cases and units fill the page: the overdue table lists fewer and
    counts the rest, rather than squeezing the trend's plot to a sliver whose legend
    runs into the footer (as it did)."""
    import os
    import re
    import shutil
    import subprocess
    import sys

    import bulkgen

    from banbucheng.reports.paper import CHART_MIN

    _font_or_skip()
    if not shutil.which("pdftotext"):
        pytest.skip("poppler's pdftotext is not installed (CI installs poppler-utils)")
    store, pdf = tmp_path / "bbc.sqlite3", tmp_path / "r.pdf"
    bulkgen.build(f"sqlite:///{store}", 1000)  # 31 overdue cases in 9 units
    env = dict(os.environ, BBC_DB=str(store), BBC_NOW=f"{bulkgen.NOW:%Y-%m-%d %H:%M}")
    subprocess.run(
        [sys.executable, "-m", "banbucheng", "daily-report", "--pdf", str(pdf)],
        env=env, check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    words = subprocess.run(
        ["pdftotext", "-bbox", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout
    top = {w: float(y) for y, w in re.findall(r'yMin="([\d.]+)"[^>]*>([^<]+)<', words)}
    bottom = {w: float(y) for y, w in re.findall(r'yMax="([\d.]+)"[^>]*>([^<]+)<', words)}
    first_day = next(w for w in top if re.fullmatch(r"\d{1,2}/\d{1,2}", w))
    plot = (top[first_day] - bottom["件数"]) * 25.4 / 72  # from the axis title to the days
    assert plot >= CHART_MIN, plot
    assert bottom["休息日"] < top["第"]  # the legend clear of the footer
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout
    shown = len(re.findall(r"^\s*BB\d{8}-\d{3}", text, re.M))
    assert 0 < shown < 31 and f"及其余{31 - shown}件" in re.sub(r"\s", "", text)
