"""The words of the record: the labels of statuses, actions, fields and outcomes, and
which fields every event records before and after.

At the bottom of the package (it imports only core.timeutil) because the history,
the hash chain's replay, the views and the reports all read the same vocabulary.
"""

from __future__ import annotations

import functools
from datetime import date, datetime
from operator import attrgetter
from typing import Any

from banbucheng.core.timeutil import BEIJING

STATUS_LABELS = {
    "registered": "待分类",
    "classified": "待派单",
    "dispatched": "办理中",
    "closed": "已办结",
}
OPEN_STATUSES = ("registered", "classified", "dispatched")
CHANNELS = {"window": "窗口", "online": "线上", "phone": "电话", "12345": "12345"}
OUTCOMES = {"resolved": "已解决", "replied": "已答复（不能办理）"}
SATISFACTION = {
    "very_satisfied": "非常满意",
    "satisfied": "满意",
    "basically_satisfied": "基本满意",
    "dissatisfied": "不满意",
    "very_dissatisfied": "非常不满意",
}
ACTION_LABELS = {
    "register": "登记",
    "classify": "分类",
    "dispatch": "派单",
    "note": "反馈",
    "escalate": "上报领导小组",
    "refer": "移交驻局纪检组",
    "extend": "延期",
    "close": "办结",
    "visit": "回访",
    "reopen": "重新办理",
    "recompute": "重算期限",
    "print": "打印文书",
    "import": "导入",
    "reveal": "查看个人信息",
    "mechanism": "关联长效机制",
    # Store-level events (no case): calendar and policy changes (schema/history.py).
    "calendar_add": "录入日历",
    "calendar_import": "导入放假通知",
    "calendar_remove": "删除日历条目",
    "calendar_cover": "确认全年安排",
    "calendar_uncover": "撤销全年确认",
    "config_set": "修改政策设置",
    "store_adopt": "载入已有日历与设置",
    "unit_add": "新增单位",
    "unit_edit": "修改单位",
    # Migration m007: what older releases kept outside the history, sealed as found.
    "case_adopt": "封存已有案件记录",
    "store_seal": "封存已有单位与设置",
    "restore": "自备份恢复",
}

FIELD_LABELS = {
    "status": "状态",
    "category": "分类",
    "subtype": "子类",
    "limit_days": "时限(工作日)",
    "extension_days": "延长(工作日)",
    "due_date": "到期日",
    "due_at": "期限",
    "provisional": "暂定",
    "unit_due_at": "单位期限",
    "escalated_at": "上报时间",
    "referred_at": "移交时间",
    "closed_at": "办结时间",
    "outcome": "结果",
    "working_days_used": "用时(工作日)",
    "on_time": "按期",
    "satisfaction": "满意度",
    "visited_at": "回访时间",
    "reopen_count": "重办次数",
    "unit": "主办单位",
    "helpers": "协办单位",
    "channel": "渠道",
    "department": "受阻部门",
    "citizen": "反映人",
    "phone": "电话",
    "id_number": "身份证号",
    "approver": "批准人",
    "after_deadline": "到期后补办",
    "mechanism": "长效机制",
    "repeat_of": "重复反映（前案）",
    "document": "文书",
    "file": "文件",
    "revealed": "未遮盖的个人信息",
    "closed_provisional": "办结时期限为暂定",
    "matter": "反映事项",
    "received_at": "受理时间",
    "registered_at": "登记时间",
    "registered_by": "登记人",
    "dispatched_at": "派单时间",
    "clock_start": "起算时间",
    "due_fixed": "指定到期日",
    "result": "办理结果",
    "record": "记录（无法确定是哪一项）",
}
DOCUMENTS = {"work_order": "派单单", "notice": "告知书"}  # what `bbc print` hands out
# The personal fields an event may say were shown unmasked (print, reveal).
PERSONAL_FIELDS = {"citizen": "姓名", "phone": "电话", "id_number": "身份证号"}

ROLES = {"source": "由此形成", "served": "按机制办理"}  # a case's tie to a mechanism


def more_note(hidden: int) -> str:
    """Under a list cut short on the terminal: how many cases it leaves out."""
    return f"另有 {hidden} 件未显示，用 --all 查看全部"


# The types snap gives back as they are (what most fields hold, most of the time):
# a caller snapping many values (lifecycle._record) checks this first, saving the call.
PLAIN = frozenset({type(None), str, int, bool, float})


def snap(value: Any) -> Any:
    if value.__class__ in PLAIN:  # most fields, most of the time (bbc import: 10^5 a second)
        return value
    if isinstance(value, date):  # a datetime too
        return _snap_time(value)
    return value


TRACKED = (
    "status",
    "category",
    "subtype",
    "limit_days",
    "extension_days",
    "due_date",
    "due_at",
    "provisional",
    "unit_due_at",
    "escalated_at",
    "referred_at",
    "closed_at",
    "outcome",
    "working_days_used",
    "on_time",
    "satisfaction",
    "visited_at",
    "reopen_count",
)


@functools.lru_cache(maxsize=256)  # a case's times, snapped before and after each step
def _snap_time(value: date) -> str:
    if isinstance(value, datetime):
        return value.astimezone(BEIJING).isoformat(timespec="seconds")
    return value.isoformat()


_TRACKED_VALUES = attrgetter(*TRACKED)


def tracked_state(case: Any) -> dict[str, Any]:
    return {
        f: v if v.__class__ in PLAIN else snap(v)
        for f, v in zip(TRACKED, _TRACKED_VALUES(case), strict=True)
    }
