"""The center's policy: every rule a center may set differently, in one place.

Defaults live here; a center's own values are stored in the store's `settings`
table (`bbc config set`), so every window on one store follows the same rules.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time

from banbucheng.core.errors import InvalidInput

CATEGORIES = {"unhandled": "应办未办", "impossible": "完全不能"}
SUBTYPES = {"hard": "很难办", "misconduct": "不作为/吃拿卡要"}
# What staff type, mapped to the stable English keys used in storage and JSON.
CATEGORY_ALIASES = {
    "unhandled": "unhandled",
    "应办未办": "unhandled",
    "impossible": "impossible",
    "完全不能": "impossible",
    "完全不能办理": "impossible",
    "完全不能办": "impossible",
}
SUBTYPE_ALIASES = {
    "hard": "hard",
    "很难办": "hard",
    "难办": "hard",
    "misconduct": "misconduct",
    "不作为": "misconduct",
    "吃拿卡要": "misconduct",
    "不作为/吃拿卡要": "misconduct",
    "作风": "misconduct",
}


@dataclass(frozen=True)
class Setting:
    key: str
    default: str
    label: str  # Chinese description shown by `bbc config show`


SETTINGS: tuple[Setting, ...] = (
    Setting("center_name", "政务服务中心", "中心名称（报表与文书抬头）"),
    Setting("number_prefix", "BB", "案件编号前缀（字母或汉字，至多8个字符）"),
    Setting("closing_time", "17:30", "下班时间：期限截止于到期日的这一时刻"),
    Setting("limit.unhandled", "5", "应办未办的办理时限（工作日）"),
    Setting("limit.impossible", "3", "完全不能的答复时限（工作日）"),
    Setting("limit.hard", "5", "很难办（应办未办的子类）的办理时限（工作日）"),
    Setting("limit.misconduct", "5", "不作为/吃拿卡要（应办未办的子类）的办理时限（工作日）"),
    Setting(
        "nonworking_receipt",
        "same",
        "非工作日受理的计算方式：same=自受理次日起算（民法典第二百零一条，默认）；"
        "next=视为下一个工作日受理",
    ),
    # Reports (issue 3): the 督办 horizon and the weights of the period ranking.
    Setting("due_soon_days", "2", "bbc due 默认列出几个工作日内到期的案件"),
    Setting("score.on_time", "0.3", "综合得分中按期办结率的权重（按三项权重之和折算）"),
    Setting("score.resolution", "0.3", "综合得分中解决率的权重"),
    Setting("score.satisfaction", "0.4", "综合得分中满意率的权重"),
    Setting("satisfaction.basic", "0.5", "满意率中“基本满意”计入满意的比例（0 到 1）"),
    # Repeats (issue 5, schema/citizens.py).
    Setting(
        "repeat.window_days",
        "90",
        "重复反映的认定期间（自然日）：同一反映人（电话或身份证号相同）在此期间内"
        "再次反映相似事项，即标为重复反映",
    ),
    Setting("repeat.min_similarity", "25", "认定重复反映时两次事项的最低相似度（百分比，1–100）"),
    # Documents (bbc print): a folder with the center's own work_order.docx / notice.docx.
    Setting("template_dir", "", "文书模板目录（含 work_order.docx、notice.docx；空=内置模板）"),
)
_BY_KEY = {s.key: s for s in SETTINGS}


@dataclass(frozen=True)
class Policy:
    center_name: str
    number_prefix: str
    closing_time: time
    limits: dict[str, int]  # by category and by subtype, in working days
    nonworking_receipt: str
    due_soon_days: int = 2
    # Weights of on-time rate, resolution rate and satisfaction rate in the combined score.
    score_weights: tuple[float, float, float] = (0.3, 0.3, 0.4)
    basic_satisfaction: float = 0.5  # how much a 基本满意 counts in the satisfaction rate
    template_dir: str = ""

    def limit_for(self, category: str, subtype: str | None) -> int:
        """Working days allowed: a subtype's own limit wins over its category's."""
        if subtype and subtype in self.limits:
            return self.limits[subtype]
        return self.limits[category]


def setting_keys() -> list[str]:
    return [s.key for s in SETTINGS]


def validate_setting(key: str, value: str) -> str:
    """Check one setting's value and return its normalised text form."""
    if key not in _BY_KEY:
        known = "、".join(setting_keys())
        raise InvalidInput(f"未知的设置项：{key}（可用：{known}）")
    value = value.strip()
    if key == "center_name":
        if not value or len(value) > 60:
            raise InvalidInput("中心名称不能为空，且不超过60个字符")
    elif key == "number_prefix":
        if not re.fullmatch(r"[A-Za-z\u4e00-\u9fff]{1,8}", value):
            raise InvalidInput("编号前缀应为1到8个字母或汉字（不含数字，以免与日期混淆）")
        value = value.upper()
    elif key == "closing_time":
        from banbucheng.core.validate import parse_clock

        value = parse_clock(value, field="下班时间").strftime("%H:%M")
    elif key.startswith("limit."):
        if not value.isdigit() or not 1 <= int(value) <= 60:
            raise InvalidInput("办理时限应为1到60之间的整数（工作日）")
        value = str(int(value))
    elif key == "nonworking_receipt" and value not in ("same", "next"):
        raise InvalidInput("nonworking_receipt 只能是 same 或 next")
    elif key == "due_soon_days":
        if not value.isdigit() or not 1 <= int(value) <= 30:
            raise InvalidInput("到期提醒天数应为1到30之间的整数（工作日）")
        value = str(int(value))
    elif key.startswith(("score.", "satisfaction.")):
        value = _fraction(key, value)
    elif key in ("repeat.window_days", "repeat.min_similarity"):
        top = 3650 if key == "repeat.window_days" else 100
        if not value.isdigit() or not 1 <= int(value) <= top:
            raise InvalidInput(f"{key} 应为1到{top}之间的整数")
        value = str(int(value))
    elif key == "template_dir" and value:
        from pathlib import Path

        from banbucheng.core.files import path_problem

        problem = path_problem(value)
        if problem:
            raise InvalidInput(f"模板目录：{problem}")
        if not Path(value).expanduser().is_dir():
            raise InvalidInput("模板目录不存在，请给出包含 work_order.docx 或 notice.docx 的文件夹")
    return value


def _fraction(key: str, value: str) -> str:
    """A weight (score.*: 0 to 100, used in proportion) or a share (satisfaction.*: 0 to 1)."""
    top = 1 if key.startswith("satisfaction.") else 100
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not re.fullmatch(r"[0-9]+(\.[0-9]{1,4})?", value) or not 0 <= number <= top:
        raise InvalidInput(f"{key} 应为0到{top}之间的数，至多4位小数，如 0.5")
    return f"{number:g}"


def build_policy(stored: dict[str, str]) -> Policy:
    """The defaults overlaid by the values a center stored (already validated on set)."""
    values = {s.key: s.default for s in SETTINGS} | stored
    hour, minute = values["closing_time"].split(":")
    return Policy(
        center_name=values["center_name"],
        number_prefix=values["number_prefix"],
        closing_time=time(int(hour), int(minute)),
        limits={
            k.removeprefix("limit."): int(v) for k, v in values.items() if k.startswith("limit.")
        },
        nonworking_receipt=values["nonworking_receipt"],
        due_soon_days=int(values["due_soon_days"]),
        score_weights=(
            float(values["score.on_time"]),
            float(values["score.resolution"]),
            float(values["score.satisfaction"]),
        ),
        basic_satisfaction=float(values["satisfaction.basic"]),
        template_dir=values["template_dir"],
    )


def default_value(key: str) -> str:
    return _BY_KEY[key].default


def normalize_category(text: str) -> str:
    key = CATEGORY_ALIASES.get(text.strip().lower()) or CATEGORY_ALIASES.get(text.strip())
    if key is None:
        raise InvalidInput("未知的分类，应为 unhandled（应办未办）或 impossible（完全不能）")
    return key


def normalize_subtype(text: str) -> str:
    key = SUBTYPE_ALIASES.get(text.strip().lower()) or SUBTYPE_ALIASES.get(text.strip())
    if key is None:
        raise InvalidInput("未知的子类，应为 hard（很难办）或 misconduct（不作为/吃拿卡要）")
    return key
