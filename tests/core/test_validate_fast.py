"""The fast paths of core/validate.py (bbc import checks tens of thousands of cells)
refuse exactly what the character-by-character rules refuse."""

from __future__ import annotations

import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from banbucheng.core import validate


def test_the_free_text_pattern_is_the_per_character_rule_for_every_code_point():
    every = (chr(c) for c in range(0x110000))
    assert [ch for ch in every if validate._BAD_FREE_TEXT.search(ch)] == [
        chr(c) for c in range(0x110000) if validate._bad_in_free_text(chr(c))
    ]


def test_the_ascii_pattern_is_the_category_rule_for_ascii():
    assert [chr(c) for c in range(128) if validate._BAD_ASCII.search(chr(c))] == [
        chr(c) for c in range(128) if unicodedata.category(chr(c)) in ("Cc", "Cf", "Cs")
    ]


@given(st.text(max_size=30))
def test_parse_moment_is_parse_datetime_and_says_whether_a_time_was_given(text):
    try:
        expected = validate.parse_datetime(text)
    except validate.InvalidInput as refused:
        try:
            validate.parse_moment(text)
        except validate.InvalidInput as again:
            assert again.message == refused.message
        else:
            raise AssertionError("parse_moment accepted what parse_datetime refused")
        return
    moment, date_only = validate.parse_moment(text)
    assert moment == expected
    try:
        validate.parse_date(text)
    except validate.InvalidInput:
        assert not date_only
    else:
        assert date_only


def test_parse_moment_examples():
    assert validate.parse_moment("2021-04-01")[1] is True
    assert validate.parse_moment("2021年4月1日 9时30分")[1] is False
    assert validate.parse_moment("2021-04-01 00:00")[1] is False
