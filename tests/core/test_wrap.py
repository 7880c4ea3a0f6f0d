"""core.text.wrap: how every long text (matters, results, timelines) meets a terminal."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from banbucheng.core.text import width, wrap

# Chinese text with the marks, Latin words, numbers and spaces a matter is made of.
_PIECES = st.sampled_from(
    ["群众", "反映", "医保窗口", "，", "。", "（", "）", "「", "」", "BB20261124-001",
     "139****4640", "2026-12-01 17:30", "ok", "Excel", " ", "  ", "材料不全让来回跑"]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(_PIECES, max_size=40).map("".join), st.integers(min_value=4, max_value=100))
def test_no_line_is_wider_than_the_room_and_nothing_is_lost(text: str, columns: int) -> None:
    lines = wrap(text, columns)
    assert all(width(line) <= columns for line in lines)
    # Only spaces at the breaks go; every other character stays, in order.
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")
    assert all(line == line.rstrip() for line in lines)


def test_two_spaces_between_fields_are_kept() -> None:
    assert wrap("群*  电话 139****4640", 80) == ["群*  电话 139****4640"]


def test_spaces_at_a_break_are_dropped() -> None:
    assert wrap("应办未办  BB20261124-001", 14) == ["应办未办", "BB20261124-001"]


def test_a_case_number_and_a_time_are_never_split_when_they_fit() -> None:
    lines = wrap("派给社区居委会 BB20261124-001 期限 2026-12-01 17:30", 20)
    assert "BB20261124-001" in lines[1] or "BB20261124-001" in lines[0]
    assert any("2026-12-01 17:30" in line for line in lines)


def test_no_line_starts_with_a_closing_mark() -> None:
    lines = wrap("材料不全让来回跑，已超过承诺时限。", 16)
    assert lines == ["材料不全让来回", "跑，已超过承诺时", "限。"]
