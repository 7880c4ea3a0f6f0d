from __future__ import annotations

import pytest

from banbucheng.core.sanitize import safe_cell


@pytest.mark.parametrize("text", ["=1+1", "+86", "-2", "@SUM(A1)", "\tx", "\rx", '=HYPERLINK("x")'])
def test_formula_like_text_is_neutralised(text: str) -> None:
    assert safe_cell(text) == "'" + text


@pytest.mark.parametrize("value", ["李*清", "2021-04-01", "", 5, -3, 2.5, True, None])
def test_other_values_pass(value: object) -> None:
    assert safe_cell(value) == value
