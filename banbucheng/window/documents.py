"""Paper for units and citizens: the 派单单 (work order) and the 告知书 (notice).

DOCX made from templates with docxtpl, so a center can replace the defaults with its
own letterhead in Word or WPS, keeping the {{ ... }} fields. The defaults follow
GB/T 9704-2012 (scripts/make_templates.py says how).

What goes on the paper is decided here: the work order names the clerk who
dispatched the case (or reopened it, for a new round) and is dated that day; the
notice is dated the day of the reply and is not printed until it can say on what
basis the matter cannot be done and what the citizen can do instead. The document's
properties name the center and that day, never the program or the print time.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from datetime import UTC, date, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from banbucheng.core import files
from banbucheng.core.errors import InvalidInput, WrongState
from banbucheng.core.timeutil import human, to_beijing

KINDS = {"work_order": "派单单", "notice": "告知书"}


def template_for(kind: str, template_dir: str) -> Path:
    """The center's own template when its folder has one, else the shipped default."""
    if template_dir:
        own = Path(template_dir).expanduser() / f"{kind}.docx"
        if own.is_file():
            return own
    return Path(str(resources.files("banbucheng") / "templates" / f"{kind}.docx"))


def cn_date(value: date) -> str:
    """A date as GB/T 9704-2012 7.3.5.3 writes it: 2026年11月4日 (Arabic numerals,
    the year in full, no leading zeros)."""
    return f"{value.year}年{value.month}月{value.day}日"


@dataclass(frozen=True)
class Round:
    """Who sent the case to its unit for the current round, and when: the last
    dispatch, or the reopening that started a new round after it."""

    at: datetime
    clerk: str
    reopened: int = 0  # how many times the case has been reopened


def current_round(session: Any, case: Any) -> Round:
    """The round the work order is for: the case's last dispatch, or its last
    reopening when that came after (the unit works on it again from that day)."""
    from sqlmodel import col, select

    from banbucheng.schema.models import Event

    last = session.exec(
        select(Event)
        .where(Event.case_id == case.id, col(Event.action).in_(("dispatch", "reopen")))
        .order_by(col(Event.seq).desc(), col(Event.id).desc())
    ).first()
    if last is None:  # an imported case, dispatched before it was imported
        at = case.dispatched_at or case.registered_at
        return Round(at, case.registered_by, case.reopen_count)
    reopened = case.reopen_count if last.action == "reopen" else 0
    return Round(last.at, last.actor, reopened)


def reply_of(session: Any, case: Any, *, now: datetime, clerk: str) -> tuple[date, str]:
    """The day of the reply and who gave it: the closing (答复) of a closed case, else
    today and the clerk printing it."""
    from sqlmodel import col, select

    from banbucheng.schema.models import Event

    if case.status == "closed" and case.closed_at is not None:
        closing = session.exec(
            select(Event)
            .where(Event.case_id == case.id, Event.action == "close")
            .order_by(col(Event.seq).desc(), col(Event.id).desc())
        ).first()
        return to_beijing(case.closed_at).date(), closing.actor if closing else clerk
    return to_beijing(now).date(), clerk


def sentence(text: str) -> str:
    """Text as a sentence in the notice: lines joined, ending in 。 (or ！？)."""
    parts = [line.strip() for line in text.splitlines() if line.strip()]
    out = ""
    for part in parts:
        part = part.rstrip("，,、；;：:")
        out += part if part.endswith(("。", "！", "？", "…", ".", "!", "?")) else part + "。"
    return out


def work_order_context(data: dict[str, Any], *, center: str, issued: Round) -> dict[str, Any]:
    """What the unit needs: the matter, the deadline (and whether it is provisional),
    contact, and who sent it when."""
    if not data["unit"]:
        raise WrongState(f"案件 {data['number']} 尚未派单，不能打印派单单（先 bbc dispatch）")
    category = (data["category_label"] or "") + (
        f"／{data['subtype_label']}" if data["subtype_label"] else ""
    )
    note = ""
    if data["provisional"]:
        note = "注：办结期限为暂定（该年度节假日安排尚未公布），公布后以重新计算的期限为准。"
    day = to_beijing(issued.at)
    round_note = ""
    if issued.reopened:
        round_note = (
            f"群众对办理结果不满意，本案于{cn_date(day.date())}重新办理"
            f"（第{issued.reopened}次），办结期限自当日重新计算。"
        )
    return {
        "center": center,
        "number": data["number"],
        "dispatched": f"{day:%Y-%m-%d %H:%M}",
        "date": cn_date(day.date()),
        "unit": data["unit"],
        "helpers": "、".join(data["helpers"]) or "无",
        "citizen": data["citizen"],
        "phone": data["phone"],
        "received": human(data["received_at"]),
        "department": data["department"] or "—",
        "matter": data["matter"],
        "need": data["matter"],  # kept for centers' own templates written before 0.2
        "category": category or "—",
        "limit": f"{data['limit_days']}个工作日" if data["limit_days"] else "—",
        "due": human(data["due_at"]) + ("（暂定）" if data["provisional"] else ""),
        "unit_due": human(data["unit_due_at"]) if data["unit_due_at"] else "同办结期限",
        "operator": issued.clerk,
        "provisional_note": note,
        "round_note": round_note,
    }


def notice_context(
    data: dict[str, Any],
    *,
    center: str,
    replied: date,
    clerk: str,
    reasons: str | None,
    basis: str | None,
    alternative: str | None,
) -> dict[str, Any]:
    """A reply to the citizen that the matter cannot be done: the reasons, the basis,
    what they can do instead, dated the day of the reply. Refused while any of the
    three is unknown: a notice never tells a citizen there is no basis."""
    if data["category"] != "impossible":
        raise WrongState(f"案件 {data['number']} 不是「完全不能」类，不出具告知书")
    reasons = reasons or data.get("result")
    if not reasons:
        raise InvalidInput("缺少不能办理的理由：请用 --reasons 给出，或先办结并填写办理结果")
    missing = [
        what
        for what, value in (("依据（--basis）", basis), ("其他途径（--alternative）", alternative))
        if not (value or "").strip()
    ]
    if missing:
        raise InvalidInput(
            f"告知书缺少{'和'.join(missing)}：请在命令中给出，或在该类事项的答复口径中填写"
            "（bbc reply-template edit 口径 --basis … --alternative …）"
        )
    received = date.fromisoformat(data["received_at"][:10])
    return {
        "center": center,
        "number": data["number"],
        "citizen": data["citizen"],
        "received": cn_date(received),
        "matter": data["matter"],
        "reasons": sentence(reasons),
        "basis": sentence(basis or ""),
        "alternative": sentence(alternative or ""),
        "date": cn_date(replied),
        "operator": clerk,
    }


def render(template: Path, context: dict[str, Any], *, title: str, dated: datetime) -> bytes:
    """Fill the template and name the center (not the program) in its properties: the
    document's bytes, in memory. Nothing is written here: the print command records
    the print (and what it reveals) first, then writes the file (`write`)."""
    from docxtpl import DocxTemplate

    if not template.is_file():
        raise InvalidInput(f"找不到模板文件 {template}")
    try:
        doc = DocxTemplate(str(template))
        doc.render(context, autoescape=True)
        _properties(doc.docx, center=context["center"], title=title, dated=dated)
        buffer = io.BytesIO()
        doc.save(buffer)
    except Exception as exc:  # a center's own template with a broken field
        raise InvalidInput(
            f"模板 {template.name} 无法填写（{type(exc).__name__}），请检查其中的字段"
        ) from None
    return _with_company(buffer.getvalue(), context["center"])


def write(out: Path, data: bytes) -> None:
    """The document written atomically, 0600 or BBC_FILE_MODE (core/files.py)."""
    files.write_atomic(out, data)


def _properties(docx: Any, *, center: str, title: str, dated: datetime) -> None:
    props = docx.core_properties
    stamp = dated.astimezone(UTC).replace(tzinfo=None, microsecond=0)
    props.author = props.last_modified_by = center
    props.title = title
    props.subject = props.keywords = props.comments = props.category = ""
    props.created = props.modified = stamp
    props.revision = 1


_APP_PROGRAM = re.compile(rb"<Application>[^<]*</Application>")
_APP_COMPANY = re.compile(rb"<Company>[^<]*</Company>|<Company/>")


def _with_company(docx: bytes, center: str) -> bytes:
    """docProps/app.xml names the center as the company and no writing program."""
    from xml.sax.saxutils import escape

    source = zipfile.ZipFile(io.BytesIO(docx))
    company = f"<Company>{escape(center)}</Company>".encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info)
            if info.filename == "docProps/app.xml":
                content = _APP_PROGRAM.sub(b"", content)
                content = _APP_COMPANY.sub(lambda _: company, content)
            target.writestr(info, content)
    return out.getvalue()
