"""Parse the State Council's yearly holiday notice into days off and make-up working days.

Why this exists: deadlines are counted in Chinese working days, and the package
chinese-calendar only knows the years up to the newest notice it shipped with. The State
Council publishes the next year's schedule (国务院办公厅关于YYYY年部分节假日安排的通知)
around November, long before a chinese-calendar release follows, so a center enters the
notice itself as soon as it appears. This module turns the notice's plain text, as published
on the government website, into data, and checks everything the text lets it check. It is
pure: standard library only, no database, no CLI (``bbc calendar import FILE`` builds on it).

What the text means, as read here:

- ``6月19日至21日放假，共3天`` is a holiday period (``Holiday``); the stated count must
  equal the period's length. ``1月1日放假1天`` / ``9月27日放假`` is a one-day period.
- ``4月5日放假，4月7日（星期一）补休`` is one period, 5 to 7 April: the make-up day off ends
  it and the days between must be a weekend.
- ``1月1日放假，与周末连休`` lists only 1 January (it must be a Monday or a Friday); the
  adjoining weekend is not listed, and is not a working day anyway.
- ``2月14日（周六）、2月28日（周六）上班`` are make-up working days (``MakeupDay``); they must
  be weekend days.
- A weekday in parentheses (周X, 星期X, also inside 农历 notes) must match the date.
- ``其中…`` clauses of the 2008/2009 notices (为法定节假日, 照常公休, 公休日调至…) are checked
  against the period; a weekend day moved (调至) into the period from outside it becomes a
  working day, which is how the 2008 notice states its National Day make-up days.
- ``鼓励…`` sentences are advice (e.g. the 2024 eve of the Spring Festival), not days off.
- Dates without a year belong to the notice's year, except that a range running from
  December to January (``12月30日至1月1日``) starts in the previous year, and other dates of
  the same item take the year that puts them nearest its period (``12月29日（星期六）上班`` in
  the New Year item of the 2008 notice is 29 December 2007).
- A notice that amends an earlier one (调整2019年劳动节假期安排, 延长2020年春节假期) parses the
  same way; ``merge_notices`` applies it to the notices it amends.

Anything that looks like an arrangement but cannot be read completely is refused with
``InvalidInput`` naming the line; prose (preamble, closing paragraph, issuer and date) is
ignored.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

from banbucheng.core.errors import InvalidInput

__all__ = [
    "Extension",
    "Holiday",
    "MakeupDay",
    "Notice",
    "merge_notices",
]


@dataclass(frozen=True)
class Holiday:
    """A period off as the notice states it: ``first`` to ``last`` inclusive."""

    name: str
    first: date
    last: date
    line: int

    def dates(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range((self.last - self.first).days + 1)]


@dataclass(frozen=True)
class MakeupDay:
    """A weekend day the notice turns into a working day (调休上班)."""

    name: str
    day: date
    line: int


@dataclass(frozen=True)
class Extension:
    """「延长…假期至X月X日」: the holiday ``name`` now runs to ``last`` (see ``merge_notices``)."""

    name: str
    last: date
    line: int


@dataclass(frozen=True)
class Notice:
    year: int
    title: str
    number: str
    holidays: list[Holiday]
    workdays: list[MakeupDay]
    extensions: list[Extension] = field(default_factory=list)

    def days(self) -> dict[date, tuple[bool, str]]:
        """Each listed day: (is_workday, holiday name), in date order."""
        out: dict[date, tuple[bool, str]] = {}
        for h in self.holidays:
            for d in h.dates():
                out[d] = (False, h.name)
        for e in self.extensions:
            out.setdefault(e.last, (False, e.name))
        for w in self.workdays:
            out[w.day] = (True, w.name)
        return dict(sorted(out.items()))


def fmt(d: date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def holiday_parts(name: str) -> set[str]:
    return {p.strip('“”"') for p in name.split("、") if p}


def same_holiday(a: str, b: str) -> bool:
    return bool(holiday_parts(a) & holiday_parts(b))


def merge_notices(notices: Iterable[Notice]) -> dict[date, tuple[bool, str]]:
    """The days of several notices, later ones amending earlier ones of the same year.

    A later notice for the same year restates the holidays it names (the 2019 Labour Day
    adjustment replaces the original 1 May); an extension continues the named holiday from
    its last day to the new last day, turning any make-up working day in between into a day
    off (the 2020 Spring Festival extension frees Saturday 1 February). Importing the same
    notice twice changes nothing.
    """
    state: dict[date, tuple[bool, str, int]] = {}
    for n in notices:
        names = [h.name for h in n.holidays] + [w.name for w in n.workdays]
        for d, (_, name, year) in list(state.items()):
            if year == n.year and any(same_holiday(name, other) for other in names):
                del state[d]
        for h in n.holidays:
            for d in h.dates():
                state[d] = (False, h.name, n.year)
        for w in n.workdays:
            state[w.day] = (True, w.name, n.year)
        for e in n.extensions:
            off = [
                d
                for d, (work, name, year) in state.items()
                if year == n.year and not work and same_holiday(name, e.name)
            ]
            if not off:
                raise InvalidInput(
                    f"第{e.line}行延长的{e.name}假期在之前的通知中找不到：请先导入{n.year}年的通知"
                )
            last = max(off)
            if e.last <= last:
                raise InvalidInput(
                    f"第{e.line}行延长后的{e.name}假期（至{fmt(e.last)}）不晚于原来的最后一天"
                    f"（{fmt(last)}）"
                )
            name = state[last][1]
            d = last + timedelta(days=1)
            while d <= e.last:
                state[d] = (False, name, n.year)
                d += timedelta(days=1)
    return {d: (work, name) for d, (work, name, _) in sorted(state.items())}
