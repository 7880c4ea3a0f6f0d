"""The tamper-evident history: one hash chain over every event in the store.

Each event is sealed when it is written (schema/chain.py, run by the store on every
new event): it gets the next position `seq` in the store's single chain, the previous
event's hash, and a SHA-256 over a canonical serialisation of its content (case
number, time, actor, action, detail) and that previous hash. Writers are serialised
(SQLite BEGIN IMMEDIATE, a PostgreSQL advisory lock, plus a row lock on the chain
head), so the chain is one line, not a tree.

Two small anchors are moved in the same transaction: `chain_head` (the last position
and hash) and `case_chain` (per case: its number, event count and last hash). With
them `verify` notices, and names, an event edited, inserted or deleted anywhere,
including the last events of the store, the last events of a case, and a whole case
deleted with its events. It also replays each case's recorded changes and compares
them with the case row, so a deadline or closing time edited in the table is caught.

Calendar and policy changes are store-level events in the same chain (events without
a case, schema/history.py): their `after` sections are replayed the same way and
compared with the calendar_days, calendar_years and settings tables, so an entry or a
setting edited, added or deleted behind the tool's back is caught too.

Limits (said plainly in the README): the hashes carry no secret, so someone who knows
this scheme and can write to the database can rewrite the history and recompute every
hash and anchor. Only an anchor kept outside the store (`bbc verify` prints one; note
it in the daily report or on paper, and check it with `--anchor`) proves that the
history up to that point is the one that was there then.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session

from banbucheng.core.errors import InvalidInput
from banbucheng.core.timeutil import to_beijing
from banbucheng.schema import history
from banbucheng.schema.chain import GENESIS

ANCHOR_HEX = 16  # hex digits of the hash shown in an anchor: 64 bits, enough to trust
_BATCH = 2000


def anchor_text(seq: int, hash_: str) -> str:
    """What to write down: position and the first 16 hex digits, e.g. 1532:9f2c…"""
    return f"{seq}:{hash_[:ANCHOR_HEX]}"


_ANCHOR = re.compile(r"\s*([0-9]{1,12})\s*[:：]\s*([0-9a-fA-F]{16,64})\s*")


def parse_anchor(text: str) -> tuple[int, str]:
    match = _ANCHOR.fullmatch(text) if len(text) <= 100 else None
    if not match:
        raise InvalidInput(
            "锚点格式不正确，应为 bbc verify 输出的「序号:校验值」，如 1532:9f2c01ab33d4e5f6"
        )
    return int(match.group(1)), match.group(2).lower()


# ---------------------------------------------------------------- verifying


@dataclass
class Problem:
    kind: str  # edited, relinked, deleted, inserted, orphaned, case_deleted, head, state,
    # calendar, settings...
    message: str  # Chinese, names no personal data
    case: str | None = None  # case number, when known
    event: int | None = None  # events.id
    seq: int | None = None
    action: str | None = None
    at: str | None = None

    def __post_init__(self) -> None:
        # Values read from a tampered store may be of any type: keep the report printable.
        self.case, self.action = _text(self.case), _text(self.action)
        self.seq = self.seq if isinstance(self.seq, int) else None
        self.event = self.event if isinstance(self.event, int) else None

    def line(self) -> str:
        from banbucheng.core.labels import ACTION_LABELS

        where = []
        if self.case:
            where.append(f"案件 {self.case}")
        if self.event is not None:
            what = f"事件 #{self.event}"
            if self.action:
                label = ACTION_LABELS.get(self.action, self.action)
                what += f"（{label}，{self.at[:16].replace('T', ' ') if self.at else '—'}）"
            where.append(what)
        return ("，".join(where) + "：" if where else "") + self.message


MAX_PROBLEMS = 1000  # kept in the report; more are counted (constant memory)


class Problems(list):
    """The problems found: the first MAX_PROBLEMS kept, the rest counted."""

    def __init__(self) -> None:
        super().__init__()
        self.more = 0

    def append(self, problem: Problem) -> None:  # type: ignore[override]
        if len(self) < MAX_PROBLEMS:
            super().append(problem)
        else:
            self.more += 1


@dataclass
class Report:
    events: int = 0
    cases: int = 0
    head_seq: int = 0
    head_hash: str = GENESIS
    anchor_checked: str | None = None
    problems: Problems = field(default_factory=Problems)
    checked_from: int = 0  # events after this position were walked (0: all of them)
    walked: int = 0  # events whose hash was recomputed in this run
    sealed: str = "none"  # keyed MACs: none, checked, unchecked (no key here)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def count(self) -> int:
        return len(self.problems) + self.problems.more

    @property
    def anchor(self) -> str:
        return anchor_text(self.head_seq, self.head_hash)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "events": self.events,
            "cases": self.cases,
            "head": {"seq": self.head_seq, "hash": self.head_hash},
            "anchor": self.anchor,
            "anchor_checked": self.anchor_checked,
            "checked_from": self.checked_from,
            "walked": self.walked,
            "sealed": self.sealed,
            "problems": [asdict(p) for p in self.problems],
            "problems_not_listed": self.problems.more,
        }


def _iso(at: datetime | None) -> str | None:
    return to_beijing(at).isoformat(timespec="seconds") if at else None


def _span(first: int, last: int) -> str:
    return (
        f"第 {first} 条" if first == last else f"第 {first}–{last} 条（共 {last - first + 1} 条）"
    )


def _text(value: Any) -> str | None:
    """A stored value as text for a report, whatever type was written into it."""
    if value is None or isinstance(value, str):
        return value
    return repr(value)[:40]


_STORE_WHAT = {
    "days": "日历 {key}",
    "years": "{key} 年的完整确认",
    "settings": "政策设置 {key}",
    "units": "单位「{key}」",
}


def _check_store_state(session: Session, report: Report, recorded: history.State) -> None:
    """The calendar, its covered years and the policy settings must be where their
    store-level events lead: a row edited, added or deleted behind the tool's back
    shows here."""
    for section, key, want, have in history.differences(recorded, history.stored_state(session)):
        what = _STORE_WHAT[section].format(key=key[:20])
        if want is None:
            shown = _stored(section, have)
            message = f"{what}：表中有此项（{shown}），事件链中没有它的记录：是直接写入的"
        elif have is None:
            message = f"{what}：事件链记录为 {_stored(section, want)}，表中已没有：被直接删除"
        else:
            message = (
                f"{what}：表中为 {_stored(section, have)}，事件链记录为 {_stored(section, want)}："
                "被直接修改"
            )
        kind = section if section in ("settings", "units") else "calendar"
        report.problems.append(Problem(kind, message))


def _stored(section: str, value: Any) -> str:
    if section == "days" and isinstance(value, dict):
        workday = value.get("workday")
        kind = ("上班" if workday else "放假") if isinstance(workday, bool) else "无效的值"
        name = f"（{str(value.get('name'))[:20]}）" if value.get("name") else ""
        return f"{kind}{name}，依据 {str(value.get('source'))[:40]}"
    if section == "years" and isinstance(value, dict):
        return f"已确认（依据 {str(value.get('source'))[:40] or '—'}）"
    if section == "units" and isinstance(value, dict):
        contact = str(value.get("contact") or "—")[:40]
        added = _shown(value.get("created_at"))
        return f"编号 {_shown(value.get('id'))}、联系方式 {contact}、加入于 {added}"
    return _shown(value)


def _shown(value: Any) -> str:
    if value is None:
        return "空"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, bytes | bytearray | memoryview):  # written behind the tool's back
        data = bytes(value)
        more = " …" if len(data) > 8 else ""
        return f"二进制数据（{len(data)} 字节：{data[:8].hex(' ')}{more}）"
    text = str(value)
    return text[:16].replace("T", " ") if len(text) == 25 and text[10] == "T" else text[:40]
