"""Tables of good and bad input for every parser, plus property tests (hypothesis)."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from banbucheng.core.errors import InvalidInput
from banbucheng.core.timeutil import BEIJING
from banbucheng.core.validate import (
    clean_text,
    mask_id_number,
    mask_name,
    mask_phone,
    normalize_id_number,
    normalize_phone,
    parse_clock,
    parse_date,
    parse_datetime,
)

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TODAY = date(2026, 5, 20)


def bj(*args: int) -> datetime:
    return datetime(*args, tzinfo=BEIJING)


# ----------------------------------------------------------------------------------------
# Independent ID-number check character: ISO 7064 MOD 11-2 in its recursive (Horner) form,
# deliberately unlike the weight table in validate.py.


def check_char(body17: str) -> str:
    p = 0
    for ch in body17:
        p = (p + int(ch)) * 2 % 11
    value = (12 - p) % 11
    return "X" if value == 10 else str(value)


def make_id(region: str, birth: str, sequence: str) -> str:
    body = region + birth + sequence
    assert len(body) == 17
    return body + check_char(body)


def wrong_check(id_number: str) -> str:
    right = id_number[-1]
    return id_number[:-1] + ("0" if right != "0" else "1")


STANDARD_SAMPLE = "11010519491231002X"  # GB 11643-1999's own example
VALID_IDS = [
    STANDARD_SAMPLE,
    make_id("440106", "19850615", "123"),
    make_id("330102", "20000229", "456"),  # leap day
    make_id("650104", "19000101", "001"),  # earliest accepted birth date
    make_id("510107", "20260520", "778"),  # born "today"
    make_id("110101", "19991231", "567"),
    make_id("320581", "19720308", "091"),
]


def test_independent_check_char_agrees_with_standard_sample() -> None:
    assert check_char(STANDARD_SAMPLE[:17]) == "X"


# ----------------------------------------------------------------------------------------
# parse_datetime

DATETIME_OK = [
    ("2021-04-01", bj(2021, 4, 1)),
    ("2021-04-01T09:30", bj(2021, 4, 1, 9, 30)),
    ("2021-04-01t09:30", bj(2021, 4, 1, 9, 30)),
    ("2021-04-01 09:30:15", bj(2021, 4, 1, 9, 30, 15)),
    ("2021-04-01   09:30", bj(2021, 4, 1, 9, 30)),
    ("2021-04-01T09:30:15.250", bj(2021, 4, 1, 9, 30, 15, 250000)),
    ("2021-04-01T01:30Z", bj(2021, 4, 1, 9, 30)),
    ("2021-04-01T01:30:00z", bj(2021, 4, 1, 9, 30)),
    ("2021-04-01T09:30+08:00", bj(2021, 4, 1, 9, 30)),
    ("2021-04-01T09:30-05:00", bj(2021, 4, 1, 22, 30)),
    ("2021-04-01T20:00-05:00", bj(2021, 4, 2, 9, 0)),  # next Beijing day
    ("2021-04-01 09:30 +0000", bj(2021, 4, 1, 17, 30)),
    ("2021-04-01T09:30+05:30", bj(2021, 4, 1, 12, 0)),
    ("2021-04-01T09:30+08", bj(2021, 4, 1, 9, 30)),
    ("2021/4/1 9:30", bj(2021, 4, 1, 9, 30)),
    ("2021/04/01", bj(2021, 4, 1)),
    ("2021.4.1", bj(2021, 4, 1)),
    ("2021-4-1", bj(2021, 4, 1)),
    ("2021年4月1日", bj(2021, 4, 1)),
    ("2021年4月1号", bj(2021, 4, 1)),
    ("2021年4月1日 9:30", bj(2021, 4, 1, 9, 30)),
    ("2021年4月1日9时30分", bj(2021, 4, 1, 9, 30)),
    ("2021年4月1日9点30分15秒", bj(2021, 4, 1, 9, 30, 15)),
    ("2021年4月1日 17点", bj(2021, 4, 1, 17)),
    ("2021 年 4 月 1 日", bj(2021, 4, 1)),
    ("20210401", bj(2021, 4, 1)),
    ("20210401T0930", bj(2021, 4, 1, 9, 30)),
    ("20210401 093015", bj(2021, 4, 1, 9, 30, 15)),
    ("２０２１－０４－０１", bj(2021, 4, 1)),  # full-width IME input
    ("２０２１－０４－０１　９：３０", bj(2021, 4, 1, 9, 30)),
    ("2021年４月１日　９时３０分", bj(2021, 4, 1, 9, 30)),
    ("2021\u201404\u201401", bj(2021, 4, 1)),  # em dashes from a word processor
    ("  2021-04-01 09:30\n", bj(2021, 4, 1, 9, 30)),  # surrounding whitespace trimmed
    ("2000-01-01", bj(2000, 1, 1)),
    ("2099-12-31 23:59:59", bj(2099, 12, 31, 23, 59, 59)),
    ("2024-02-29", bj(2024, 2, 29)),
    ("2021-04-01 00:00", bj(2021, 4, 1)),
]


@pytest.mark.parametrize(("text", "expected"), DATETIME_OK)
def test_parse_datetime_accepts(text: str, expected: datetime) -> None:
    got = parse_datetime(text)
    assert got == expected
    assert got.utcoffset() == timedelta(hours=8)


DATETIME_BAD = [
    "",
    "   ",
    "2021-02-30",
    "2021-02-29",  # not a leap year
    "2021-13-01",
    "2021-00-10",
    "2021-04-00",
    "2021-04-31",
    "2021-04-01 25:00",
    "2021-04-01 24:00",
    "2021-04-01 09:60",
    "2021-04-01 09:30:61",
    "2021-04-01 9",
    "2021-04-01T",
    "2021-04-01Z",  # an offset needs a time
    "2021-04-01T09:30+24:00",
    "2021-04-01T09:30+08:60",
    "1999-12-31",
    "2100-01-01",
    "0001-01-01",
    "9999-12-31",
    "2021-04/01",  # mixed separators
    "21-04-01",
    "04/01/2021",
    "2021年4月",
    "2021年4月1",
    "2021-04-0109:30",
    "20210431",
    "202104011",
    "tomorrow",
    "明天",
    "2021-04-01 09:30 北京时间",
    "2021-04-01\x0009:30",
    "2021-04-01\n09:30",
    "2021\u200b-04-01",  # zero-width space
    "\ud800",  # lone surrogate (undecodable argv byte)
    "2021-04-01" + " " * 200,
    "9" * 10_000,
    "2021-04-01T09:30:15.1234567",
]


@pytest.mark.parametrize("text", DATETIME_BAD)
def test_parse_datetime_rejects(text: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_datetime(text, field="登记时间")
    assert "登记时间" in info.value.message


def test_parse_datetime_format_message_names_expected_form() -> None:
    with pytest.raises(InvalidInput) as info:
        parse_datetime("garbage")
    assert info.value.message == "时间格式不正确，应为 2021-04-01 或 2021-04-01 09:30"


def test_parse_datetime_rejects_non_str() -> None:
    with pytest.raises(InvalidInput):
        parse_datetime(None)  # type: ignore[arg-type]


def test_parse_datetime_message_is_one_line() -> None:
    for text in DATETIME_BAD:
        try:
            parse_datetime(text)
        except InvalidInput as error:
            assert "\n" not in error.message


# ----------------------------------------------------------------------------------------
# parse_date

DATE_OK = [
    ("2021-04-01", date(2021, 4, 1)),
    ("2021/4/1", date(2021, 4, 1)),
    ("2021.4.1", date(2021, 4, 1)),
    ("2021年4月1日", date(2021, 4, 1)),
    ("20210401", date(2021, 4, 1)),
    ("２０２１－０４－０１", date(2021, 4, 1)),
    ("2024-02-29", date(2024, 2, 29)),
    ("2099-12-31", date(2099, 12, 31)),
]


@pytest.mark.parametrize(("text", "expected"), DATE_OK)
def test_parse_date_accepts(text: str, expected: date) -> None:
    assert parse_date(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "2021-04-01 09:30",
        "2021-04-01T00:00",
        "2021年4月1日9时",
        "2021-02-30",
        "2021-13-01",
        "1999-12-31",
        "2100-01-01",
        "garbage",
        "2021-04\t-01",
    ],
)
def test_parse_date_rejects(text: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_date(text, field="办结日期")
    assert "办结日期" in info.value.message


def test_parse_date_time_part_message() -> None:
    with pytest.raises(InvalidInput) as info:
        parse_date("2021-04-01 09:30")
    assert "不要带时间" in info.value.message


# ----------------------------------------------------------------------------------------
# parse_clock

CLOCK_OK = [
    ("17:30", time(17, 30)),
    ("17:30:00", time(17, 30)),
    ("9:05", time(9, 5)),
    ("1730", time(17, 30)),
    ("173015", time(17, 30, 15)),
    ("17点30", time(17, 30)),
    ("17时30分", time(17, 30)),
    ("17点", time(17)),
    ("１７：３０", time(17, 30)),
    ("00:00", time(0, 0)),
    ("23:59:59", time(23, 59, 59)),
]


@pytest.mark.parametrize(("text", "expected"), CLOCK_OK)
def test_parse_clock_accepts(text: str, expected: time) -> None:
    assert parse_clock(text) == expected


@pytest.mark.parametrize(
    "text",
    ["", "17", "930", "17:3", "24:00", "25:00", "17:60", "17:30:60", "17:30+08:00", "下午五点半",
     "17:30pm", "2021-04-01 17:30", "17\x0030"],
)  # fmt: skip
def test_parse_clock_rejects(text: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_clock(text, field="下班时间")
    assert "下班时间" in info.value.message


# ----------------------------------------------------------------------------------------
# normalize_phone

PHONE_OK = [
    ("13712341111", "13712341111"),
    ("137 1234 1111", "13712341111"),
    ("137-1234-1111", "13712341111"),
    ("+86 137 1234 1111", "13712341111"),
    ("+8613712341111", "13712341111"),
    ("8613712341111", "13712341111"),
    ("008613712341111", "13712341111"),
    ("+86-137-1234-1111", "13712341111"),
    ("１３７１２３４１１１１", "13712341111"),
    ("19912345678", "19912345678"),
    ("0571-87654321", "0571-87654321"),
    ("057187654321", "0571-87654321"),
    ("0571 87654321", "0571-87654321"),
    ("(0571)87654321", "0571-87654321"),
    ("（0571）87654321", "0571-87654321"),  # full-width brackets
    ("010-62345678", "010-62345678"),
    ("01062345678", "010-62345678"),
    ("021-6234567", "021-6234567"),
    ("0571-8765432", "0571-8765432"),
    ("0571-87654321转123", "0571-87654321-123"),
    ("0571-87654321-123", "0571-87654321-123"),
    ("0571-87654321分机8", "0571-87654321-8"),
    ("010-62345678#6", "010-62345678-6"),
]


@pytest.mark.parametrize(("text", "expected"), PHONE_OK)
def test_normalize_phone_accepts(text: str, expected: str) -> None:
    assert normalize_phone(text) == expected


PHONE_BAD = [
    "",
    "12345",  # service number, not a citizen's phone
    "12312341111",  # 12x is not a mobile prefix
    "1371234111",  # 10 digits
    "137123411112",  # 12 digits
    "23712341111",
    "+1 415 555 0100",
    "+85 13712341111",
    "0571-0765432",  # local number starting with 0
    "0571-1765432",  # ... or 1
    "0571-876543",  # 6 digits
    "0571-876543210",  # 9 digits
    "0101-2345678",  # no such area code
    "0012-2345678",
    "0571-87654321转",
    "0571-87654321转1234567",
    "0571-8765-4321",
    "137a1234111",
    "phone",
    "13712341111\x00",
    "1" * 500,
]


@pytest.mark.parametrize("text", PHONE_BAD)
def test_normalize_phone_rejects_without_echo(text: str) -> None:
    with pytest.raises(InvalidInput) as info:
        normalize_phone(text, field="联系电话")
    message = info.value.message
    assert "联系电话" in message
    digits = "".join(ch for ch in text if ch.isdigit())
    if len(digits) >= 4:
        assert digits not in message and text.strip() not in message


# ----------------------------------------------------------------------------------------
# normalize_id_number


@pytest.mark.parametrize("id_number", VALID_IDS)
def test_normalize_id_number_accepts(id_number: str) -> None:
    assert normalize_id_number(id_number, today=TODAY) == id_number


def test_normalize_id_number_lower_x_and_spacing() -> None:
    assert normalize_id_number("11010519491231002x", today=TODAY) == STANDARD_SAMPLE
    assert normalize_id_number(" 110105 19491231 002X ", today=TODAY) == STANDARD_SAMPLE
    assert (
        normalize_id_number("１１０１０５１９４９１２３１００２Ｘ", today=TODAY) == STANDARD_SAMPLE
    )


def test_normalize_id_number_uses_real_today_by_default() -> None:
    assert normalize_id_number(STANDARD_SAMPLE) == STANDARD_SAMPLE


ID_SHAPE_BAD = [
    "",
    "11010519491231002",  # 17
    "11010519491231002X1",  # 19
    "110105194912310",  # old 15-digit IDs are not accepted
    "01010519491231002X",  # first digit 0
    "1101051949123100X2",  # X not last
    "11010519491231002Y",
    "1101051949123100２X" + "0",
    "11010519491231002\x00",
]


@pytest.mark.parametrize("text", ID_SHAPE_BAD)
def test_normalize_id_number_rejects_shape(text: str) -> None:
    with pytest.raises(InvalidInput) as info:
        normalize_id_number(text, field="申请人身份证号", today=TODAY)
    assert "申请人身份证号" in info.value.message


ID_BIRTH_BAD = [
    make_id("110105", "19491331", "002"),  # month 13
    make_id("110105", "20210230", "002"),  # 30 February
    make_id("110105", "20230229", "002"),  # not a leap year
    make_id("110105", "18991231", "002"),  # before 1900
    make_id("110105", "20260521", "002"),  # tomorrow
    make_id("110105", "20990101", "002"),
    make_id("110105", "00000000", "002"),
]


@pytest.mark.parametrize("text", ID_BIRTH_BAD)
def test_normalize_id_number_rejects_birth_date(text: str) -> None:
    with pytest.raises(InvalidInput) as info:
        normalize_id_number(text, today=TODAY)
    assert info.value.message == "身份证号中的出生日期不正确"
    assert text not in info.value.message


@pytest.mark.parametrize("text", [wrong_check(i) for i in VALID_IDS])
def test_normalize_id_number_rejects_check_digit(text: str) -> None:
    with pytest.raises(InvalidInput) as info:
        normalize_id_number(text, today=TODAY)
    assert "校验位不正确" in info.value.message
    assert text not in info.value.message and text[:17] not in info.value.message


def test_normalize_id_number_every_wrong_check_char_rejected() -> None:
    body = STANDARD_SAMPLE[:17]
    for ch in "0123456789":
        with pytest.raises(InvalidInput, match="校验位"):
            normalize_id_number(body + ch, today=TODAY)


def test_normalize_id_number_single_digit_typo_detected() -> None:
    # MOD 11-2 catches every single-digit substitution.
    for position in range(17):
        for digit in "0123456789":
            original = STANDARD_SAMPLE[position]
            if digit == original or (position == 0 and digit == "0"):
                continue
            typo = STANDARD_SAMPLE[:position] + digit + STANDARD_SAMPLE[position + 1 :]
            with pytest.raises(InvalidInput):
                normalize_id_number(typo, today=TODAY)


@given(
    birth=st.dates(min_value=date(1900, 1, 1), max_value=TODAY),
    region=st.from_regex(r"[1-9][0-9]{5}", fullmatch=True),
    sequence=st.from_regex(r"[0-9]{3}", fullmatch=True),
)
@FAST
def test_normalize_id_number_accepts_any_constructed(
    birth: date, region: str, sequence: str
) -> None:
    id_number = make_id(region, birth.strftime("%Y%m%d"), sequence)
    assert normalize_id_number(id_number, today=TODAY) == id_number
    with pytest.raises(InvalidInput, match="校验位"):
        normalize_id_number(wrong_check(id_number), today=TODAY)


# ----------------------------------------------------------------------------------------
# clean_text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("  需要办理营业执照变更  ", "需要办理营业执照变更"),
        ("第一行\n第二行\t缩进", "第一行\n第二行\t缩进"),
        ("windows\r\nline", "windows\nline"),
        ("old mac\rline", "old mac\nline"),
        ("\u3000全角空格\u3000", "全角空格"),
        ("e\u0301", "\u00e9"),  # NFC
        ("👨\u200d👩\u200d👧 emoji", "👨\u200d👩\u200d👧 emoji"),  # ZWJ is allowed in free text
        ("Ｆｕｌｌ", "Ｆｕｌｌ"),  # NFC, not NFKC: the citizen's text is kept as typed
    ],
)
def test_clean_text_accepts(text: str, expected: str) -> None:
    assert clean_text(text, field="诉求内容") == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "诉求内容不能为空"),
        ("   \n\t ", "诉求内容不能为空"),
        ("bell\x07", "控制字符"),
        ("nul\x00here", "控制字符"),
        ("esc\x1b[31mred", "控制字符"),
        ("del\x7f", "控制字符"),
        ("c1\x85c1", "控制字符"),
        ("rtl\u202eoverride", "控制字符"),
        ("isolate\u2066x", "控制字符"),
        ("line\u2028sep", "控制字符"),
        ("surrogate\udcff", "控制字符"),
        ("x" * 2001, "最多2000个字符"),
    ],
)
def test_clean_text_rejects(text: str, fragment: str) -> None:
    with pytest.raises(InvalidInput) as info:
        clean_text(text, field="诉求内容")
    assert fragment in info.value.message


def test_clean_text_max_len_and_optional() -> None:
    assert clean_text("x" * 2000, field="诉求内容") == "x" * 2000
    assert clean_text("  abc  ", field="备注", max_len=3) == "abc"
    with pytest.raises(InvalidInput, match="最多3个字符"):
        clean_text("abcd", field="备注", max_len=3)
    assert clean_text("", field="备注", required=False) == ""
    assert clean_text("  \n ", field="备注", required=False) == ""
    with pytest.raises(InvalidInput):
        clean_text("\x00", field="备注", required=False)
    with pytest.raises(InvalidInput):
        clean_text(None, field="备注")  # type: ignore[arg-type]


# ----------------------------------------------------------------------------------------
# Masking


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("李海清", "李*清"),
        ("霍某", "霍*"),
        ("欧阳海清", "欧**清"),
        ("李", "*"),
        ("", ""),
        ("  李海清 ", "李*清"),
        ("John Smith", "J*********"),
        ("阿卜杜拉·买买提", "阿******提"),
    ],
)
def test_mask_name(name: str, expected: str) -> None:
    assert mask_name(name) == expected


@pytest.mark.parametrize(
    ("phone", "expected"),
    [
        ("13712341111", "137****1111"),
        ("0571-87654321", "0571-****4321"),
        ("010-6234567", "010-***4567"),
        ("0571-87654321-123", "0571-****4321-***"),
        ("12345", "*****"),
        ("+8613712341111", "************11"),
        ("", ""),
    ],
)
def test_mask_phone(phone: str, expected: str) -> None:
    assert mask_phone(phone) == expected


@pytest.mark.parametrize(
    ("id_number", "expected"),
    [
        (STANDARD_SAMPLE, "110105********002X"),
        ("110105194912310", "***********2310"),
        ("1234567", "*******"),
        ("", ""),
    ],
)
def test_mask_id_number(id_number: str, expected: str) -> None:
    assert mask_id_number(id_number) == expected


CJK = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF)


@given(st.text(CJK, min_size=1, max_size=6))
@FAST
def test_mask_name_chinese_hides_middle(name: str) -> None:
    masked = mask_name(name)
    assert len(masked) == len(name)
    if len(name) >= 3:
        assert masked == name[0] + "*" * (len(name) - 2) + name[-1]
    else:
        assert masked[1:] == "*" * (len(name) - 1) and masked[0] in (name[0], "*")


@given(st.text(min_size=0, max_size=40))
@FAST
def test_mask_name_never_reveals_more_than_edges(name: str) -> None:
    masked = mask_name(name)
    core = name.strip()
    assert len(masked) == len(core)
    # Only the first and (for 3+ characters) last positions may show; the rest is "*".
    if len(core) >= 3:
        assert masked[1:-1] == "*" * (len(core) - 2)
    elif len(core) == 2:
        assert masked[1] == "*"
    elif len(core) == 1:
        assert masked == "*"


@given(st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True))
@FAST
def test_mask_phone_mobile_hides_middle(phone: str) -> None:
    masked = mask_phone(phone)
    assert len(masked) == len(phone)
    assert masked[3:7] == "****"
    assert masked[:3] == phone[:3] and masked[7:] == phone[7:]


@given(st.from_regex(r"0[0-9]{2,3}-[2-9][0-9]{6,7}", fullmatch=True))
@FAST
def test_mask_phone_landline_hides_middle(phone: str) -> None:
    masked = mask_phone(phone)
    area, number = phone.split("-")
    assert len(masked) == len(phone)
    assert masked == f"{area}-{'*' * (len(number) - 4)}{number[-4:]}"


@given(st.one_of(st.text(max_size=30), st.from_regex(r"[01][0-9-]{4,16}", fullmatch=True)))
@FAST
def test_mask_phone_any_input_reveals_only_stated_parts(phone: str) -> None:
    masked = mask_phone(phone)
    assert len(masked) == len(phone)
    visible = {i for i, ch in enumerate(masked) if ch != "*"}
    assert all(masked[i] == phone[i] for i in visible)
    n = len(phone)
    if re.fullmatch(r"1[0-9]{10}", phone):
        allowed = set(range(3)) | set(range(n - 4, n))
    elif landline := re.fullmatch(r"(0[0-9]{2,3}-)([0-9]{7,8})(-[0-9]+)?", phone):
        area_end = len(landline.group(1))
        number_end = landline.end(2)
        allowed = set(range(area_end)) | set(range(number_end - 4, number_end)) | {number_end}
    else:
        allowed = set(range(n - 2, n)) if n >= 6 else set()
    assert visible <= allowed


@given(st.from_regex(r"[1-9][0-9]{16}[0-9X]", fullmatch=True))
@FAST
def test_mask_id_number_hides_birth_and_sequence(id_number: str) -> None:
    masked = mask_id_number(id_number)
    assert len(masked) == 18
    assert masked[6:14] == "*" * 8
    assert masked[:6] == id_number[:6] and masked[14:] == id_number[14:]


@given(st.text(max_size=40))
@FAST
def test_mask_id_number_any_input(id_number: str) -> None:
    masked = mask_id_number(id_number)
    assert len(masked) == len(id_number)
    if len(id_number) == 18:
        assert masked[6:14] == "*" * 8
    else:
        assert masked[: max(0, len(id_number) - 4)] == "*" * max(0, len(id_number) - 4)
        if len(id_number) < 8:
            assert masked == "*" * len(id_number)


# ----------------------------------------------------------------------------------------
# Robustness: any str either parses or raises InvalidInput, nothing else.

ANY_TEXT = st.one_of(
    st.text(),
    st.text(st.characters(exclude_categories=()), max_size=30),  # incl. surrogates
    st.text(
        alphabet="0123456789-/.: T年月日时分秒点号Zz+转()#Xx８６０１２　：－\x00\n\t", max_size=30
    ),
    st.text(min_size=200, max_size=3000),
)


@given(ANY_TEXT)
@FAST
def test_parsers_only_raise_invalid_input(text: str) -> None:
    for parse in (
        parse_datetime,
        parse_date,
        parse_clock,
        normalize_phone,
        lambda t: normalize_id_number(t, today=TODAY),
        lambda t: clean_text(t, field="内容"),
        lambda t: clean_text(t, field="内容", max_len=10, required=False),
    ):
        try:
            result = parse(text)
        except InvalidInput as error:
            assert error.message and "\n" not in error.message
        else:
            assert result is not None


@given(ANY_TEXT)
@FAST
def test_parse_datetime_result_is_beijing_and_in_range(text: str) -> None:
    try:
        moment = parse_datetime(text)
    except InvalidInput:
        return
    assert moment.tzinfo is not None and moment.utcoffset() == timedelta(hours=8)
    assert 2000 <= moment.year <= 2100


@given(
    local=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31, 23, 59)),
    offset_minutes=st.integers(min_value=-23 * 60 - 59, max_value=23 * 60 + 59),
    use_space=st.booleans(),
)
@FAST
def test_parse_datetime_iso_round_trip(
    local: datetime, offset_minutes: int, use_space: bool
) -> None:
    moment = local.replace(tzinfo=timezone(timedelta(minutes=offset_minutes)))
    text = moment.isoformat(sep=" " if use_space else "T")
    parsed = parse_datetime(text)
    assert parsed == moment
    assert parsed.utcoffset() == timedelta(hours=8)


@given(local=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31)))
@FAST
def test_parse_datetime_naive_is_beijing(local: datetime) -> None:
    assert parse_datetime(local.isoformat()) == local.replace(tzinfo=BEIJING)
    assert parse_date(local.date().isoformat()) == local.date()


@given(st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True), st.sampled_from(["", "+86", "0086"]))
@FAST
def test_normalize_phone_mobile_round_trip(phone: str, prefix: str) -> None:
    spaced = f"{prefix} {phone[:3]} {phone[3:7]}-{phone[7:]}"
    assert normalize_phone(spaced) == phone


@given(st.text(alphabet="0123456789", min_size=4, max_size=20))
@FAST
def test_phone_and_id_errors_never_echo_value(digits: str) -> None:
    for parse in (normalize_phone, lambda t: normalize_id_number(t, today=TODAY)):
        try:
            parse(digits)
        except InvalidInput as error:
            assert digits not in error.message
