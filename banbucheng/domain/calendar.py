"""The center's own calendar: entries from the State Council's notices, the years it
declared complete, and their effect on deadlines.

Every change is one act in one transaction: the rows change, a store-level event
records who, when, the source and each day's and year's before and after
(schema/history.py), and every live deadline the change can move is recomputed, one
recompute event each (domain/recompute.py). Which days changed is decided by the
calendars before and after, so a day re-entered as it was moves nothing.

Coverage. A year is covered, its deadlines final rather than provisional, when
chinese-calendar knows it, or when the center declares its notice completely entered:
`calendar import` of a year's notice does, and so do `calendar add --complete` (for
the year of the last day entered) and `calendar cover YEAR`. `calendar uncover YEAR`
takes the declaration back, and so does removing a year's last entry. Entering part
of a notice leaves the year an estimate: its entered days count, the fixed-date
statutory holidays are assumed for the rest, and deadlines reaching it stay
provisional, so entering a notice in parts, in any order, ends where one import ends.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlmodel import col, select

from banbucheng.core.errors import InvalidInput, NotFound, WrongState
from banbucheng.core.labels import ACTION_LABELS
from banbucheng.core.notice import Holiday, MakeupDay, Notice, merge_notices
from banbucheng.core.validate import masked_echo, parse_date
from banbucheng.deadlines import WorkCalendar
from banbucheng.domain import changes as store_events
from banbucheng.domain.recompute import recompute, touching
from banbucheng.domain.views import iso
from banbucheng.schema.history import day_state, year_state
from banbucheng.schema.models import CalendarDay, CalendarYear
from banbucheng.store import Ctx, load_calendar

MAX_RANGE_DAYS = 31
FULL_NOTICE = "部分节假日安排"  # in the title of a year's whole notice, not an amendment


def _parse_range(text: str) -> list[date]:
    if ".." in text:
        first, last = (parse_date(p, field="日期区间") for p in text.split("..", 1))
        if last < first or (last - first).days >= MAX_RANGE_DAYS:
            raise InvalidInput(
                f"日期区间 {masked_echo(text)} 无效：应从早到晚且不超过{MAX_RANGE_DAYS}天"
            )
        return [first + timedelta(days=i) for i in range((last - first).days + 1)]
    return [parse_date(text, field="日期")]


def parse_days(holidays: list[str], workdays: list[str]) -> dict[date, bool]:
    """{day: is_workday} from --holiday / --workday values (dates or A..B ranges)."""
    days: dict[date, bool] = {}
    for text in holidays:
        for d in _parse_range(text):
            days[d] = False
    for text in workdays:
        for d in _parse_range(text):
            if d in days:
                raise InvalidInput(f"{d.isoformat()} 不能既是放假日又是上班日")
            days[d] = True
    if not days:
        raise InvalidInput("请至少给出一个 --holiday 或 --workday")
    return days


def parse_day_list(texts: list[str]) -> list[date]:
    """Dates or A..B ranges, in order, each once."""
    return sorted({d for text in texts for d in _parse_range(text)})


def _check_year(year: int) -> None:
    if not 2000 <= year <= 2099:
        raise InvalidInput("年份应在2000到2099之间")


# ---------------------------------------------------------------- one act


@dataclass
class Outcome:
    """What a calendar change did (or, in a dry run, would do)."""

    action: str
    source: str
    entered: list[date] = field(default_factory=list)  # rows added or changed
    removed: list[date] = field(default_factory=list)
    covered: list[int] = field(default_factory=list)
    uncovered: list[int] = field(default_factory=list)
    changed_days: list[date] = field(default_factory=list)  # whose working status moved
    cases: list[dict[str, Any]] = field(default_factory=list)  # deadlines recomputed
    days: dict[date, tuple[bool, str]] = field(default_factory=dict)  # a notice's days

    @property
    def empty(self) -> bool:
        return not (self.entered or self.removed or self.covered or self.uncovered)

    def as_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "source": self.source,
            "entered": [d.isoformat() for d in self.entered],
            "removed": [d.isoformat() for d in self.removed],
            "covered": self.covered,
            "uncovered": self.uncovered,
            "changed_days": [d.isoformat() for d in self.changed_days],
            "days": [
                {"date": d.isoformat(), "workday": work, "name": name}
                for d, (work, name) in self.days.items()
            ],
            "recomputed": self.cases,
        }


def _apply(
    ctx: Ctx,
    action: str,
    *,
    source: str,
    put: dict[date, tuple[bool, str]] | None = None,
    drop: list[date] | None = None,
    cover: list[int] | None = None,
    uncover: list[int] | None = None,
    text: str,
) -> Outcome:
    """Change the rows, record one store-level event, recompute what moved."""
    session = ctx.session
    out = Outcome(action=action, source=source)
    before: dict[str, dict[str, Any]] = {"days": {}, "years": {}}
    after: dict[str, dict[str, Any]] = {"days": {}, "years": {}}

    for day, (workday, name) in sorted((put or {}).items()):
        row = session.get(CalendarDay, day)
        if row is not None and (row.workday, row.name, row.source) == (workday, name, source):
            continue  # entered as it is: nothing to record
        key = day.isoformat()
        before["days"][key] = day_state(row) if row is not None else None
        row = row or CalendarDay(day=day, workday=workday, source=source, entered_by="")
        row.workday, row.name, row.source = workday, name, source
        row.entered_by, row.entered_at = ctx.actor, ctx.now
        session.add(row)
        after["days"][key] = day_state(row)
        out.entered.append(day)
    for day in sorted(drop or []):
        row = session.get(CalendarDay, day)
        if row is None:
            continue
        before["days"][day.isoformat()] = day_state(row)
        after["days"][day.isoformat()] = None
        session.delete(row)
        out.removed.append(day)
    session.flush()

    # Removing a year's last entry takes back its declaration too.
    years_left = {d.year for d in session.exec(select(CalendarDay.day)).all()}
    dropped_years = {d.year for d in out.removed} - years_left
    for year in sorted(set(uncover or []) | dropped_years):
        row = session.get(CalendarYear, year)
        if row is None:
            continue
        before["years"][str(year)] = year_state(row)
        after["years"][str(year)] = None
        session.delete(row)
        out.uncovered.append(year)
    for year in sorted(set(cover or [])):
        if session.get(CalendarYear, year) is not None:
            continue
        row = CalendarYear(year=year, source=source, covered_by=ctx.actor, covered_at=ctx.now)
        session.add(row)
        before["years"][str(year)] = None
        after["years"][str(year)] = year_state(row)
        out.covered.append(year)
    session.flush()
    if out.empty:
        return out

    store_events.record(ctx, action, before, after, source=source, text=text)
    old, ctx.calendar = ctx.calendar, load_calendar(session)
    out.changed_days = _moved_days(old, ctx.calendar, [*out.entered, *out.removed])
    for year in {*out.covered, *out.uncovered}:  # every deadline reaching it may change
        out.changed_days.extend(_whole_year(year))
    reason = f"日历已更新（{ACTION_LABELS[action]}{'：' + source if source else ''}）"
    out.cases = recompute(ctx, touching(out.changed_days), text=f"{reason}，期限按新日历重新计算")
    out.changed_days = sorted(set(out.changed_days))
    return out


def _whole_year(year: int) -> list[date]:
    first = date(year, 1, 1)
    return [first + timedelta(days=i) for i in range((date(year + 1, 1, 1) - first).days)]


def _moved_days(old: WorkCalendar, new: WorkCalendar, days: list[date]) -> list[date]:
    return [d for d in days if old.is_workday(d) != new.is_workday(d)]


# ---------------------------------------------------------------- the commands' acts


def add_days(
    ctx: Ctx, days: dict[date, bool], *, name: str, source: str, complete: bool = False
) -> Outcome:
    """Enter days from a notice; `complete` also declares the notice's year complete
    (the year of the last day entered: a notice's 元旦 may begin in December)."""
    year = max(days).year
    _check_year(year)
    # A year chinese-calendar knows is covered already: a correction needs no declaration.
    cover = [year] if complete and year not in ctx.calendar.package_years else []
    put = {d: (work, name) for d, work in days.items()}
    return _apply(ctx, "calendar_add", source=source, put=put, cover=cover, text=name)


def remove_days(ctx: Ctx, days: list[date]) -> Outcome:
    rows = [ctx.session.get(CalendarDay, d) for d in days]
    missing = [d.isoformat() for d, r in zip(days, rows, strict=True) if r is None]
    if missing:
        shown = "、".join(missing[:5]) + ("等" if len(missing) > 5 else "")
        raise NotFound(f"日历中没有录入过：{shown}")
    return _apply(ctx, "calendar_remove", source="", drop=days, text="")


def cover_year(ctx: Ctx, year: int, *, source: str) -> Outcome:
    _check_year(year)
    if ctx.session.get(CalendarYear, year) is not None:
        raise WrongState(f"{year} 年的放假安排已确认完整")
    if year in ctx.calendar.package_years:
        raise WrongState(f"{year} 年已由 chinese-calendar 覆盖，无需确认")
    if not _year_rows(ctx, year):
        raise WrongState(
            f"{year} 年还没有录入任何日历条目，不能确认完整；"
            "请先用 bbc calendar import 导入国务院通知"
        )
    return _apply(ctx, "calendar_cover", source=source, cover=[year], text=f"{year}年")


def uncover_year(ctx: Ctx, year: int) -> Outcome:
    _check_year(year)
    if ctx.session.get(CalendarYear, year) is None:
        raise WrongState(f"{year} 年的放假安排没有确认过")
    return _apply(ctx, "calendar_uncover", source="", uncover=[year], text=f"{year}年")


def _year_rows(ctx: Ctx, year: int) -> list[CalendarDay]:
    stmt = (
        select(CalendarDay)
        .where(col(CalendarDay.day) >= date(year, 1, 1), col(CalendarDay.day) <= date(year, 12, 31))
        .order_by(col(CalendarDay.day))
    )
    return list(ctx.session.exec(stmt).all())


# ---------------------------------------------------------------- a notice as one act


def _notice_year(day: date, name: str) -> int:
    """The notice an entry belongs to: a 元旦 day in December is next year's New Year."""
    return day.year + 1 if day.month == 12 and "元旦" in name else day.year


def notice_source(notice: Notice) -> str:
    return notice.number or notice.title


def import_notice(ctx: Ctx, notice: Notice) -> Outcome:
    """Apply a parsed notice (core/notice_parser.py) as one act.

    A year's whole notice (国务院办公厅关于YYYY年部分节假日安排的通知) replaces every
    entry of that year's notice and declares the year complete. Any other notice (an
    adjustment, an extension, an added day off) amends the entries already there the
    way merge_notices does: the holidays it names are restated, an extension runs on
    from the last day of its holiday; the year's coverage is left as it is."""
    year = notice.year
    _check_year(year)
    first, last = date(year - 1, 12, 1), date(year + 1, 1, 31)
    stmt = select(CalendarDay).where(col(CalendarDay.day) >= first, col(CalendarDay.day) <= last)
    mine = [r for r in ctx.session.exec(stmt).all() if _notice_year(r.day, r.name) == year]
    whole = FULL_NOTICE in notice.title
    if whole:
        target = notice.days()
    else:
        earlier = Notice(
            year=year,
            title="",
            number="",
            holidays=[Holiday(r.name, r.day, r.day, 0) for r in mine if not r.workday],
            workdays=[MakeupDay(r.name, r.day, 0) for r in mine if r.workday],
        )
        target = merge_notices([earlier, notice])
    drop = [r.day for r in mine if r.day not in target]
    source = notice_source(notice)
    outcome = _apply(
        ctx,
        "calendar_import",
        source=source,
        put=target,
        drop=drop,
        cover=[year] if whole else [],
        text=notice.title,
    )
    outcome.days = dict(sorted(target.items()))
    return outcome


# ---------------------------------------------------------------- reading


def year_info(ctx: Ctx, year: int) -> dict[str, Any]:
    _check_year(year)
    cal = ctx.calendar
    entered = {r.day: r for r in _year_rows(ctx, year)}
    days = []
    d = date(year, 1, 1)
    while d.year == year:
        weekend = d.weekday() >= 5
        working = cal.is_workday(d)
        if working == weekend or d in entered:  # a holiday on a weekday, or a make-up day
            row = entered.get(d)
            if row is not None:
                source = row.source
            elif year in cal.package_years:
                source = "chinese-calendar"
            else:
                source = "估算（固定日期的法定节日）"
            days.append(
                {
                    "date": d.isoformat(),
                    "workday": working,
                    "name": (row.name if row else cal.holiday_name(d)) or "",
                    "source": source,
                }
            )
        d += timedelta(days=1)
    declared = ctx.session.get(CalendarYear, year)
    if year in cal.package_years:
        coverage = "package"
    elif declared is not None:
        coverage = "entered"
    elif entered:
        coverage = "partial"
    else:
        coverage = "none"
    return {
        "year": year,
        "covered": cal.is_covered(year),
        "coverage": coverage,
        "declared": {
            "source": declared.source,
            "by": declared.covered_by,
            "at": iso(declared.covered_at),
        }
        if declared is not None
        else None,
        "covered_years": sorted(cal.covered_years),
        "days": days,
    }
