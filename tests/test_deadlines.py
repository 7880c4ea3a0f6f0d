"""Working-day engine: checked against the State Council notices and the SPEC's cases.

Expected dates are worked out by hand from the notices (and cross-checked against
chinese-calendar's own data), never from the code under test.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, date, datetime, time, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import chinese_calendar as cc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from banbucheng.core.timeutil import BEIJING, to_beijing
from banbucheng.deadlines import (
    CalendarEntry,
    Deadline,
    WorkCalendar,
    compute_deadline,
    working_days_late,
    working_days_used,
)

CLOSING = time(17, 30)
ROOT = Path(__file__).resolve().parents[1]

# Built once: construction is the expensive part and the calendar is immutable.
CAL = WorkCalendar()


def due(received: datetime | date, days: int, cal: WorkCalendar = CAL, **kw: str) -> date:
    if not isinstance(received, datetime):
        received = datetime.combine(received, time(10, 0))
    return compute_deadline(received, days, cal, CLOSING, **kw).due_date


# --- the package data the tests rely on (guards against a changed chinese-calendar) ---


def test_package_data_matches_the_notices_used_below() -> None:
    # 国办发明电〔2020〕27号: 清明 2021-04-03..05; 2026 notice: 春节 02-15..23, 国庆 10-01..07.
    for d in (date(2021, 4, 3), date(2021, 4, 4), date(2021, 4, 5)):
        assert d in cc.holidays
    for k in range(9):
        assert date(2026, 2, 15) + timedelta(days=k) in cc.holidays
    for k in range(7):
        assert date(2026, 10, 1) + timedelta(days=k) in cc.holidays
    for d in (date(2026, 2, 14), date(2026, 2, 28), date(2026, 9, 20), date(2026, 10, 10)):
        assert d in cc.workdays


def test_package_years_are_derived_from_the_data() -> None:
    years = {d.year for d in cc.holidays}
    assert CAL.package_years == frozenset(years)
    assert frozenset(range(2004, 2027)) <= CAL.package_years
    assert CAL.entered_years == frozenset()
    assert CAL.covered_years == CAL.package_years
    assert CAL.is_covered(2026)
    assert not CAL.is_covered(max(years) + 1)
    assert not CAL.is_covered(2003)


# --- the SPEC's cases ---


@pytest.mark.parametrize("hour,minute", [(0, 0), (8, 30), (17, 29), (23, 59)])
def test_ms_huo(hour: int, minute: int) -> None:
    # Thu 2021-04-01: Fri 04-02 is day 1, 04-03..05 Qingming, Tue 04-06 is day 2.
    received = datetime(2021, 4, 1, hour, minute)
    assert due(received, 2) == date(2021, 4, 6)
    assert due(received, 1) == date(2021, 4, 2)
    closed = datetime(2021, 4, 6, 11, 0)
    assert working_days_used(received, closed, CAL) == 2


def test_spring_festival_2026() -> None:
    friday = date(2026, 2, 13)
    assert due(friday, 1) == date(2026, 2, 14)  # Saturday made a working day
    assert due(friday, 2) == date(2026, 2, 24)  # 02-15..23 off
    assert due(friday, 3) == date(2026, 2, 25)
    # Mon 02-09 + 5: 10, 11, 12, 13, Sat 14.
    assert due(date(2026, 2, 9), 5) == date(2026, 2, 14)
    # Fri 02-27 + 1: Sat 02-28 is a working day.
    assert due(date(2026, 2, 27), 1) == date(2026, 2, 28)
    assert CAL.is_workday(date(2026, 2, 14))
    assert not CAL.is_workday(date(2026, 2, 23))  # a Monday, but a holiday
    assert CAL.holiday_name(date(2026, 2, 17)) == "春节"
    assert CAL.holiday_name(date(2026, 2, 14)) == "春节"  # the make-up day serves 春节
    assert CAL.holiday_name(date(2026, 3, 3)) is None


def test_national_day_2026() -> None:
    assert due(date(2026, 9, 18), 1) == date(2026, 9, 20)  # Sat 19 off, Sun 20 working
    assert due(date(2026, 9, 30), 1) == date(2026, 10, 8)
    assert due(date(2026, 9, 30), 2) == date(2026, 10, 9)
    assert due(date(2026, 9, 30), 3) == date(2026, 10, 10)  # Saturday made a working day
    assert due(date(2026, 9, 30), 4) == date(2026, 10, 12)
    assert CAL.next_workday(date(2026, 9, 30)) == date(2026, 10, 8)
    assert CAL.holiday_name(date(2026, 10, 1)) == "国庆节"


def test_received_on_a_weekend_or_holiday_counts_from_the_next_day() -> None:
    saturday = date(2026, 11, 7)
    assert due(saturday, 3) == date(2026, 11, 11)  # Mon 9, Tue 10, Wed 11
    # chinese_calendar.find_workday counts from the first working day on or after:
    assert cc.find_workday(3, saturday) == date(2026, 11, 12)
    assert due(saturday, 3, nonworking_receipt="next") == date(2026, 11, 12)
    # On a working day both policies agree.
    assert due(date(2026, 11, 9), 3, nonworking_receipt="next") == date(2026, 11, 12)
    assert due(date(2026, 11, 9), 3) == date(2026, 11, 12)
    # Received on a holiday, 2026-10-03: 10-08 is day 1, 10-09 day 2.
    assert due(date(2026, 10, 3), 2) == date(2026, 10, 9)
    # With "next" it counts as received on 10-08: 10-09 day 1, Sat 10-10 day 2.
    assert due(date(2026, 10, 3), 2, nonworking_receipt="next") == date(2026, 10, 10)


def test_unknown_receipt_policy_is_refused() -> None:
    with pytest.raises(ValueError):
        due(date(2026, 11, 9), 3, nonworking_receipt="previous")


@pytest.mark.parametrize("days", [0, -1])
def test_limit_must_be_positive(days: int) -> None:
    with pytest.raises(ValueError):
        due(date(2026, 11, 9), days)


def test_hour_of_receipt_does_not_matter() -> None:
    # Fri 2026-11-27 + 3: Mon 30, Tue 12-01, Wed 12-02.
    late = due(datetime(2026, 11, 27, 23, 59), 3)
    early = due(datetime(2026, 11, 27, 0, 1), 3)
    assert late == early == date(2026, 12, 2)


def test_aware_time_in_another_zone_is_converted_to_beijing() -> None:
    # 2026-11-26 20:00 at UTC-5 is Friday 2026-11-27 09:00 in Beijing.
    received = datetime(2026, 11, 26, 20, 0, tzinfo=timezone(timedelta(hours=-5)))
    assert due(received, 3) == date(2026, 12, 2)  # counted from 11-27, not 11-26 (-> 12-01)
    ny = datetime(2026, 11, 26, 20, 0, tzinfo=ZoneInfo("America/New_York"))  # EST, UTC-5
    assert due(ny, 3) == date(2026, 12, 2)
    # The same instant expressed in Beijing time, and in UTC.
    assert due(datetime(2026, 11, 27, 9, 0, tzinfo=BEIJING), 3) == date(2026, 12, 2)
    assert due(datetime(2026, 11, 27, 1, 0, tzinfo=UTC), 3) == date(2026, 12, 2)
    # 2026-11-26 15:59 UTC is 23:59 on the 26th in Beijing: counted from Thursday.
    assert due(datetime(2026, 11, 26, 15, 59, tzinfo=UTC), 3) == date(2026, 12, 1)


_SUBPROCESS = """
from datetime import datetime, time
from banbucheng.deadlines import WorkCalendar, compute_deadline, working_days_used
cal = WorkCalendar()
d = compute_deadline(datetime(2026, 11, 27, 23, 59), 3, cal, time(17, 30))
print(d.due_date.isoformat(), d.due_at.isoformat(), d.provisional)
print(working_days_used(datetime(2021, 4, 1, 23, 30), datetime(2021, 4, 6, 0, 30), cal))
"""


@pytest.mark.parametrize("tz", ["America/Los_Angeles", "Pacific/Kiritimati", "UTC"])
def test_machine_time_zone_does_not_matter(tz: str) -> None:
    env = {**os.environ, "TZ": tz, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", _SUBPROCESS],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\n")
    assert out[0] == "2026-12-02 2026-12-02T17:30:00+08:00 False"
    assert out[1] == "2"


def test_due_at_is_closing_time_in_beijing() -> None:
    d = compute_deadline(datetime(2026, 11, 27, 10, 0), 3, CAL, time(17, 30))
    assert isinstance(d, Deadline)
    assert d.due_at == datetime(2026, 12, 2, 17, 30, tzinfo=BEIJING)
    assert d.due_at.utcoffset() == timedelta(hours=8)
    assert d.due_at.isoformat() == "2026-12-02T17:30:00+08:00"
    assert d.due_at.date() == d.due_date
    other = compute_deadline(datetime(2026, 11, 27, 10, 0), 3, CAL, time(18, 0))
    assert other.due_at.time() == time(18, 0)


# --- years the package does not cover ---


def test_deadline_in_an_uncovered_year_is_provisional() -> None:
    # Mon 2026-12-28 + 5: Tue 29, Wed 30, Thu 31, (Fri 2027-01-01 元旦, weekend),
    # Mon 01-04, Tue 01-05.
    d = compute_deadline(datetime(2026, 12, 28, 9, 0), 5, CAL, CLOSING)
    assert d.due_date == date(2027, 1, 5)
    assert d.provisional is True
    # Three days stay inside 2026.
    inside = compute_deadline(datetime(2026, 12, 28, 9, 0), 3, CAL, CLOSING)
    assert inside.due_date == date(2026, 12, 31)
    assert inside.provisional is False
    assert CAL.is_provisional(date(2026, 12, 28), date(2027, 1, 1))
    assert not CAL.is_provisional(date(2026, 12, 28), date(2026, 12, 31))
    assert not CAL.is_provisional(date(2027, 1, 5), date(2026, 12, 28))


def test_fallback_rule_in_an_uncovered_year() -> None:
    assert not CAL.is_workday(date(2027, 1, 1))  # 元旦, a Friday
    assert CAL.is_workday(date(2027, 5, 3))  # a Monday; any 劳动节 bridge can't be known
    assert not CAL.is_workday(date(2028, 5, 1))  # Monday, 劳动节
    assert not CAL.is_workday(date(2028, 5, 2))  # Tuesday, 劳动节 (since 2025)
    assert CAL.is_workday(date(2028, 5, 3))
    for k in range(3):
        assert not CAL.is_workday(date(2030, 10, 1) + timedelta(days=k))
    assert CAL.holiday_name(date(2027, 10, 1)) == "国庆节"
    assert CAL.is_workday(date(2027, 2, 8))  # lunar New Year can't be known: Mon-Fri
    # Before the package (1999 rules): 劳动节 05-01..05-03; 2003-05-01 was a Thursday.
    assert not CAL.is_workday(date(2003, 5, 2))
    assert CAL.is_provisional(date(2003, 4, 30), date(2003, 5, 6))


def test_far_uncovered_years_do_not_crash() -> None:
    d = compute_deadline(datetime(2099, 12, 1, 9, 0), 10, CAL, CLOSING)
    assert d.provisional and d.due_date.year == 2099
    with pytest.raises(ValueError, match="outside"):
        compute_deadline(datetime(1999, 12, 31, 9, 0), 1, CAL, CLOSING)
    with pytest.raises(ValueError, match="beyond"):
        compute_deadline(datetime(2099, 12, 30, 9, 0), 5, CAL, CLOSING)
    with pytest.raises(ValueError, match="outside"):
        CAL.is_workday(date(2100, 1, 1))
    with pytest.raises(ValueError, match="outside"):
        CAL.workdays_between(date(1999, 1, 1), date(2001, 1, 1))


# --- the center's own entries ---

SPRING_2027 = [
    *(
        CalendarEntry(date(2027, 2, 5) + timedelta(days=k), False, "春节", "test notice")
        for k in range(9)
    ),
    CalendarEntry(date(2027, 2, 20), True, "春节", "test notice"),
]


def test_center_entries_cover_a_year() -> None:
    cal = WorkCalendar(SPRING_2027)
    assert cal.is_covered(2027) and 2027 in cal.entered_years
    assert 2027 not in cal.package_years
    assert cal.covered_years == cal.package_years | {2027}
    # Thu 2027-02-04: 02-05..13 off, Sun 14 off; Mon 15 .. Fri 19 are days 1..5,
    # Sat 20 (made a working day) is day 6, Mon 22 day 7.
    assert due(date(2027, 2, 4), 1, cal) == date(2027, 2, 15)
    assert due(date(2027, 2, 4), 5, cal) == date(2027, 2, 19)
    assert due(date(2027, 2, 4), 6, cal) == date(2027, 2, 20)
    assert due(date(2027, 2, 4), 7, cal) == date(2027, 2, 22)
    assert not compute_deadline(datetime(2027, 2, 4, 9), 6, cal, CLOSING).provisional
    assert cal.holiday_name(date(2027, 2, 8)) == "春节"
    # Without the entries, the same dates count as ordinary weekdays, provisionally.
    assert due(date(2027, 2, 4), 1) == date(2027, 2, 5)
    assert compute_deadline(datetime(2027, 2, 4, 9), 1, CAL, CLOSING).provisional


def test_fixed_statutory_days_still_apply_in_a_year_only_partly_entered() -> None:
    cal = WorkCalendar(SPRING_2027)
    # Only 春节 was entered; 元旦 2027-01-01 is still a statutory holiday.
    d = compute_deadline(datetime(2026, 12, 28, 9, 0), 5, cal, CLOSING)
    assert d.due_date == date(2027, 1, 5)
    assert d.provisional is False


def test_make_up_day_alone_does_not_cover_a_year() -> None:
    cal = WorkCalendar([CalendarEntry(date(2027, 2, 20), True, "春节")])
    assert not cal.is_covered(2027)
    assert cal.is_workday(date(2027, 2, 20))


def test_entry_overrides_package() -> None:
    cal = WorkCalendar(
        [
            CalendarEntry(date(2026, 2, 14), False, "本中心调整"),
            CalendarEntry(date(2026, 11, 7), True, "本中心加班"),
        ]
    )
    assert not cal.is_workday(date(2026, 2, 14))
    assert due(date(2026, 2, 13), 1, cal) == date(2026, 2, 24)
    assert cal.is_workday(date(2026, 11, 7))
    assert due(date(2026, 11, 6), 1, cal) == date(2026, 11, 7)
    assert cal.holiday_name(date(2026, 2, 14)) == "本中心调整"
    assert 2026 in cal.entered_years


def test_without_the_package() -> None:
    cal = WorkCalendar(use_package=False)
    assert cal.package_years == frozenset() and cal.covered_years == frozenset()
    d = compute_deadline(datetime(2021, 4, 1, 9), 2, cal, CLOSING)
    assert d.due_date == date(2021, 4, 5)  # Qingming unknown: Fri 02, Mon 05
    assert d.provisional


# --- counting used and late days ---


def test_working_days_used_and_late() -> None:
    received = datetime(2021, 4, 1, 16, 0)
    assert working_days_used(received, datetime(2021, 4, 1, 17, 0), CAL) == 0
    assert working_days_used(received, datetime(2021, 4, 2, 9, 0), CAL) == 1
    assert working_days_used(received, datetime(2021, 4, 5, 9, 0), CAL) == 1
    assert working_days_used(received, datetime(2021, 3, 30, 9, 0), CAL) == 0
    # Closed at 2021-04-06 01:00 UTC = 09:00 Beijing on 04-06.
    assert working_days_used(received, datetime(2021, 4, 6, 1, tzinfo=UTC), CAL) == 2
    # Due Wed 2026-09-30: not late that day nor during 10-01..07; 10-08 is one day late.
    assert working_days_late(date(2026, 9, 30), date(2026, 9, 30), CAL) == 0
    assert working_days_late(date(2026, 9, 30), date(2026, 10, 7), CAL) == 0
    assert working_days_late(date(2026, 9, 30), date(2026, 10, 8), CAL) == 1
    assert working_days_late(date(2026, 9, 30), date(2026, 10, 10), CAL) == 3
    assert working_days_late(date(2026, 9, 30), date(2026, 9, 1), CAL) == 0


def test_add_workdays_zero_and_negative() -> None:
    assert CAL.add_workdays(date(2026, 11, 7), 0) == date(2026, 11, 7)
    with pytest.raises(ValueError):
        CAL.add_workdays(date(2026, 11, 7), -1)


# --- properties ---

SUPPORTED = st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 6, 30))
PACKAGE_RANGE = st.dates(min_value=date(2004, 1, 1), max_value=date(2026, 10, 31))
LIMITS = st.integers(min_value=1, max_value=120)


def test_is_workday_agrees_with_the_package_for_every_covered_day() -> None:
    d = date(2004, 1, 1)
    while d.year <= 2026:
        assert CAL.is_workday(d) == cc.is_workday(d), d
        d += timedelta(days=1)


@settings(max_examples=300, deadline=None)
@given(start=SUPPORTED, n=LIMITS, hour=st.integers(0, 23))
def test_due_date_is_a_working_day_and_monotone(start: date, n: int, hour: int) -> None:
    received = datetime.combine(start, time(hour))
    d = compute_deadline(received, n, CAL, CLOSING)
    later = compute_deadline(received, n + 1, CAL, CLOSING)
    assert d.due_date > start
    assert CAL.is_workday(d.due_date)
    assert later.due_date > d.due_date
    assert CAL.workdays_between(start, d.due_date) == n
    assert CAL.workdays_between(d.due_date, later.due_date) == 1
    assert d.due_at == datetime.combine(d.due_date, CLOSING, BEIJING)
    assert d.provisional == CAL.is_provisional(start, d.due_date)


@settings(max_examples=300, deadline=None)
@given(
    start=st.dates(min_value=date(2000, 1, 1), max_value=date(2097, 12, 31)), n=st.integers(0, 400)
)
def test_workdays_between_inverts_add_workdays(start: date, n: int) -> None:
    assert CAL.workdays_between(start, CAL.add_workdays(start, n)) == n


@settings(max_examples=200, deadline=None)
@given(start=PACKAGE_RANGE, n=st.integers(1, 40))
def test_add_workdays_matches_a_day_by_day_walk_with_the_package(start: date, n: int) -> None:
    d, left = start, n
    while left:
        d += timedelta(days=1)
        left -= cc.is_workday(d)
    assert CAL.add_workdays(start, n) == d
    assert not CAL.is_provisional(start, d)


@settings(max_examples=200, deadline=None)
@given(start=PACKAGE_RANGE, n=st.integers(1, 40))
def test_next_policy_matches_find_workday(start: date, n: int) -> None:
    assert due(start, n, nonworking_receipt="next") == cc.find_workday(n, start)
    if cc.is_workday(start):
        assert due(start, n) == cc.find_workday(n, start)


@settings(max_examples=200, deadline=None)
@given(a=PACKAGE_RANGE, span=st.integers(-30, 60))
def test_workdays_between_matches_a_count_with_the_package(a: date, span: int) -> None:
    b = a + timedelta(days=span)
    expected = sum(cc.is_workday(a + timedelta(days=k)) for k in range(1, span + 1))
    assert CAL.workdays_between(a, b) == expected
    assert working_days_late(a, b, CAL) == expected


MOMENTS = st.datetimes(
    min_value=datetime(2000, 1, 2), max_value=datetime(2099, 12, 30), timezones=st.none()
) | st.datetimes(
    min_value=datetime(2000, 1, 2),
    max_value=datetime(2099, 12, 30),
    timezones=st.sampled_from(
        [UTC, BEIJING, timezone(timedelta(hours=-11)), timezone(timedelta(hours=14))]
    ),
)


@settings(max_examples=300, deadline=None)
@given(received=MOMENTS, closed=MOMENTS)
def test_working_days_used_is_never_negative(received: datetime, closed: datetime) -> None:
    used = working_days_used(received, closed, CAL)
    assert used >= 0
    if to_beijing(closed).date() <= to_beijing(received).date():
        assert used == 0
