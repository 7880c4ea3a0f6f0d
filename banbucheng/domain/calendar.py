"""The center's own calendar entries (from State Council notices) and their effect."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlmodel import select

from banbucheng.core.errors import InvalidInput, NotFound
from banbucheng.core.validate import parse_date
from banbucheng.domain.lifecycle import refresh_provisional
from banbucheng.schema.models import CalendarDay
from banbucheng.store import Ctx, load_calendar

MAX_RANGE_DAYS = 31


def _parse_range(text: str) -> list[date]:
    if ".." in text:
        first, last = (parse_date(p, field="日期区间") for p in text.split("..", 1))
        if last < first or (last - first).days >= MAX_RANGE_DAYS:
            raise InvalidInput(f"日期区间 {text[:40]} 无效：应从早到晚且不超过{MAX_RANGE_DAYS}天")
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


def _recompute(ctx: Ctx) -> int:
    ctx.calendar = load_calendar(ctx.session)
    return refresh_provisional(ctx)


def add_days(ctx: Ctx, days: dict[date, bool], *, name: str, source: str) -> tuple[int, int]:
    for day, workday in days.items():
        row = ctx.session.get(CalendarDay, day) or CalendarDay(
            day=day, workday=workday, source=source, entered_by=ctx.actor, entered_at=ctx.now
        )
        row.workday, row.name, row.source = workday, name, source
        row.entered_by, row.entered_at = ctx.actor, ctx.now
        ctx.session.add(row)
    ctx.session.flush()
    return len(days), _recompute(ctx)


def remove_days(ctx: Ctx, days: list[date]) -> tuple[int, int]:
    rows = [ctx.session.get(CalendarDay, d) for d in days]
    missing = [d.isoformat() for d, r in zip(days, rows, strict=True) if r is None]
    if missing:
        raise NotFound(f"日历中没有录入过：{'、'.join(missing)}")
    for row in rows:
        ctx.session.delete(row)
    ctx.session.flush()
    return len(rows), _recompute(ctx)


def year_info(ctx: Ctx, year: int) -> dict[str, Any]:
    if not 2000 <= year <= 2099:
        raise InvalidInput("年份应在2000到2099之间")
    cal = ctx.calendar
    entered = {
        r.day: r
        for r in ctx.session.exec(
            select(CalendarDay).where(
                CalendarDay.day >= date(year, 1, 1), CalendarDay.day <= date(year, 12, 31)
            )
        ).all()
    }
    days = []
    d = date(year, 1, 1)
    while d.year == year:
        weekend = d.weekday() >= 5
        working = cal.is_workday(d)
        if working == weekend or d in entered:  # a holiday on a weekday, or a make-up day
            row = entered.get(d)
            days.append(
                {
                    "date": d.isoformat(),
                    "workday": working,
                    "name": (row.name if row else cal.holiday_name(d)) or "",
                    "source": row.source
                    if row
                    else ("chinese-calendar" if cal.is_covered(year) else "估算"),
                }
            )
        d += timedelta(days=1)
    if year in cal.package_years:
        coverage = "package"
    elif year in cal.entered_years:
        coverage = "entered"
    else:
        coverage = "none"
    return {
        "year": year,
        "covered": cal.is_covered(year),
        "coverage": coverage,
        "covered_years": sorted(cal.covered_years),
        "days": days,
    }
