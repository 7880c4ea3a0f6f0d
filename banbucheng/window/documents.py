"""Paper for units and citizens: the 派单单 (work order) and the 告知书 (notice).

DOCX made from templates with docxtpl, so a center can replace the defaults with its
own letterhead in Word or WPS, keeping the {{ ... }} fields.
"""

from __future__ import annotations

import os
import tempfile
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

from banbucheng.core.errors import InvalidInput, WrongState
from banbucheng.core.timeutil import human

KINDS = {"work_order": "派单单", "notice": "告知书"}


def template_for(kind: str, template_dir: str) -> Path:
    """The center's own template when its folder has one, else the shipped default."""
    if template_dir:
        own = Path(template_dir).expanduser() / f"{kind}.docx"
        if own.is_file():
            return own
    return Path(str(resources.files("banbucheng") / "templates" / f"{kind}.docx"))


def _cn_date(value: date) -> str:
    return f"{value.year}年{value.month}月{value.day}日"


def work_order_context(data: dict[str, Any], *, center: str, operator: str) -> dict[str, Any]:
    """What the unit needs: the matter, the deadline (and whether it is provisional), contact."""
    if not data["unit"]:
        raise WrongState(f"案件 {data['number']} 尚未派单，不能打印派单单（先 bbc dispatch）")
    category = (data["category_label"] or "") + (
        f"／{data['subtype_label']}" if data["subtype_label"] else ""
    )
    note = ""
    if data["provisional"]:
        note = "注：办结期限为暂定（该年度节假日安排尚未公布），公布后以重新计算的期限为准。"
    return {
        "center": center,
        "number": data["number"],
        "dispatched": human(data.get("dispatched_at")) if data.get("dispatched_at") else "",
        "unit": data["unit"],
        "helpers": "、".join(data["helpers"]) or "无",
        "citizen": data["citizen"],
        "phone": data["phone"],
        "received": human(data["received_at"]),
        "department": data["department"] or "—",
        "matter": data["matter"],
        "need": data["matter"],
        "category": category,
        "limit": f"{data['limit_days']}个工作日" if data["limit_days"] else "—",
        "due": human(data["due_at"]) + ("（暂定）" if data["provisional"] else ""),
        "unit_due": human(data["unit_due_at"]) if data["unit_due_at"] else "同办结期限",
        "operator": operator,
        "provisional_note": note,
    }


def notice_context(
    data: dict[str, Any],
    *,
    center: str,
    today: date,
    reasons: str | None,
    basis: str | None,
    alternative: str | None,
) -> dict[str, Any]:
    """A reply to the citizen that the matter cannot be done, with reasons and remedies."""
    if data["category"] != "impossible":
        raise WrongState(f"案件 {data['number']} 不是「完全不能」类，不出具告知书")
    reasons = reasons or data.get("result")
    if not reasons:
        raise InvalidInput("缺少不能办理的理由：请用 --reasons 给出，或先办结并填写办理结果")
    received = date.fromisoformat(data["received_at"][:10])
    return {
        "center": center,
        "number": data["number"],
        "citizen": data["citizen"],
        "received": _cn_date(received),
        "matter": data["matter"],
        "reasons": reasons,
        "basis": basis or "（无）",
        "alternative": alternative or "（无）",
        "date": _cn_date(today),
    }


def render(template: Path, context: dict[str, Any], out: Path) -> None:
    """Fill the template and write it atomically (a temp file renamed into place)."""
    from docxtpl import DocxTemplate

    if not template.is_file():
        raise InvalidInput(f"找不到模板文件 {template}")
    try:
        doc = DocxTemplate(str(template))
        doc.render(context, autoescape=True)
    except Exception as exc:  # a center's own template with a broken field
        raise InvalidInput(
            f"模板 {template.name} 无法填写（{type(exc).__name__}），请检查其中的字段"
        ) from None
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    os.close(fd)
    try:
        doc.save(tmp)
        os.replace(tmp, out)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise InvalidInput(f"无法写入 {out}：{exc.strerror}") from None
