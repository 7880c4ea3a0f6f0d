"""One case in full on a terminal (`bbc show`): its fields, then its timeline.

Long texts are wrapped, never cut; laid out with render.py's lines and tables.
"""

from __future__ import annotations

from typing import Any

from banbucheng.core.labels import OUTCOMES, SATISFACTION
from banbucheng.core.text import width, wrap
from banbucheng.core.timeutil import human
from banbucheng.domain.views import change_parts
from banbucheng.reports.render import (
    Col,
    clean,
    columns,
    left_text,
    paragraph,
    say,
    source_line,
    table,
)


def case_detail(data: dict[str, Any], *, source: str | None = None) -> None:
    """One case in full: its fields, then its timeline (long texts wrapped, never cut)."""
    say(f"{data['number']}  {data['status_label']}", "bold")
    fields = [
        (
            "反映人",
            f"{data['citizen']}  电话 {data['phone']}"
            + (f"  身份证 {data['id_number']}" if data["id_number"] else ""),
        ),
        ("事项", data["matter"]),
        ("受阻部门", data["department"] or "—"),
        ("渠道", data["channel_label"]),
        ("受理", f"{human(data['received_at'])}（{data['registered_by']} 登记）"),
        (
            "分类",
            (data["category_label"] or "待分类")
            + (f" / {data['subtype_label']}" if data["subtype_label"] else ""),
        ),
        ("主办单位", data["unit"] or "—"),
        ("协办单位", "、".join(data["helpers"]) or "—"),
        (
            "期限",
            f"{human(data['due_at'])}"
            + ("（暂定）" if data["provisional"] else "")
            + (f"  {left_text(data)}" if data["due_at"] else ""),
        ),
    ]
    if data["unit_due_at"]:
        fields.append(("单位期限", human(data["unit_due_at"])))
    if data["escalated_at"]:
        fields.append(("上报领导小组", human(data["escalated_at"])))
    if data["referred_at"]:
        fields.append(("移交纪检组", human(data["referred_at"])))
    if data["closed_at"]:
        fields += [
            (
                "办结",
                f"{human(data['closed_at'])}  {OUTCOMES.get(data['outcome'], '')}  "
                f"用时{data['working_days_used']}个工作日  {'按期' if data['on_time'] else '超期'}",
            ),
            ("结果", data["result"] or ""),
        ]
    if data.get("repeat_of"):
        fields.append(("重复反映", f"与 {data['repeat_of']} 为同一反映人的相似事项"))
    if data["mechanism"]:
        mechanism = data["mechanism"]
        if data.get("mechanism_id"):
            mechanism = f"#{data['mechanism_id']} {mechanism}"
        fields.append(("长效机制", mechanism))
    if data["satisfaction"]:
        fields.append(
            ("回访", f"{human(data['visited_at'])}  {SATISFACTION[data['satisfaction']]}")
        )
    label_width = max(width(k) for k, _ in fields)
    for k, v in fields:
        paragraph(k, v, label_width)
    say()
    timeline(data.get("events", []))
    source_line(source)


def timeline(events: list[dict[str, Any]]) -> None:
    """The case's events: a table where it has room (and on a pipe, one event a line,
    for grep); on a narrower terminal each event as a heading line (time, step,
    clerk) over its text and its changes, one change a line, so that no value is
    broken between two columns' worth of room."""
    if columns() >= TABLE_WIDTH:
        rows = [
            [human(e["at"]), e["actor"], e["action_label"], e["text"], e["changes"]] for e in events
        ]
        table(_TIMELINE, rows, title="时间线", wrapped=True)
        return
    say("时间线", "bold")
    room = columns() - 1
    for e in events:
        for line in wrap(clean(f"{human(e['at'])}  {e['action_label']}  {e['actor']}"), room):
            say(line, "bold")
        for text in [e["text"], *change_parts(e)]:
            lines = wrap(clean(text), room - INDENT - HANG) if text else []
            for i, line in enumerate(lines):  # a long one's further lines hang below it
                say(" " * (INDENT if i == 0 else INDENT + HANG) + line)


# Below this the timeline's five columns leave its texts a few characters each.
TABLE_WIDTH = 120
INDENT, HANG = 2, 2
_TIMELINE = [
    Col("时间", "atom", 0),
    Col("经办人", "text", 4, 6),
    Col("操作", "atom", 1),
    Col("内容", "text", 2, 12),
    Col("变更", "text", 3, 16),
]
