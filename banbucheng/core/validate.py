"""Parse and check what users type; mask citizens' personal data for display.

Every refusal is an InvalidInput with a one-line Chinese message that names the field
but never repeats the value: phone numbers, ID numbers and names must not end up in
logs or terminal scrollback (个人信息保护法). Everything here is a pure function.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from datetime import UTC, date, datetime, time, timedelta, timezone

from banbucheng.core.errors import InvalidInput
from banbucheng.core.timeutil import BEIJING

__all__ = [
    "citizen_name",
    "clean_text",
    "contact_phone",
    "department",
    "mask_id_number",
    "mask_name",
    "mask_phone",
    "masked_echo",
    "normalize_id_number",
    "normalize_phone",
    "parse_clock",
    "parse_date",
    "parse_datetime",
    "parse_moment",
    "received_at",
    "reported_matter",
]

# Anything longer than this cannot be a date, clock time, phone or ID number; refusing
# early keeps a pasted novel from costing regex time.
_MAX_SHORT_INPUT = 100

# Dashes and minus signs that NFKC leaves alone but that people (and word processors)
# type where an ASCII hyphen is meant.
_DASHES = str.maketrans(dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58", "-"))

# Unicode categories we refuse in short fields: controls, invisible format characters
# (zero-width spaces, bidi overrides that can disguise text) and lone surrogates, which
# Python produces from undecodable command-line bytes and which cannot be written as UTF-8.
_BAD_CATEGORIES_SHORT = frozenset({"Cc", "Cf", "Cs"})

# In free text, zero-width joiners and the like are legitimate (emoji, some scripts), so
# only controls, surrogates, bidi embeddings/overrides/isolates and the Unicode line and
# paragraph separators (which break line-based CSV and terminals) are refused.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_LINE_SEPARATORS = frozenset("\u2028\u2029\x85")

_MIN_YEAR = 2000
_MAX_YEAR = 2099

# The range of every whole number a user can type, chosen for the domain (each
# option declares it with min/max, so its help shows it and a value outside is one
# Chinese line; docs/scripting.md lists them). Working days: a time limit, a unit's
# limit, an extension and a reopened case's limit are 1–60, as the policy's limits.
WORKING_DAYS = (1, 60)
WITHIN_DAYS = (0, 60)  # due --within: how far ahead to look
LIST_LIMIT = (1, 100_000)  # list --limit: more than a window registers in years
YEARS = (_MIN_YEAR, _MAX_YEAR)  # calendar years: what the working-day calendar spans


# --- regular expressions for dates and times ------------------------------------------

_DATE_SEPARATED = r"(?P<y>[0-9]{4})(?P<sep>[-/.])(?P<m>[0-9]{1,2})(?P=sep)(?P<d>[0-9]{1,2})"
_DATE_CHINESE = r"(?P<y>[0-9]{4})\s*年\s*(?P<m>[0-9]{1,2})\s*月\s*(?P<d>[0-9]{1,2})\s*[日号]"
_DATE_COMPACT = r"(?P<y>[0-9]{4})(?P<m>[0-9]{2})(?P<d>[0-9]{2})"

_TIME_COLON = (
    r"(?P<H>[0-9]{1,2}):(?P<M>[0-9]{2})"
    r"(?::(?P<S>[0-9]{2})(?:[.,](?P<F>[0-9]{1,6}))?)?"
)
_TIME_CHINESE = (
    r"(?P<cH>[0-9]{1,2})\s*[时点]"
    r"(?:\s*(?P<cM>[0-9]{1,2})(?:\s*分(?:\s*(?P<cS>[0-9]{1,2})\s*秒)?)?)?"
)
_TIME_COMPACT = r"(?P<bH>[0-9]{2})(?P<bM>[0-9]{2})(?P<bS>[0-9]{2})?"

_OFFSET = r"(?:(?P<Z>[Zz])|(?P<osign>[+-])(?P<oh>[0-9]{2})(?::?(?P<om>[0-9]{2}))?)"


# The patterns below are kept as text and compiled on first use (re caches them): a
# command that parses one date should not pay for compiling every form at start-up.


def _datetime_regex(date_re: str, separator: str, times: str) -> str:
    return rf"{date_re}(?:{separator}(?:{times})(?:\s*{_OFFSET})?)?"


_DATETIME_FORMS: tuple[str, ...] = (
    # 2021-04-01T09:30, 2021/4/1 9:30, 2021.4.1 9时30分
    _datetime_regex(_DATE_SEPARATED, r"(?:[Tt]|\s+)", f"{_TIME_COLON}|{_TIME_CHINESE}"),
    # 2021年4月1日9时30分, 2021年4月1日 9:30 (no separator needed after 日)
    _datetime_regex(_DATE_CHINESE, r"\s*", f"{_TIME_COLON}|{_TIME_CHINESE}"),
    # 20210401, 20210401T0930, 20210401 09:30
    _datetime_regex(
        _DATE_COMPACT, r"(?:[Tt]|\s+)", f"{_TIME_COLON}|{_TIME_CHINESE}|{_TIME_COMPACT}"
    ),
)

_CLOCK_FORM = rf"{_TIME_COLON}|{_TIME_CHINESE}|{_TIME_COMPACT}"

# --- shared helpers --------------------------------------------------------------------


def _prepare_short(text: object, field: str) -> str:
    """NFKC-normalise a short structured value (full-width IME input) and screen it."""
    if not isinstance(text, str):
        raise InvalidInput(f"{field}格式不正确")
    if len(text) > _MAX_SHORT_INPUT:
        raise InvalidInput(f"{field}过长，不是有效的{field}")
    value = unicodedata.normalize("NFKC", text).translate(_DASHES).strip()
    if not value:
        raise InvalidInput(f"{field}不能为空")
    if _BAD_ASCII.search(value) if value.isascii() else _bad_short(value):
        raise InvalidInput(f"{field}含有不可见的控制字符，请重新输入")
    return value


_BAD_ASCII = re.compile("[\x00-\x1f\x7f]")  # the Cc characters of ASCII (it has no Cf, Cs)


def _bad_short(value: str) -> bool:
    return any(unicodedata.category(ch) in _BAD_CATEGORIES_SHORT for ch in value)


def _first(groups: dict[str, str | None], *names: str) -> str | None:
    for name in names:
        found = groups.get(name)
        if found is not None:
            return found
    return None


def _clock_parts(match: re.Match[str]) -> tuple[int, int, int, int] | None:
    """(hour, minute, second, microsecond) from a matched time, or None if no time part."""
    groups = match.groupdict()
    hour = _first(groups, "H", "cH", "bH")
    if hour is None:
        return None
    minute = _first(groups, "M", "cM", "bM")
    second = _first(groups, "S", "cS", "bS")
    fraction = groups.get("F")
    microsecond = int(fraction.ljust(6, "0")) if fraction else 0
    return int(hour), int(minute or 0), int(second or 0), microsecond


def _offset(match: re.Match[str]) -> timezone | None:
    if match.group("Z"):
        return UTC
    sign = match.group("osign")
    if sign is None:
        return None
    hours, minutes = int(match.group("oh")), int(match.group("om") or 0)
    if hours > 23 or minutes > 59:
        return None  # caller treats an unusable offset as a format error
    delta = timedelta(hours=hours, minutes=minutes)
    return timezone(-delta if sign == "-" else delta)


def _match_datetime(text: str, field: str, expected: str) -> re.Match[str]:
    value = _prepare_short(text, field)
    for form in _DATETIME_FORMS:
        match = re.fullmatch(form, value)
        if match:
            return match
    raise InvalidInput(f"{field}格式不正确，应为 {expected}")


def _checked_year(match: re.Match[str], field: str) -> int:
    year = int(match.group("y"))
    # The typed year is what the user sees, so the range applies to it (before any
    # offset conversion); the store and holiday calendar only make sense in this range.
    if not _MIN_YEAR <= year <= _MAX_YEAR:
        raise InvalidInput(f"{field}超出范围：年份应在{_MIN_YEAR}至{_MAX_YEAR}之间")
    return year


# --- dates and times -----------------------------------------------------------------


def parse_datetime(text: str, *, field: str = "时间") -> datetime:
    """An aware Beijing-time datetime from ISO 8601 or the usual Chinese ways of writing it.

    No offset means Beijing time (SPEC: "A time given without an offset is Beijing time");
    a date alone means 00:00 Beijing.
    """
    return parse_moment(text, field=field)[0]


def parse_moment(text: str, *, field: str = "时间") -> tuple[datetime, bool]:
    """parse_datetime, and whether the text gave a date only (no time of day): one
    parse for a cell that may hold either (bbc import)."""
    expected = "2021-04-01 或 2021-04-01 09:30"
    match = _match_datetime(text, field, expected)
    year = _checked_year(match, field)
    clock = _clock_parts(match)
    zone: timezone | None = BEIJING
    if clock is not None and (match.group("Z") or match.group("osign")):
        zone = _offset(match)
        if zone is None:
            raise InvalidInput(f"{field}的时区格式不正确，应为 +08:00 这样的形式")
    hour, minute, second, microsecond = clock or (0, 0, 0, 0)
    try:
        moment = datetime(
            year,
            int(match.group("m")),
            int(match.group("d")),
            hour,
            minute,
            second,
            microsecond,
            tzinfo=zone,
        )
    except ValueError:
        raise InvalidInput(
            f"{field}不存在：请检查月、日、时、分是否超出范围，应为 {expected}"
        ) from None
    return moment.astimezone(BEIJING), clock is None


def parse_date(text: str, *, field: str = "日期") -> date:
    """A calendar date in any form parse_datetime accepts, but without a time part."""
    match = _match_datetime(text, field, "2021-04-01")
    if _clock_parts(match) is not None:
        raise InvalidInput(f"{field}只需填写日期，不要带时间，应为 2021-04-01")
    year = _checked_year(match, field)
    try:
        return date(year, int(match.group("m")), int(match.group("d")))
    except ValueError:
        raise InvalidInput(f"{field}不存在：请检查月、日是否超出范围，应为 2021-04-01") from None


def parse_clock(text: str, *, field: str = "时间") -> time:
    """A time of day such as the centre's closing time: 17:30, 17:30:00, 1730, 17点30."""
    value = _prepare_short(text, field)
    match = re.fullmatch(_CLOCK_FORM, value)
    if not match:
        raise InvalidInput(f"{field}格式不正确，应为 17:30 这样的时:分")
    clock = _clock_parts(match)
    assert clock is not None  # every alternative of _CLOCK_FORM has an hour
    try:
        return time(*clock)
    except ValueError:
        raise InvalidInput(f"{field}不存在：时应为0至23，分、秒应为0至59") from None


# --- phone numbers ---------------------------------------------------------------------

_MOBILE = r"(?:\+86|0086|86)?(1[3-9][0-9]{9})"
# Mainland area codes are prefix-free: 010 and 02x have three digits, 03xx–09xx four,
# so a number typed without a dash still splits one way only. Local numbers never
# start with 0 or 1.
_LANDLINE = (
    r"\(?(?P<area>010|02[0-9]|0[3-9][0-9]{2})\)?-?(?P<number>[2-9][0-9]{6,7})"
    r"(?:(?:转|分机|-|#)(?P<ext>[0-9]{1,6}))?"
)


def normalize_phone(text: str, *, field: str = "电话") -> str:
    """A citizen's phone as 11 mobile digits, or a landline as 0571-87654321[-123]."""
    value = _prepare_short(text, field)
    without_spaces = re.sub(r"\s+", "", value)
    mobile = re.fullmatch(_MOBILE, without_spaces.replace("-", ""))
    if mobile:
        return mobile.group(1)
    landline = re.fullmatch(_LANDLINE, without_spaces)
    if landline:
        normalized = f"{landline.group('area')}-{landline.group('number')}"
        extension = landline.group("ext")
        return f"{normalized}-{extension}" if extension else normalized
    raise InvalidInput(f"{field}格式不正确：应为11位手机号或带区号的固定电话")


# --- resident ID numbers (GB 11643-1999) ----------------------------------------------

_ID_SHAPE = r"[1-9][0-9]{16}[0-9X]"
_ID_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))  # 7, 9, 10, 5, 8, 4, 2, ...
_ID_CHECK_CHARS = "10X98765432"  # ISO 7064 MOD 11-2, indexed by weighted sum mod 11


def normalize_id_number(text: str, *, field: str = "身份证号", today: date | None = None) -> str:
    """An 18-character resident ID number, check character upper-cased, fully verified."""
    value = re.sub(r"\s+", "", _prepare_short(text, field)).upper()
    if not re.fullmatch(_ID_SHAPE, value):
        raise InvalidInput(f"{field}格式不正确：应为18位，前17位为数字，最后一位为数字或X")
    try:
        birth = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        birth = None
    latest = today or date.today()
    if birth is None or not date(1900, 1, 1) <= birth <= latest:
        raise InvalidInput(f"{field}中的出生日期不正确")
    total = sum(int(ch) * weight for ch, weight in zip(value[:17], _ID_WEIGHTS, strict=True))
    if _ID_CHECK_CHARS[total % 11] != value[17]:
        raise InvalidInput(f"{field}校验位不正确，请核对是否输错")
    return value


# --- free text -----------------------------------------------------------------------


# The characters _bad_in_free_text refuses, as one pattern (Cc is exactly U+0000–U+001F
# and U+007F–U+009F, Cs U+D800–U+DFFF): one search instead of a call per character.
_BAD_FREE_TEXT = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff"
    + "".join(sorted(_BIDI_CONTROLS | _LINE_SEPARATORS))
    + "]"
)


def _bad_in_free_text(ch: str) -> bool:
    if ch in "\n\t":
        return False
    if ch in _BIDI_CONTROLS or ch in _LINE_SEPARATORS:
        return True
    return unicodedata.category(ch) in ("Cc", "Cs")


def clean_text(text: str, *, field: str, max_len: int = 2000, required: bool = True) -> str:
    """Trimmed, NFC-normalised free text that is safe to print and to put in a CSV cell.

    Windows and old-Mac line endings become \\n (pasted text has them; they are not an
    error the user could see). max_len counts characters (code points) after cleaning.
    """
    if not isinstance(text, str):
        raise InvalidInput(f"{field}格式不正确")
    value = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    value = unicodedata.normalize("NFC", value)
    if not value:
        if required:
            raise InvalidInput(f"{field}不能为空")
        return ""
    if _BAD_FREE_TEXT.search(value):  # the same as any(_bad_in_free_text(ch) ...)
        raise InvalidInput(f"{field}含有不可见的控制字符，请删除后重新输入")
    if len(value) > max_len:
        raise InvalidInput(f"{field}过长：最多{max_len}个字符，现有{len(value)}个")
    return value


# --- the fields of a registration ----------------------------------------------------
# One function per field, used both for the command-line options and for the answers to
# the guided questions, so a value is judged (and its refusal worded) the same either way.


def citizen_name(text: str) -> str:
    """反映人姓名 (--name)."""
    return clean_text(text, field="姓名", max_len=40)


def contact_phone(text: str) -> str:
    """联系电话 (--phone)."""
    return normalize_phone(text, field="联系电话")


def reported_matter(text: str) -> str:
    """反映事项 (--matter)."""
    return clean_text(text, field="反映事项")


def department(text: str) -> str:
    """受阻部门或窗口 (--department); may be empty."""
    return clean_text(text, field="部门", max_len=60, required=False)


def received_at(text: str) -> datetime:
    """受理时间 (--at)."""
    return parse_datetime(text, field="受理时间")


# --- masking for lists, reports and exports -------------------------------------------


def mask_name(name: str) -> str:
    """A name with all but its edge characters hidden; the result has the same length.

    Chinese names: 1 character → "*"; 2 → first + "*" (霍某 → 霍*); 3 or more → first and
    last kept (李海清 → 李*清, 欧阳海清 → 欧**清). A name containing any Latin letter keeps
    only its first character (John Smith → J*********), because the last letter of a
    Latin name gives much more away. Surrounding whitespace is dropped first.
    """
    value = name.strip()
    length = len(value)
    if length == 0:
        return ""
    if length == 1:
        return "*"
    # Chinese characters only (most names; verify masks every case's): no letter to look for.
    if length == 2 or (not _HAN_ONLY(value) and any("a" <= ch.lower() <= "z" for ch in value)):
        return value[0] + "*" * (length - 1)
    return value[0] + "*" * (length - 2) + value[-1]


_HAN_ONLY = re.compile("[\u4e00-\u9fff]+").fullmatch
_MASKABLE_MOBILE = r"1[0-9]{10}"
_MASKABLE_MOBILE_MATCH = re.compile(_MASKABLE_MOBILE).fullmatch
_MASKABLE_LANDLINE = r"(0[0-9]{2,3})-([0-9]{7,8})((?:-[0-9]+)?)"


def mask_phone(phone: str) -> str:
    """13712341111 → 137****1111; 0571-87654321 → 0571-****4321 (an extension is hidden too).

    Anything else keeps at most its last two characters, and only when at least four
    are hidden; the result always has the input's length.
    """
    if _MASKABLE_MOBILE_MATCH(phone):
        return phone[:3] + "****" + phone[-4:]
    landline = re.fullmatch(_MASKABLE_LANDLINE, phone)
    if landline:
        area, number, extension = landline.groups()
        masked_extension = "-" + "*" * (len(extension) - 1) if extension else ""
        return f"{area}-{'*' * (len(number) - 4)}{number[-4:]}{masked_extension}"
    if len(phone) >= 6:
        return "*" * (len(phone) - 2) + phone[-2:]
    return "*" * len(phone)


def mask_id_number(id_number: str) -> str:
    """18 characters → first 6 (region) + 8 "*" (birth date) + last 4.

    Other lengths keep only the last 4, and only when at least as many are hidden, so a
    short fragment is never shown whole. The result always has the input's length.
    """
    length = len(id_number)
    if length == 18:
        return id_number[:6] + "*" * 8 + id_number[-4:]
    if length >= 8:
        return "*" * (length - 4) + id_number[-4:]
    return "*" * length


@functools.cache
def _masking() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """Runs of digits that may be a phone or ID number (spaces and dashes allowed
    inside), and a word of 2–4 Chinese characters standing alone (between spaces or
    punctuation). Compiled on first use (only a message repeating what was typed
    needs them): the Chinese ranges take milliseconds to compile."""
    digit_run = re.compile(r"[0-9][0-9 \-]{5,}[0-9Xx]")
    han_word = re.compile(
        r"(?<![\u4e00-\u9fff·•])[\u4e00-\u9fff][\u4e00-\u9fff·•]{1,3}(?![\u4e00-\u9fff·•])"
    )
    return digit_run, han_word


# How units, offices and matters end; a 2–4 character Chinese text ending otherwise
# may be a person's name.
_NOT_A_NAME_END = (
    *("中心", "窗口", "公司", "银行", "街道", "社区"),
    *"局科处室所站院委厅办部队组村镇乡会校馆台行店团厂司署庭区县市省证卡费事难题件表单",
)


def masked_echo(text: str, limit: int = 40) -> str:
    """What the user typed, fit to repeat in a message: digit runs that may be a phone
    or ID number masked as one, a text that may be a person's name masked as a name
    (欧阳明华 → 欧**华), control characters dropped, at most `limit` characters.
    A unit or matter typed by mistake usually stays readable (省农保中心, 社保卡年检)."""
    value = "".join(ch for ch in text.strip() if unicodedata.category(ch)[0] != "C")[:limit]

    def digits(match: re.Match[str]) -> str:
        run = match.group(0)
        bare = re.sub(r"[ \-]", "", run)
        return mask_id_number(bare) if len(bare) >= 15 else mask_phone(bare)

    def word(match: re.Match[str]) -> str:
        token = match.group(0)
        return mask_name(token) if not token.endswith(_NOT_A_NAME_END) else token

    digit_run, han_word = _masking()
    return han_word.sub(word, digit_run.sub(digits, value))


# ---------------------------------------------------------------- mechanisms

MECHANISM_NAME_MAX = 100
MECHANISM_REF = re.compile(r"[#＃]?\s*([0-9]{1,9})")  # a mechanism's number, e.g. #12


def mechanism_name(text: str) -> str:
    """The name of a mechanism made from its text: the first line, shortened, and never
    one that reads as a mechanism's number."""
    first_line = text.strip().splitlines()[0]
    limit = MECHANISM_NAME_MAX
    name = first_line if len(first_line) <= limit else first_line[: limit - 1] + "…"
    if MECHANISM_REF.fullmatch(name):
        name = f"机制：{name}"
    return name
