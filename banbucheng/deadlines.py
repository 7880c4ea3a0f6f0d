"""Working-day arithmetic for case deadlines (SPEC: "Counting working days").

Pure: no clock, no store, no I/O. A `WorkCalendar` is built once per command from the
`chinese-calendar` package and the center's own entries, and answers every question
with O(1) look-ups in a precomputed index covering 2000-01-01..2099-12-31.

Rules implemented (行政许可法 82, 民法典 201/203):
- the day a period starts is never counted, whatever the hour and whatever kind of
  day it is; a limit of N working days ends on the N-th working day after it;
- the period ends at the center's closing time on that day, Beijing time;
- a day the State Council makes a working day (调休上班日) counts as a working day.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time
from functools import cached_property
from itertools import accumulate, compress

from chinese_calendar import constants as _cc

from banbucheng.core.errors import OutOfCalendar
from banbucheng.core.timeutil import BEIJING, to_beijing

__all__ = [
    "INDEX_FIRST",
    "INDEX_LAST",
    "CalendarEntry",
    "Deadline",
    "WorkCalendar",
    "compute_deadline",
    "working_days_late",
    "working_days_used",
]

# The index range. Callers reject dates before 2000; 2099 is far beyond any deadline.
INDEX_FIRST = date(2000, 1, 1)
INDEX_LAST = date(2099, 12, 31)
_BASE = INDEX_FIRST.toordinal()
_SPAN = INDEX_LAST.toordinal() - _BASE + 1
_WEEK = b"\x01\x01\x01\x01\x01\x00\x00"  # Monday..Sunday

# chinese-calendar stores English holiday names as values; show the Chinese ones.
_CHINESE_NAME = {h.value: h.chinese for h in _cc.Holiday}

# Years the installed chinese-calendar knows, derived from its data so that a newer
# release widens coverage without a code change.
_PACKAGE_YEARS = frozenset(d.year for d in _cc.holidays)


def _statutory_fixed_days(year: int) -> tuple[tuple[int, int, str], ...]:
    """The fixed-date statutory holidays of 全国年节及纪念日放假办法 in force in `year`.

    Used only for years no schedule covers. The lunar holidays (春节, 端午, 中秋) and
    清明 (a solar term), and every 调休 arrangement, depend on the State Council's
    yearly notice, which does not exist yet for such years: they cannot be known
    here, so any deadline reaching such a year is marked provisional.
    """
    if year < 2008:  # 1999 version: 劳动节 three days (05-01..05-03)
        labour = ((5, 1, "劳动节"), (5, 2, "劳动节"), (5, 3, "劳动节"))
    elif year < 2025:  # 2007 and 2013 versions: 劳动节 one day
        labour = ((5, 1, "劳动节"),)
    else:  # 2024 revision, in force from 2025-01-01: 劳动节 two days
        labour = ((5, 1, "劳动节"), (5, 2, "劳动节"))
    national = ((10, 1, "国庆节"), (10, 2, "国庆节"), (10, 3, "国庆节"))
    return ((1, 1, "元旦"), *labour, *national)


@dataclass(frozen=True)
class CalendarEntry:
    """One day of a schedule the center entered itself (e.g. before the package knows it)."""

    day: date
    workday: bool  # True: a 调休上班日 (weekend made a working day); False: a holiday
    name: str = ""  # e.g. "春节"
    source: str = ""  # the notice it comes from, e.g. "国办发明电〔2026〕1号"


def _out_of_range(what: date) -> ValueError:
    return OutOfCalendar(
        f"date {what.isoformat()} is outside the working-day calendar "
        f"({INDEX_FIRST.isoformat()} to {INDEX_LAST.isoformat()})"
    )


class WorkCalendar:
    """Which days are working days, indexed once for O(1) counting.

    Precedence for a day: the center's entry, then (in a year chinese-calendar covers)
    the package's make-up days and holidays, then Monday-Friday. In years the package
    does not cover, the fixed-date statutory holidays are also removed (see
    `_statutory_fixed_days`); in years nobody covers the result is provisional.
    """

    package_years: frozenset[int]
    entered_years: frozenset[int]
    covered_years: frozenset[int]

    def __init__(
        self,
        entries: Iterable[CalendarEntry] = (),
        *,
        use_package: bool = True,
        covered: Iterable[int] | None = None,
    ) -> None:
        """`covered`: the years whose entered schedule is complete (the store passes the
        years the center declared complete, see domain/calendar.py). Left out, every
        year with an entered holiday counts as covered, as for a whole notice's entries."""
        package_years = _PACKAGE_YEARS if use_package else frozenset()
        names: dict[int, str] = {}

        # Monday-Friday first; ordinal 1 (0001-01-01) is a Monday. Built from a week's
        # pattern and the running counts below with itertools, not a Python loop per
        # day: every command builds a calendar, and a loop costs it tens of ms.
        first = (_BASE - 1) % 7
        flags = bytearray((_WEEK * (_SPAN // 7 + 2))[first : first + _SPAN])

        first_year, last_year = INDEX_FIRST.year, INDEX_LAST.year
        for year in range(first_year, last_year + 1):
            if year in package_years:
                continue
            for month, day, name in _statutory_fixed_days(year):
                i = date(year, month, day).toordinal() - _BASE
                flags[i] = False
                names[i] = name

        if use_package:
            for d, value in _cc.holidays.items():
                i = d.toordinal() - _BASE
                if 0 <= i < _SPAN:
                    flags[i] = False
                    names[i] = _CHINESE_NAME.get(value, value)
            for d, value in _cc.workdays.items():
                i = d.toordinal() - _BASE
                if 0 <= i < _SPAN:
                    flags[i] = True
                    names[i] = _CHINESE_NAME.get(value, value)

        # The center's entries win over everything; a later entry for the same day wins
        # over an earlier one. Entries outside the index cannot affect any computation
        # and are ignored rather than breaking every command.
        entered: set[int] = set()
        for entry in entries:
            d = entry.day.date() if isinstance(entry.day, datetime) else entry.day
            i = d.toordinal() - _BASE
            if not 0 <= i < _SPAN:
                continue
            flags[i] = bool(entry.workday)
            if entry.name:
                names[i] = entry.name
            else:
                names.pop(i, None)
            if not entry.workday:
                entered.add(d.year)

        self.package_years = frozenset(package_years)
        self.entered_years = frozenset(entered)
        declared = self.entered_years if covered is None else frozenset(covered)
        self.covered_years = self.package_years | declared

        # cum[i]: working days among offsets 0..i; unc[i]: uncovered days among 0..i.
        # Then "working days in (a, b]" is cum[b] - cum[a], and the k-th working day of
        # the whole index is wd[k - 1]; both are plain list look-ups.
        uncovered = bytearray(_SPAN)
        for year in range(first_year, last_year + 1):
            if year not in self.covered_years:
                a = date(year, 1, 1).toordinal() - _BASE
                b = date(year + 1, 1, 1).toordinal() - _BASE
                uncovered[a:b] = b"\x01" * (b - a)
        self._flags = bytes(flags)
        self._names = names
        self._cum = list(accumulate(flags))
        self._unc = list(accumulate(uncovered))
        self._wd_ordinals = list(compress(range(_BASE, _BASE + _SPAN), flags))

    @cached_property
    def _wd_dates(self) -> list[date]:
        """The working days as dates, built once (so compute_deadline does not)."""
        return list(map(date.fromordinal, self._wd_ordinals))

    def __repr__(self) -> str:
        years = sorted(self.covered_years)
        span = f"{years[0]}..{years[-1]}" if years else "none"
        return f"WorkCalendar(covered={span}, entered={sorted(self.entered_years)})"

    def _offset(self, d: date) -> int:
        i = d.toordinal() - _BASE
        if not 0 <= i < _SPAN:
            raise _out_of_range(d)
        return i

    def is_covered(self, year: int) -> bool:
        return year in self.covered_years

    def is_workday(self, d: date) -> bool:
        return bool(self._flags[self._offset(d)])

    def next_workday(self, d: date) -> date:
        """The first working day strictly after d."""
        return self.add_workdays(d, 1)

    def add_workdays(self, start: date, n: int) -> date:
        """The n-th working day strictly after start (n == 0: start itself)."""
        if n < 0:
            raise ValueError(f"number of working days must be >= 0, got {n}")
        if n == 0:
            self._offset(start)
            return start
        k = self._cum[self._offset(start)] + n
        if k > len(self._wd_dates):
            raise OutOfCalendar(
                f"{n} working days after {start.isoformat()} is beyond {INDEX_LAST.isoformat()}"
            )
        return self._wd_dates[k - 1]

    def workdays_between(self, start: date, end: date) -> int:
        """Working days in (start, end]; 0 when end <= start."""
        a = self._offset(start)
        b = self._offset(end)
        if b <= a:
            return 0
        return self._cum[b] - self._cum[a]

    def is_provisional(self, start: date, end: date) -> bool:
        """True when a day in (start, end] lies in a year no schedule covers."""
        a = self._offset(start)
        b = self._offset(end)
        return b > a and self._unc[b] != self._unc[a]

    def holiday_name(self, d: date) -> str | None:
        """The holiday a day belongs to, or the one a make-up working day serves."""
        return self._names.get(self._offset(d))


@dataclass(frozen=True)
class Deadline:
    due_date: date
    due_at: datetime  # aware, Beijing time, at the closing time on due_date
    provisional: bool  # some day counted lies in a year no schedule covers yet


def compute_deadline(
    received_at: datetime,
    days: int,
    calendar: WorkCalendar,
    closing: time,
    *,
    nonworking_receipt: str = "same",
) -> Deadline:
    """The deadline of a matter received at `received_at` with a limit of `days` working days.

    The receipt day (Beijing date) is not counted (民法典 201), whatever the hour and
    also when it is not a working day. With nonworking_receipt="next" (a center policy),
    a matter received on a non-working day counts as received on the next working day,
    which is what chinese_calendar.find_workday(days, day) computes.
    """
    # Kept lean on purpose: it runs for every open case in every report.
    if days < 1:
        raise ValueError(f"a time limit must be at least 1 working day, got {days}")
    tz = received_at.tzinfo
    if tz is not None and tz is not BEIJING:
        received_at = to_beijing(received_at)
    # A naive datetime is Beijing time already, so its own date is the Beijing date.
    start = received_at.toordinal() - _BASE
    if not 0 <= start < _SPAN:
        raise _out_of_range(received_at.date())
    k = calendar._cum[start] + days  # 1-based rank of the due day among working days
    first = start  # the first day whose status the result depends on
    if nonworking_receipt != "same":
        if nonworking_receipt != "next":
            raise ValueError(
                f"nonworking_receipt must be 'same' or 'next', got {nonworking_receipt!r}"
            )
        # Whether the receipt day itself is working now matters too.
        first = start - 1
        if not calendar._flags[start]:
            k += 1  # the receipt counts from the next working day, itself not counted
    wd_dates = calendar._wd_dates
    if k > len(wd_dates):
        raise OutOfCalendar(
            f"{days} working days after {received_at.date().isoformat()} "
            f"is beyond {INDEX_LAST.isoformat()}"
        )
    due_date = wd_dates[k - 1]
    unc = calendar._unc
    end = calendar._wd_ordinals[k - 1] - _BASE
    provisional = unc[end] != (unc[first] if first >= 0 else 0)
    due_at = datetime.combine(due_date, closing, BEIJING)
    return Deadline(due_date, due_at, provisional)


def _beijing_date(moment: datetime) -> date:
    return to_beijing(moment).date()


def working_days_used(received_at: datetime, closed_at: datetime, calendar: WorkCalendar) -> int:
    """Working days in (received day, closed day], Beijing dates; 0 if closed that day or before."""
    return calendar.workdays_between(_beijing_date(received_at), _beijing_date(closed_at))


def working_days_late(due_date: date, today: date, calendar: WorkCalendar) -> int:
    """Working days in (due_date, today]; 0 when not late."""
    return calendar.workdays_between(due_date, today)
