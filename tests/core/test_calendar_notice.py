"""The State Council holiday notice parser: the published notices 2008-2026 against
chinese-calendar's data, refusals of malformed texts, and random notices in the published style.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from chinese_calendar import constants as cc
from hypothesis import given, settings
from hypothesis import strategies as st

from banbucheng.core.errors import InvalidInput
from banbucheng.core.notice import Notice, merge_notices
from banbucheng.core.notice_parser import parse_notice

NOTICES = Path(__file__).parents[1] / "data" / "notices"
YEARS = sorted({int(p.stem[:4]) for p in NOTICES.glob("*.txt")})


def read(name: str) -> str:
    return (NOTICES / name).read_text(encoding="utf-8")


def titled(year: int, *lines: str) -> str:
    return "\n".join([f"国务院办公厅关于{year}年部分节假日安排的通知", *lines]) + "\n"


def notices_for(year: int) -> list[Notice]:
    """The year's notice, then the notices amending it (2015, 2019, 2020)."""
    base = parse_notice(read(f"{year}.txt"))
    amendments = sorted(NOTICES.glob(f"{year}-*.txt"))
    return [base, *(parse_notice(p.read_text(encoding="utf-8"), year=year) for p in amendments)]


# --- the published notices against chinese-calendar -------------------------------------

NEW_YEAR = cc.Holiday.new_years_day.value

# chinese-calendar's English names, by the Chinese names the notices use
CC_NAMES = {
    "元旦": cc.Holiday.new_years_day.value,
    "春节": cc.Holiday.spring_festival.value,
    "清明": cc.Holiday.tomb_sweeping_day.value,
    "劳动节": cc.Holiday.labour_day.value,
    "五一": cc.Holiday.labour_day.value,
    "端午": cc.Holiday.dragon_boat_festival.value,
    "中秋": cc.Holiday.mid_autumn_festival.value,
    "国庆": cc.Holiday.national_day.value,
    "纪念日": cc.Holiday.anti_fascist_70th_day.value,
}

# Where the published text and chinese-calendar 1.11 differ. Every one is a Saturday or a
# Sunday, so no working-day count is affected.
ONLY_IN_NOTICE = {
    # 五、端午节：6月4日至6日放假公休，共3天。 chinese-calendar lists 4 and 6 June only.
    2011: {date(2011, 6, 5)},
    # 五、端午节：6月22日至24日放假公休，共3天。 chinese-calendar lists 22 and 24 June only.
    2012: {date(2012, 6, 23)},
    2015: {
        # 五、端午节：6月20日放假，6月22日（星期一）补休。 read as one period, 20 to 22 June
        # (as 4月5日放假，4月7日补休 in 2014, where chinese-calendar does list the Sunday).
        date(2015, 6, 21),
        # 9月3日至5日调休放假，共3天。 chinese-calendar lists 3 and 4 September only.
        date(2015, 9, 5),
    },
}
ONLY_IN_CC = {
    # 清明节/端午节/中秋节：X放假，与周末连休。 chinese-calendar adds the weekends here, though
    # not for the same wording in 2014, 2016, 2017, 2018 or 2024's Dragon Boat Festival.
    2019: {
        date(2019, 4, 6),
        date(2019, 4, 7),
        date(2019, 6, 8),
        date(2019, 6, 9),
        date(2019, 9, 14),
        date(2019, 9, 15),
    },
    # 一、元旦：1月1日放假，与周末连休。 chinese-calendar adds 30 and 31 December 2023.
    2024: {date(2023, 12, 30), date(2023, 12, 31)},
}


def cc_days(year: int) -> dict[date, tuple[bool, str]]:
    """chinese-calendar's days that the notice for ``year`` speaks about.

    A New Year holiday period can start in December of the year before (2008, 2019, 2023
    notices) and its make-up day can fall there too (2012): those December days belong to the
    next year's notice, not to the one of the year they fall in.
    """
    out: dict[date, tuple[bool, str]] = {}
    for table, work in ((cc.holidays, False), (cc.workdays, True)):
        for d, name in table.items():
            december_new_year = d.month == 12 and name == NEW_YEAR
            if (d.year == year and not december_new_year) or (
                d.year == year - 1 and december_new_year
            ):
                out[d] = (work, name)
    return out


def test_fixtures_cover_the_years_asked_for() -> None:
    assert {2017, 2021, 2025, 2026} <= set(YEARS)
    assert list(range(2008, 2027)) == YEARS


@pytest.mark.parametrize("year", YEARS)
def test_notice_reproduces_chinese_calendar(year: int) -> None:
    got = merge_notices(notices_for(year))
    expected = cc_days(year)
    assert set(got) - set(expected) == ONLY_IN_NOTICE.get(year, set())
    assert set(expected) - set(got) == ONLY_IN_CC.get(year, set())
    for d in set(got) & set(expected):
        work, name = got[d]
        assert work == expected[d][0], d
        english = {v for k, v in CC_NAMES.items() if k in name}
        assert expected[d][1] in english, (d, name, expected[d][1])
    for d in ONLY_IN_NOTICE.get(year, set()) | ONLY_IN_CC.get(year, set()):
        assert d.weekday() >= 5


@pytest.mark.parametrize("year", YEARS)
def test_notice_header(year: int) -> None:
    notice = parse_notice(read(f"{year}.txt"))
    assert notice.year == year
    assert notice.title == f"国务院办公厅关于{year}年部分节假日安排的通知"
    assert notice.number.startswith("国办发明电〔")
    assert notice.number.endswith("号")
    assert int(notice.number[6:10]) == year - 1
    assert all(h.first <= h.last for h in notice.holidays)
    assert all(w.day.weekday() >= 5 for w in notice.workdays)


def test_2026_in_detail() -> None:
    notice = parse_notice(read("2026.txt"))
    assert [(h.name, h.first, h.last, h.line) for h in notice.holidays] == [
        ("元旦", date(2026, 1, 1), date(2026, 1, 3), 6),
        ("春节", date(2026, 2, 15), date(2026, 2, 23), 7),
        ("清明节", date(2026, 4, 4), date(2026, 4, 6), 8),
        ("劳动节", date(2026, 5, 1), date(2026, 5, 5), 9),
        ("端午节", date(2026, 6, 19), date(2026, 6, 21), 10),
        ("中秋节", date(2026, 9, 25), date(2026, 9, 27), 11),
        ("国庆节", date(2026, 10, 1), date(2026, 10, 7), 12),
    ]
    assert [(w.name, w.day) for w in notice.workdays] == [
        ("元旦", date(2026, 1, 4)),
        ("春节", date(2026, 2, 14)),
        ("春节", date(2026, 2, 28)),
        ("劳动节", date(2026, 5, 9)),
        ("国庆节", date(2026, 9, 20)),
        ("国庆节", date(2026, 10, 10)),
    ]
    days = notice.days()
    assert list(days) == sorted(days)
    assert days[date(2026, 2, 14)] == (True, "春节")
    assert days[date(2026, 10, 7)] == (False, "国庆节")
    assert len(days) == 33 + 6


def test_cross_year_new_year() -> None:
    n2019 = parse_notice(read("2019.txt"))
    assert n2019.holidays[0].first == date(2018, 12, 30)
    assert n2019.workdays[0].day == date(2018, 12, 29)
    n2012 = parse_notice(read("2012.txt"))
    assert n2012.workdays[0].day == date(2011, 12, 31)
    n2008 = parse_notice(read("2008.txt"))
    assert (n2008.holidays[0].first, n2008.holidays[0].last) == (
        date(2007, 12, 30),
        date(2008, 1, 1),
    )
    assert n2008.workdays[0].day == date(2007, 12, 29)
    # the same without the years written out: a December-to-January range starts the year before
    text = titled(2019, "一、元旦：12月30日至1月1日放假，共3天。12月29日（星期六）上班。")
    days = parse_notice(text).days()
    assert days == {
        date(2018, 12, 29): (True, "元旦"),
        date(2018, 12, 30): (False, "元旦"),
        date(2018, 12, 31): (False, "元旦"),
        date(2019, 1, 1): (False, "元旦"),
    }


def test_2008_make_up_days_stated_as_moves() -> None:
    # 9月27日（星期六）、9月28日（星期日）两个公休日调至9月29日（星期一）、30日（星期二）
    days = parse_notice(read("2008.txt")).days()
    assert days[date(2008, 9, 27)] == (True, "国庆节")
    assert days[date(2008, 9, 28)] == (True, "国庆节")
    assert days[date(2008, 2, 2)] == (True, "春节")
    assert days[date(2008, 5, 4)] == (True, "“五一”国际劳动节")


def test_advice_is_not_a_day_off() -> None:
    # 2024: 鼓励各单位……安排职工在除夕（2月9日）休息。
    days = parse_notice(read("2024.txt")).days()
    assert date(2024, 2, 9) not in days
    assert days[date(2024, 2, 10)] == (False, "春节")


def test_amendments_are_merged() -> None:
    base, extension = notices_for(2020)
    assert extension.extensions[0].last == date(2020, 2, 2)
    assert base.days()[date(2020, 2, 1)] == (True, "春节")
    merged = merge_notices([base, extension])
    assert merged[date(2020, 2, 1)] == (False, "春节")
    assert [d for d, (w, n) in merged.items() if n == "春节" and not w][-1] == date(2020, 2, 2)
    assert merge_notices([base, extension, base, extension]) == merged
    with pytest.raises(InvalidInput, match="第6行延长的春节假期在之前的通知中找不到"):
        merge_notices([extension])

    base, labour = notices_for(2019)
    assert base.days()[date(2019, 5, 1)] == (False, "劳动节")
    assert date(2019, 5, 2) not in base.days()
    merged = merge_notices([base, labour])
    assert [d for d, (w, n) in merged.items() if n == "劳动节"] == [
        date(2019, 4, 28),
        date(2019, 5, 1),
        date(2019, 5, 2),
        date(2019, 5, 3),
        date(2019, 5, 4),
        date(2019, 5, 5),
    ]


def test_2015_victory_day_needs_the_year() -> None:
    text = read("2015-victory-day.txt")
    with pytest.raises(InvalidInput, match="无法确定年份"):
        parse_notice(text)
    notice = parse_notice(text, year=2015)
    assert notice.number == "国发明电〔2015〕1号"
    assert [(h.first, h.last) for h in notice.holidays] == [(date(2015, 9, 3), date(2015, 9, 5))]
    assert [w.day for w in notice.workdays] == [date(2015, 9, 6)]
    assert notice.holidays[0].name.endswith("70周年纪念日")


# --- wording variants -----------------------------------------------------------------

BRIEF = """国务院办公厅关于2026年部分节假日安排的通知
国办发明电〔2025〕7号
一、元旦：1月1日（周四）至3日（周六）放假调休，共3天。1月4日（周日）上班。
二、春节：2月15日（农历腊月二十八、周日）至23日（农历正月初七、周一）放假调休，共9天。2月14日（周六）、2月28日（周六）上班。
"""

FULLWIDTH_DIGITS = str.maketrans("0123456789", "０１２３４５６７８９")
HALFWIDTH_PUNCT = str.maketrans({"，": ",", "。": ".", "：": ":", "（": "(", "）": ")"})


def test_full_and_half_width() -> None:
    expected = parse_notice(read("2026.txt")).days()
    text = read("2026.txt")
    assert parse_notice(text.translate(FULLWIDTH_DIGITS)).days() == expected
    assert parse_notice(text.translate(HALFWIDTH_PUNCT)).days() == expected
    assert parse_notice(BRIEF.translate(HALFWIDTH_PUNCT).replace("周", "星期")).days() == {
        d: v for d, v in expected.items() if d < date(2026, 3, 1)
    }


def test_layout_variants() -> None:
    # the title broken over two lines, headings on their own line, 其中 on lines of their own,
    # a heading without its colon, 星期天, Chinese numerals in 共三天
    text = """国务院办公厅关于2009年
部分节假日安排的通知
国 办 发明电〔2008〕42号
一、元旦：
1月1日至3日放假，共三天。
其中，1月1日（星期四、新年）为法定节假日，1月3日（星期六）为公休日。
1月4日（星期天）公休日调至1月2日（星期五）。
1月4日（星期日）上班。
三、清明节4月4日至6日放假，共3天。
"""
    notice = parse_notice(text)
    assert notice.title == "国务院办公厅关于2009年部分节假日安排的通知"
    assert notice.number == "国办发明电〔2008〕42号"
    assert [(h.name, h.first, h.last, h.line) for h in notice.holidays] == [
        ("元旦", date(2009, 1, 1), date(2009, 1, 3), 5),
        ("清明节", date(2009, 4, 4), date(2009, 4, 6), 9),
    ]
    assert [(w.day, w.line) for w in notice.workdays] == [(date(2009, 1, 4), 7)]


def test_title_over_three_lines_and_given_year_must_agree() -> None:
    text = "国务院关于中国人民抗日战争暨\n世界反法西斯战争胜利70周年纪念日\n调休放假的通知\n" + (
        "9月3日至5日调休放假，共3天。"
    )
    notice = parse_notice(text, year=2015)
    assert notice.title.endswith("纪念日调休放假的通知")
    assert notice.holidays[0].name == "中国人民抗日战争暨世界反法西斯战争胜利70周年纪念日"
    with pytest.raises(InvalidInput, match="年份"):
        parse_notice(read("2026.txt"), year=2025)


# --- refusals -------------------------------------------------------------------------


def refused(text: str, year: int | None = None) -> str:
    with pytest.raises(InvalidInput) as caught:
        parse_notice(text, year=year)
    message = caught.value.message
    assert "\n" not in message
    return message


def edit(old: str, new: str) -> str:
    text = read("2026.txt")
    assert old in text
    return text.replace(old, new)


def test_refuses_wrong_count() -> None:
    message = refused(edit("共9天", "共8天"))
    assert message.startswith("第7行天数不符")
    assert "共8天" in message and "是9天" in message
    assert "「二、春节：2月15日" in message


def test_refuses_wrong_weekday() -> None:
    message = refused(edit("1月4日（周日）上班", "1月4日（周六）上班"))
    assert message.startswith("第6行星期不符（2026年1月4日是星期日，不是星期六）")
    message = refused(edit("2月15日（农历腊月二十八、周日）", "2月15日（农历腊月二十八、周一）"))
    assert message.startswith("第7行星期不符")


def test_refuses_unreadable_item() -> None:
    message = refused(
        edit("五、端午节：6月19日（周五）至21日（周日）放假，共3天。", "五、端午节：6月某日放假")
    )
    assert message == "第10行无法识别：「五、端午节：6月某日放假」"
    assert refused(edit("共3天。1月4日", "共3天，另行安排。1月4日")).startswith("第6行无法识别")
    assert refused(edit("（周四）至3日", "（周四）及3日")).startswith("第6行无法识别")
    assert refused(
        edit("五、端午节：6月19日（周五）至21日（周日）放假，共3天。", "五、端午节：另行通知。")
    ) == ("第10行无法识别：「五、端午节：另行通知。」")
    assert refused(
        edit("五、端午节：6月19日（周五）至21日（周日）放假，共3天。", "五、端午节：")
    ) == ("第10行没有放假日期：「五、端午节：」")


def test_refuses_a_day_both_off_and_on() -> None:
    message = refused(
        edit("至21日（周日）放假，共3天。", "至21日（周日）放假，共3天。6月20日（周六）上班。")
    )
    assert message.startswith("第10行既放假又上班（2026年6月20日）")
    other_item = edit("5月9日（周六）上班", "5月9日（周六）、6月20日（周六）上班")
    assert refused(other_item).startswith("第9行既放假又上班（2026年6月20日）")


def test_refuses_without_year() -> None:
    text = read("2026.txt").split("\n", 1)[1]
    assert refused(text) == "无法确定年份：标题中没有「YYYY年」，请指定通知的年份"
    assert parse_notice(text, year=2026).days() == parse_notice(read("2026.txt")).days()


def test_refuses_empty_and_holiday_less_text() -> None:
    assert refused("") == "通知内容为空"
    assert refused(" \n\u3000\n") == "通知内容为空"
    prose = titled(2026, "节假日期间，各地区要妥善安排好值班。")
    assert refused(prose).startswith("没有找到放假安排")


def test_refuses_other_impossibilities() -> None:
    assert refused(edit("5月9日（周六）", "2月30日")).startswith("第9行日期无效（2月30日）")
    assert refused(edit("5月9日（周六）上班", "5月8日上班")).startswith(
        "第9行调休上班日不是周末（2026年5月8日是星期五）"
    )
    assert refused(edit("至21日（周日）放假，共3天", "至17日放假")).startswith("第10行日期区间颠倒")
    joined = titled(2025, "一、元旦：1月1日放假，与周末连休。")
    assert refused(joined).startswith("第2行不与周末相连（2025年1月1日是星期三）")
    buxiu = titled(2015, "三、清明节：4月5日放假，4月8日（星期三）补休。")
    assert refused(buxiu).startswith("第2行补休日不对")
    moved = titled(2009, "一、元旦：1月1日至3日放假。其中，1月5日为法定节假日。")
    assert refused(moved).startswith("第2行不在放假期间内（2009年1月5日）")
    nameless = titled(2026, "6月19日至21日放假，共3天。")
    assert refused(nameless).startswith("第2行看不出是哪个节日")


def test_quotes_at_most_40_characters() -> None:
    long_line = "五、端午节：6月19日放假，" + "另行安排" * 20
    message = refused(edit("五、端午节：6月19日（周五）至21日（周日）放假，共3天。", long_line))
    quoted = message.split("「", 1)[1].rstrip("」")
    assert quoted == long_line[:40] + "…"


# --- random notices in the published style --------------------------------------------

WEEKDAY = "一二三四五六日"

# name, first possible start (month, day), last possible start, longest period
SLOTS = [
    ("春节", (1, 20), (2, 19), 9),
    ("清明节", (4, 2), (4, 5), 3),
    ("劳动节", (4, 28), (5, 1), 5),
    ("端午节", (5, 28), (6, 22), 3),
    ("中秋节", (9, 7), (9, 24), 3),
    ("国庆节", (10, 1), (10, 1), 8),
]


@st.composite
def plans(draw: st.DrawFn) -> tuple[str, dict[date, tuple[bool, str]]]:
    year = draw(st.integers(2001, 2099))
    week = draw(st.sampled_from(["周", "星期", ""]))
    years_written = draw(st.booleans())

    def md(d: date, *, explicit: bool = False, month: bool = True) -> str:
        prefix = f"{d.year}年" if explicit else ""
        return prefix + (f"{d.month}月{d.day}日" if month else f"{d.day}日")

    def note(d: date, lunar: str = "") -> str:
        parts = [p for p in (lunar, week + WEEKDAY[d.weekday()] if week else "") if p]
        return f"（{'、'.join(parts)}）" if parts else ""

    periods: list[tuple[str, date, date]] = []
    if draw(st.booleans()):
        start = date(year, 1, 1) - timedelta(days=draw(st.integers(0, 3)))
        end = date(year, 1, 1) + timedelta(days=draw(st.integers(0, 2)))
        periods.append(("元旦", start, end))
    for name, (m1, d1), (m2, d2), longest in SLOTS:
        if draw(st.booleans()):
            lo, hi = date(year, m1, d1), date(year, m2, d2)
            start = lo + timedelta(days=draw(st.integers(0, (hi - lo).days)))
            end = start + timedelta(days=draw(st.integers(0, longest - 1)))
            periods.append((name, start, end))
    if not periods:
        periods.append(("国庆节", date(year, 10, 1), date(year, 10, 7)))

    off = {p[1] + timedelta(days=i) for p in periods for i in range((p[2] - p[1]).days + 1)}
    taken: set[date] = set()
    expected: dict[date, tuple[bool, str]] = {}
    items: list[str] = []
    for number, (name, start, end) in zip("一二三四五六七", periods, strict=False):
        explicit = name == "元旦" and (
            years_written or (start.year != end.year and draw(st.booleans()))
        )
        length = (end - start).days + 1
        lunar = "农历除夕" if name == "春节" and draw(st.booleans()) else ""
        head = md(start, explicit=explicit) + note(start, lunar)
        if length == 1:
            tails = ["放假，共1天。", "放假1天。", "放假。", "放假1天，不调休。"]
            if start.weekday() in (0, 4):
                tails.append("放假，与周末连休。")
            body = head + draw(st.sampled_from(tails))
        elif start.weekday() >= 5 and end.weekday() == 0 and length <= 3 and draw(st.booleans()):
            body = f"{head}放假，{md(end)}（星期一）补休。"
        else:
            tail = md(end, explicit=explicit, month=end.month != start.month) + note(end)
            kind = draw(st.sampled_from(["放假调休", "放假", "放假公休", "调休放假"]))
            count = draw(st.sampled_from([f"，共{length}天", ""]))
            sep = draw(st.sampled_from(["至", "—"]))
            body = f"{head}{sep}{tail}{kind}{count}。"
        for i in range(length):
            expected[start + timedelta(days=i)] = (False, name)
        near = [start + timedelta(days=i) for i in range(-10, length + 10)]
        candidates = [d for d in near if d.weekday() >= 5 and d not in off | taken]
        chosen = sorted(draw(st.lists(st.sampled_from(candidates), max_size=2, unique=True)))
        if chosen:
            written = [md(d, explicit=explicit and d.year != year) + note(d) for d in chosen]
            body += "、".join(written) + "上班。"
            for d in chosen:
                expected[d] = (True, name)
                taken.add(d)
        items.append(f"　　{number}、{name}：{body}")

    text = "\n".join(
        [
            f"国务院办公厅关于{year}年部分节假日安排的通知",
            f"国办发明电〔{year - 1}〕{draw(st.integers(1, 60))}号",
            "",
            "各省、自治区、直辖市人民政府，国务院各部委、各直属机构：",
            f"　　经国务院批准，现将{year}年元旦、春节、清明节、劳动节、端午节、中秋节和国庆节"
            "放假调休日期的具体安排通知如下。",
            *items,
            "　　节假日期间，各地区、各部门要妥善安排好值班和安全、保卫等工作，遇有重大突发事件，"
            "要按规定及时报告并妥善处置，确保人民群众祥和平安度过节日假期。",
            "",
            "　　国务院办公厅",
            f"　　{year - 1}年11月4日",
        ]
    )
    if draw(st.booleans()):
        text = text.translate(HALFWIDTH_PUNCT)
    if draw(st.booleans()):
        text = text.translate(FULLWIDTH_DIGITS)
    return text, dict(sorted(expected.items()))


@settings(max_examples=150, deadline=None)
@given(plans())
def test_rendered_notices_parse_back(plan: tuple[str, dict[date, tuple[bool, str]]]) -> None:
    text, expected = plan
    assert parse_notice(text).days() == expected
