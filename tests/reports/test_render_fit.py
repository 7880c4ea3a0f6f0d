"""render.fit: how a wrapped table (show's timeline, the units) shares a terminal's
width among its columns."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from banbucheng.core.text import width
from banbucheng.reports.render import GAP, Col, fit

COLS = [
    Col("时间", "atom", 0),
    Col("经办人", "text", 4, 6),
    Col("内容", "text", 2, 12),
    Col("变更", "text", 3, 16),
]
LONG = "渠道：窗口；反映人：李*清；受阻部门：社保窗口；电话：139****1111；" * 3


def test_a_short_text_keeps_its_whole_width_while_long_ones_wrap() -> None:
    rows = [["2021-04-06 14:20", "演示窗口", "社保卡自2016年起未年检，养老金停发四年" * 2, LONG]]
    widths = dict(fit(COLS, rows, 159, wrapped=True))
    assert widths[1] == width("演示窗口")  # not 演示窗/口 for want of two columns
    assert sum(widths.values()) + GAP * (len(widths) - 1) <= 159


def test_a_short_text_still_gives_way_when_there_is_no_room() -> None:
    rows = [["2021-04-06 14:20", "演示窗口", "社保卡" * 10, LONG]]
    widths = dict(fit(COLS, rows, 16 + 6 + 12 + 16 + 3 * GAP, wrapped=True))
    assert widths[1] == 6


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(["窗口甲", "演示窗口", "社保", "市场监管窗口工作人员", "李"]), min_size=1
    ),
    st.integers(min_value=16 + 6 + 12 + 16 + 3 * GAP, max_value=200),
)
def test_the_columns_never_take_more_than_the_room(actors: list[str], room: int) -> None:
    rows = [["2021-04-06 14:20", actor, "事项" * 20, LONG] for actor in actors]
    widths = dict(fit(COLS, rows, room, wrapped=True))
    assert sum(widths.values()) + GAP * (len(widths) - 1) <= room
    assert all(w >= COLS[i].least or COLS[i].kind == "atom" for i, w in widths.items())
