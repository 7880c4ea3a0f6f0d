"""The key-figures box of a report fits the terminal: a long value (a rate with its
counts, as a store of some years has) wraps inside its cell at 80 columns."""

from __future__ import annotations

import re

import pytest

from banbucheng.core.text import width
from banbucheng.reports import render

RATE = "82.1%（按期 8169 ÷ (办结 9676 + 超期未办结 269)）"


@pytest.mark.parametrize("columns", [60, 80, 160])
def test_facts_box_fits(monkeypatch, capsys, columns):
    monkeypatch.setattr(render, "columns", lambda: columns)
    monkeypatch.setattr(render, "_colour", lambda: False)
    render._facts("汇总", [("下一工作日（2026-11-30）到期", "7"), ("累计按期办结率", RATE)])
    lines = capsys.readouterr().out.splitlines()
    assert all(width(line) <= columns for line in lines), lines

    # Every line of the box has its two borders where the top line has them.
    def at(line: str, marks: str) -> set[int]:  # display columns, CJK counting two
        return {width(line[:i]) for i, ch in enumerate(line) if ch in marks}

    joints = at(lines[1], "┌┬┐")
    for line in lines[2:-1]:
        assert at(line, "│") == joints, line
    inside = "".join(line.split("│")[2].strip() for line in lines[2:-1])
    assert RATE.replace(" ", "") in inside.replace(" ", "")  # nothing lost
    for number in ("8169", "9676", "269", "82.1%", "2026-11-30"):
        assert re.search(re.escape(number), "\n".join(lines)), number  # never split
    if columns == 160:
        assert len(lines) == 5  # title, top, two rows, bottom: room enough, no wrap
