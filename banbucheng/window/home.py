"""The home screen: what the window has to do today, at a glance (`bbc` with no command)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from sqlmodel import Session, col, func, select

from banbucheng.core.labels import OPEN_STATUSES
from banbucheng.core.timeutil import BEIJING, human
from banbucheng.deadlines import WorkCalendar
from banbucheng.schema.models import Case

LIST_LIMIT = 8  # rows shown per list; the count always covers them all


def summary(session: Session, now: datetime, calendar: WorkCalendar) -> dict[str, Any]:
    from banbucheng.domain.views import case_dicts

    today = now.astimezone(BEIJING).date()
    next_day = calendar.next_workday(today)
    start = datetime.combine(today, time(0), BEIJING)
    is_open = col(Case.status).in_(OPEN_STATUSES)

    def cases(*where: Any, order: Any) -> tuple[int, list[dict[str, Any]]]:
        total = session.exec(select(func.count()).select_from(Case).where(*where)).one()
        rows = session.exec(select(Case).where(*where).order_by(order).limit(LIST_LIMIT)).all()
        return total, case_dicts(session, rows, now=now, calendar=calendar)

    overdue = cases(is_open, col(Case.due_at) < now, order=col(Case.due_at))
    due_today = cases(
        is_open, Case.due_date == today, col(Case.due_at) >= now, order=col(Case.due_at)
    )
    due_next = cases(is_open, Case.due_date == next_day, order=col(Case.due_at))
    to_classify = cases(Case.status == "registered", order=col(Case.received_at))
    to_dispatch = cases(
        Case.status == "classified", Case.category == "unhandled", order=col(Case.due_at)
    )
    to_visit = cases(
        Case.status == "closed", col(Case.satisfaction).is_(None), order=col(Case.closed_at)
    )
    registered_today = session.exec(
        select(func.count())
        .select_from(Case)
        .where(Case.received_at >= start, Case.received_at < start + timedelta(days=1))
    ).one()
    warning = None
    if today.month >= 11 and not calendar.is_covered(today.year + 1):
        warning = (
            f"{today.year + 1} 年节假日安排尚未载入日历，跨年的期限将标为暂定；"
            "国务院通知发布后请升级 chinese-calendar 或用 bbc calendar import 导入"
        )
    return {
        "date": today.isoformat(),
        "now": now.astimezone(BEIJING).isoformat(timespec="seconds"),
        "next_workday": next_day.isoformat(),
        "registered_today": registered_today,
        "overdue": _part(overdue),
        "due_today": _part(due_today),
        "due_next_workday": _part(due_next),
        "to_classify": _part(to_classify),
        "to_dispatch": _part(to_dispatch),
        "to_visit": _part(to_visit),
        "calendar_warning": warning,
        "next_actions": _actions(overdue, due_today, to_classify, to_dispatch, to_visit),
    }


def _part(found: tuple[int, list[dict[str, Any]]]) -> dict[str, Any]:
    return {"count": found[0], "cases": found[1]}


def _actions(*lists: tuple[int, list[dict[str, Any]]]) -> list[str]:
    overdue, due_today, to_classify, to_dispatch, to_visit = lists
    actions = []
    if overdue[0]:
        actions.append(f"催办 {overdue[0]} 件超期案件：bbc overdue")
    if due_today[0]:
        actions.append(f"跟进今日到期的 {due_today[0]} 件：bbc show {due_today[1][0]['number']}")
    if to_classify[0]:
        actions.append(f"分类 {to_classify[0]} 件：bbc classify {to_classify[1][0]['number']}")
    if to_dispatch[0]:
        actions.append(f"派单 {to_dispatch[0]} 件：bbc dispatch {to_dispatch[1][0]['number']}")
    if to_visit[0]:
        actions.append(f"回访 {to_visit[0]} 件：bbc visit {to_visit[1][0]['number']}")
    return actions


_SECTIONS = [
    ("overdue", "超期", "red"),
    ("due_today", "今日到期", "yellow"),
    ("due_next_workday", "下一工作日（{next}）到期", None),
    ("to_classify", "待分类", None),
    ("to_dispatch", "待派单", None),
    ("to_visit", "待回访", None),
]


def show(data: dict[str, Any], center: str, *, source: str | None = None) -> None:
    """The home screen: one heading and a few lines per list, sized to the terminal
    (all of it fits 80×24; a taller or wider one shows more)."""
    from banbucheng.core.text import wrap
    from banbucheng.reports.render import (
        Col,
        clean,
        columns,
        fit,
        lines_of,
        rows_available,
        say,
        source_line,
        terminal,
    )

    room, height = columns() - 1, rows_available()
    say(
        f"{clean(center)} 办不成事反映窗口　{data['date']}　今日登记 {data['registered_today']} 件",
        "bold",
    )
    source_line(source)
    warning = data["calendar_warning"]
    if warning:
        for line in wrap(f"日历提醒：{warning}", room) if terminal() else [f"日历提醒：{warning}"]:
            say(line, "yellow")
    shown = [(key, title, style) for key, title, style in _SECTIONS if data[key]["count"]]
    if not shown:
        say("今天没有超期、到期、待分类、待派单或待回访的案件。")
    # Lines left for cases, once every heading, the next steps and the prompt are in.
    fixed = 2 + (1 if source else 0) + (2 if warning else 0) + len(shown)
    fixed += (len(data["next_actions"]) + 1) if data["next_actions"] else 0
    budget = max(len(shown), height - fixed - 1)
    cols = [
        Col("编号", "atom", 0),
        Col("主办单位", "text", 2, 8),
        Col("期限", "atom", 1),
        Col("事项", "text", 0, 16),
    ]
    cells = {key: [_cells(row) for row in data[key]["cases"]] for key, _, _ in shown}
    # One set of column widths for every list, so that they line up.
    chosen = fit(cols, [c for rows in cells.values() for c in rows], room - 2)
    for n, (key, title, style) in enumerate(shown):
        count = data[key]["count"]
        rows = cells[key][: max(1, budget // (len(shown) - n))]
        more = count - len(rows)
        budget -= len(rows) + (1 if more > 0 else 0)
        say(
            f"{title.format(next=data['next_workday'])}：{count} 件",
            f"bold {style}" if style else "bold",
        )
        lines, _ = lines_of(cols, rows, room - 2, header=False, chosen=chosen, indent="  ")
        for line in lines:
            say(line)
        if more > 0:
            say(f"  ……另有 {more} 件")
    if data["next_actions"]:
        say("下一步：", "bold")
        for action in data["next_actions"]:
            say(f"  · {clean(action)}")


def _cells(row: dict[str, Any]) -> list[str]:
    due = (
        human(row["due_at"]) + ("（暂定）" if row["provisional"] else "") if row["due_at"] else "—"
    )
    return [row["number"], row["unit"] or "—", due, row["matter"]]
