"""The reports laid out for people: the daily roll-up, the 督办 lists and the period
statistics, each turned from the JSON its builder returned (daily.py, supervision.py,
period.py) into a document.Document of key figures, tables and charts. No SQL here;
the writers (exports.py) and the terminal (render.py) take it from there.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from banbucheng.core.timeutil import BEIJING, human
from banbucheng.reports.daily import TREND_DAYS, category_label
from banbucheng.reports.document import Chart, Column, Document, Rows, Section

UNDISPATCHED = "（未派单）"


# ---------------------------------------------------------------- case lists

_CASE_COLUMNS = {
    "number": Column("number", "编号"),
    "unit": Column("unit", "主办单位"),
    "contact": Column("unit_contact", "联系方式"),
    "category": Column("category_label", "分类"),
    "received": Column("received_date", "受理日期", "date"),
    "due": Column("due_date", "到期日", "due"),
    "left": Column("days_left", "剩余工作日", "int"),
    "late": Column("days_overdue", "超期工作日", "int"),
    "citizen": Column("citizen", "反映人"),
    "matter": Column("matter", "反映事项", width=50),
}


def _cols(*names: str) -> list[Column]:
    return [_CASE_COLUMNS[n] for n in names]


# `bbc list --csv`: a case a row, in the words of the table on the terminal.
LIST_COLUMNS = [
    _CASE_COLUMNS["number"],
    Column("status_label", "状态"),
    _CASE_COLUMNS["category"],
    _CASE_COLUMNS["unit"],
    _CASE_COLUMNS["received"],
    _CASE_COLUMNS["due"],
    _CASE_COLUMNS["left"],
    _CASE_COLUMNS["late"],
    Column("closed_at", "办结时间", "datetime"),
    _CASE_COLUMNS["citizen"],
    _CASE_COLUMNS["matter"],
]


def list_row(row: dict[str, Any]) -> dict[str, Any]:
    """A case of a list (views.case_dicts) with what the list's columns show: a new
    dict (the list's own row is its JSON)."""
    return _with_received_date([dict(row)])[0]


def supervision_columns(kind: str) -> list[Column]:
    """The columns of the overdue (kind `overdue`) or due-soon (`due`) list."""
    last = "late" if kind == "overdue" else "left"
    return _cols(
        "number", "unit", "contact", "category", "received", "due", last, "citizen", "matter"
    )


def _with_received_date(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for r in rows:
        r["received_date"] = (r.get("received_at") or "")[:10] or None
        # With the subtype (应办未办/不作为/吃拿卡要), as `bbc list` shows it; a case's
        # own category_label (views.case_dicts) is the category alone.
        r["category_label"] = category_label(r.get("category"), r.get("subtype"))
    return rows


def _case_rows(rows: list[dict[str, Any]]) -> Rows:
    """A list of cases as shown, made as it is read: not a copy of every case."""
    return Rows(rows, list_row)


def _open_shown(row: dict[str, Any]) -> dict[str, Any]:
    r = list_row(row)
    r["left_text"] = (
        f"超期{r['days_overdue']}个工作日"
        if r["overdue"]
        else ("—" if r["days_left"] is None else f"剩{r['days_left']}个工作日")
    )
    return r


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


# ---------------------------------------------------------------- the daily roll-up


def daily_document(data: dict[str, Any]) -> Document:
    """The roll-up laid out for people: key figures, per unit, the lists, the trend."""
    cat, sub, run = data["by_category"], data["by_subtype"], data["running"]

    def fact(
        label: str, value: Any, text: str | None = None, *, kind: str = "int", note: str = ""
    ) -> dict[str, Any]:
        shown = str(value) if text is None else text
        return {"label": label, "value": value, "text": shown, "kind": kind, "note": note}

    split = f"按期 {data['closed_on_time']}，超期 {data['closed_late']}"
    on_time_note = (
        f"按期 {run['closed_on_time']} ÷ (办结 {run['closed']} + 超期未办结 {run['overdue_open']})"
    )
    facts = [
        fact("截至", data["as_of"], human(data["as_of"]), kind="datetime"),
        fact("今日新登记", data["registered"]),
        fact("　应办未办", cat["unhandled"]),
        fact("　　其中很难办", sub["hard"]),
        fact("　　其中不作为/吃拿卡要", sub["misconduct"]),
        fact("　完全不能", cat["impossible"]),
        fact("　待分类", cat["unclassified"]),
        fact("今日办结", data["closed"], f"{data['closed']}（{split}）", note=split),
        fact("　其中答复不能办理", data["replied"]),
        fact("在办", data["open"]),
        fact("超期", data["overdue"]),
        fact(f"下一工作日（{data['next_workday']}）到期", data["due_next_workday"]),
        fact("期限暂定", data["provisional"]),
        fact("今日上报领导小组", data["escalated"]),
        fact("今日移交纪检组", data["referred"]),
        fact("累计受理", data["total"]),
        fact("累计办结（件次）", run["closed"]),
        fact(
            "累计按期办结率",
            run["on_time_rate"],
            f"{_pct(run['on_time_rate'])}（{on_time_note}）",
            kind="rate",
            note=on_time_note,
        ),
        fact(
            "累计满意率",
            run["satisfaction_rate"],
            f"{_pct(run['satisfaction_rate'])}（回访 {run['visits']} 次）",
            kind="rate",
            note=f"回访 {run['visits']} 次",
        ),
    ]
    unit_rows = [dict(r, unit=r["unit"] or UNDISPATCHED) for r in data["by_unit"]]
    open_rows = Rows(data["open_cases"], _open_shown)
    closed_rows = [
        dict(r, on_time_text="按期" if r["on_time"] else "超期") for r in data["closed_cases"]
    ]
    trend_rows = [dict(r, weekday="是" if r["workday"] else "否") for r in data["trend"]]
    sections = [
        Section("summary", "汇总", [], facts, facts=True),
        Section(
            "units",
            "各单位",
            [
                Column("unit", "单位"),
                Column("contact", "联系方式"),
                Column("open", "在办", "int"),
                Column("overdue", "超期", "int"),
                Column("closed", "今日办结", "int"),
            ],
            unit_rows,
        ),
        Section(
            "overdue",
            "超期案件",
            _cols("number", "unit", "contact", "category", "due", "late", "citizen", "matter"),
            _case_rows(data["overdue_cases"]),
        ),
        Section(
            "due_next",
            f"下一工作日到期（{data['next_workday']}）",
            _cols("number", "unit", "contact", "category", "due", "citizen", "matter"),
            _case_rows(data["due_next_workday_cases"]),
        ),
        Section(
            "open",
            "在办案件",
            [
                *_cols("number", "unit", "category", "received", "due"),
                Column("left_text", "剩余/超期"),
                *_cols("citizen", "matter"),
            ],
            open_rows,
        ),
        Section(
            "new",
            "今日新登记",
            _cols("number", "category", "unit", "due", "citizen", "matter"),
            _case_rows(data["new_cases"]),
        ),
        Section(
            "closed",
            "今日办结",
            [
                Column("number", "编号"),
                Column("unit", "主办单位"),
                Column("closed_at", "办结时间", "datetime"),
                Column("working_days_used", "用时（工作日）", "int"),
                Column("on_time_text", "按期"),
                Column("outcome_label", "结果"),
                Column("citizen", "反映人"),
                Column("matter", "反映事项", width=50),
            ],
            closed_rows,
        ),
        Section(
            "actions",
            "今日上报与移交",
            [
                Column("number", "编号"),
                Column("action_label", "类别"),
                Column("unit", "主办单位"),
                Column("matter", "反映事项", width=50),
            ],
            list(data["actions"]),
        ),
        Section(
            "trend",
            f"近{TREND_DAYS}天趋势",
            [
                Column("date", "日期", "date"),
                Column("weekday", "工作日"),
                Column("registered", "新登记", "int"),
                Column("closed", "办结", "int"),
            ],
            trend_rows,
        ),
    ]
    # The terminal's view (daily_rollup with a limit) lists only the first cases of
    # each list and says how many more there are.
    hidden = data.get("hidden", {})
    lists = {
        "overdue": "overdue_cases",
        "due_next": "due_next_workday_cases",
        "open": "open_cases",
        "new": "new_cases",
        "closed": "closed_cases",
        "actions": "actions",
    }
    for section in sections:
        section.hidden = hidden.get(lists.get(section.key, ""), 0)
    first, last = data["trend"][0]["date"], data["trend"][-1]["date"]
    chart = Chart(
        title=f"近{TREND_DAYS}天新登记与办结（{first} 至 {last}）",
        section="trend",
        x="date",
        series=("registered", "closed"),
        sheet="趋势图",
    )
    return Document(
        kind="daily",
        title=f"{data['center']} 办不成事反映窗口 每日汇总",
        subtitle=f"{data['date']}（截至 {data['as_of'][:16].replace('T', ' ')}）",
        data=data,
        as_of=datetime.fromisoformat(data["as_of"]),
        sections=sections,
        charts=[chart],
    )


# ---------------------------------------------------------------- 督办 lists


def supervision_document(
    rows: list[dict[str, Any]],
    *,
    kind: str,
    now: datetime,
    within: int | None,
    center: str,
    total: int | None = None,
) -> Document:
    """The 督办 list; `total`, when only the first rows are given, is how many there are."""
    data, shown_rows = rows, _case_rows(rows)
    shown = len(rows) if total is None else total
    if kind == "overdue":
        title = f"{center} 超期案件（{shown} 件）"
    else:
        title = f"{center} {within} 个工作日内到期的案件（{shown} 件）"
    columns = supervision_columns(kind)
    stamp = now.astimezone(BEIJING).replace(microsecond=0)
    section = Section(
        kind,
        "超期案件" if kind == "overdue" else "即将到期",
        columns,
        shown_rows,
        group_by="unit",
        group_label="unit_contact",
    )
    return Document(
        kind=kind,
        title=title,
        subtitle=f"截至 {stamp:%Y-%m-%d %H:%M}，按单位分组，最紧急的在前",
        data=data,
        as_of=stamp,
        sections=[section],
    )


# ---------------------------------------------------------------- period statistics

_REPORT_COLUMNS = [
    Column("rank", "名次", "int"),
    Column("unit", "单位"),
    Column("received", "受理", "int"),
    Column("closed", "办结", "int"),
    Column("closed_on_time", "按期办结", "int"),
    Column("overdue_open", "超期未办结", "int"),
    Column("on_time_rate", "按期办结率", "rate"),
    Column("resolved", "已解决", "int"),
    Column("replied", "答复不能办理", "int"),
    Column("resolution_rate", "解决率", "rate"),
    Column("visits", "回访", "int"),
    Column("satisfaction_rate", "满意率", "rate"),
    Column("escalations", "上报", "int"),
    Column("referrals", "移交纪检", "int"),
    Column("extensions", "延期", "int"),
    Column("reopened", "重办", "int"),
    Column("score", "综合得分", "score"),
]


def report_document(data: dict[str, Any], *, center: str, label: str) -> Document:
    w = data["weights"]
    rows = [dict(r, unit=r["unit"] or UNDISPATCHED) for r in data["units"]]
    rows.append(dict(data["total"], unit="合计", rank=None))
    weights_text = (
        f"按期办结率 {w['on_time']:g}、解决率 {w['resolution']:g}、满意率 {w['satisfaction']:g}"
    )
    note = (
        "按期办结率 = 按期办结 ÷ (办结 + 超期未办结)；解决率 = 已解决 ÷ 办结；"
        f"满意率 = (非常满意 + 满意 + {data['basic_satisfaction']:g} × 基本满意) ÷ 回访；"
        f"综合得分 = 100 × 加权平均（权重 {weights_text}，无数据的比率不计入）"
    )
    section = Section("units", "各单位排名", _REPORT_COLUMNS, rows, note=note)
    # The ranked units come first in the table; the chart shows just them.
    ranked = sum(1 for r in data["units"] if r["rank"] is not None)
    chart = Chart(
        title=f"各单位综合得分（{label}）",
        section="units",
        x="unit",
        series=("score",),
        sheet="得分图",
        terminal="bars",
        y_title="综合得分",
        rows=ranked,
    )
    charts = [chart] if ranked else []
    return Document(
        kind="report",
        title=f"{center} 办不成事反映窗口 期间统计",
        subtitle=f"{label}（截至 {data['as_of'][:16].replace('T', ' ')}）",
        data=data,
        as_of=datetime.fromisoformat(data["as_of"]),
        sections=[section],
        charts=charts,
    )
