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
