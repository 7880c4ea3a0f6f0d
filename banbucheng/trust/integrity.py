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

import json
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from banbucheng.core.errors import InvalidInput
from banbucheng.core.timeutil import to_beijing
from banbucheng.schema import history
from banbucheng.schema.chain import GENESIS, digest, stored_at
from banbucheng.schema.models import Case, CaseChain, ChainHead, Event, Unit
from banbucheng.trust.personal import check_personal

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


@dataclass
class Report:
    events: int = 0
    cases: int = 0
    head_seq: int = 0
    head_hash: str = GENESIS
    anchor_checked: str | None = None
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

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
            "problems": [asdict(p) for p in self.problems],
        }


def _iso(at: datetime | None) -> str | None:
    return to_beijing(at).isoformat(timespec="seconds") if at else None


def _span(first: int, last: int) -> str:
    return (
        f"第 {first} 条" if first == last else f"第 {first}–{last} 条（共 {last - first + 1} 条）"
    )


def verify(
    session: Session, *, anchor: tuple[int, str] | None = None, keyring: Any = None
) -> Report:
    """Walk the chain and the anchors; every problem names the case and the event.
    Values of the wrong type, written behind the tool's back, are problems too, never
    a crash."""
    from sqlalchemy.exc import StatementError

    report = Report()
    try:
        _verify(session, report, anchor)
        for number, text in check_personal(session, keyring):  # trust/personal.py
            report.problems.append(Problem("personal", text, case=number))
    except (ValueError, TypeError, OverflowError, StatementError):
        report.problems.append(
            Problem("unreadable", "数据库中有无法读取的值（类型被直接改动），校验无法完成")
        )
    return report


def _verify(session: Session, report: Report, anchor: tuple[int, str] | None) -> None:
    from sqlalchemy import String, type_coerce

    from banbucheng.core.labels import TRACKED  # what each event records before and after

    numbers: dict[int, str] = dict(session.exec(select(Case.id, Case.number)).all())  # type: ignore[arg-type]
    report.cases = len(numbers)
    counts: dict[int, int] = {}
    last_of_case: dict[int, tuple[int, str]] = {}
    replay: dict[int, dict[str, Any]] = {}
    anchored_hash: str | None = None

    def problem(kind: str, message: str, row: Any = None, case: str | None = None) -> None:
        if row is not None:
            report.problems.append(
                Problem(
                    kind,
                    message,
                    case=case or numbers.get(row.case_id),
                    event=row.id,
                    seq=row.seq,
                    action=row.action,
                    at=_iso(stored_at(row.at)[0]),
                )
            )
        else:
            report.problems.append(Problem(kind, message, case=case))

    columns = (
        Event.id,
        Event.case_id,
        Event.seq,
        Event.prev_hash,
        Event.hash,
        type_coerce(Event.at, String).label("at"),  # as stored: see chain.stored_at
        Event.actor,
        Event.action,
        Event.detail,
    )
    sealed = (
        select(*columns)
        .where(Event.seq != None)  # noqa: E711
        .order_by(Event.seq)  # type: ignore[arg-type]
        .execution_options(yield_per=_BATCH)
    )
    expected, prev_hash, prev_id = 1, GENESIS, 0
    recorded_store = history.empty()  # calendar and settings, as their events leave them
    for row in session.exec(sealed):  # type: ignore[call-overload]
        report.events += 1
        store_event = row.case_id is None  # a calendar or policy change (schema/history.py)
        number = "" if store_event else numbers.get(row.case_id)
        if not isinstance(row.seq, int):
            problem("edited", "链上位置被改为无效的值：事件被修改", row)
            continue
        if row.seq > expected:
            problem("deleted", f"此前缺少链上{_span(expected, row.seq - 1)}事件：被删除", row)
        elif row.seq < expected:  # only if the unique index was dropped
            problem("inserted", f"与前一事件重复使用第 {row.seq} 条的位置：是插入的", row)
        elif row.prev_hash != prev_hash:
            problem("relinked", "与链上前一事件的链接不符：前一事件被替换，或此事件是插入的", row)
        if row.id <= prev_id:
            problem("reordered", "事件编号的顺序与链上顺序不符：编号被改动", row)
        if number is None:
            problem("orphaned", f"所属案件（内部编号 {row.case_id}）不存在：案件记录被删除", row)
        at_text = stored_at(row.at)[1]
        fields = (row.seq, number or "", at_text, row.actor, row.action, row.detail)
        recomputed = digest(*fields, row.prev_hash or "")
        if number is not None and recomputed != row.hash:
            problem("edited", "内容与校验值不符：事件被修改（或案件编号被改）", row)
        if anchor is not None and row.seq == anchor[0]:
            anchored_hash = row.hash or ""
        if store_event:
            _fold_store(recorded_store, row)
        else:
            counts[row.case_id] = counts.get(row.case_id, 0) + 1
            last_of_case[row.case_id] = (row.seq, row.hash or "")
            _fold(replay, row, TRACKED)
        # (a hash overwritten with another type stays printable in the report)
        expected, prev_hash, prev_id = row.seq + 1, _text(row.hash) or "", row.id

    unsealed = select(*columns).where(Event.seq == None).order_by(Event.id)  # type: ignore[arg-type]  # noqa: E711
    for row in session.exec(unsealed):  # type: ignore[call-overload]
        report.events += 1
        problem("inserted", "没有校验值：不是由本工具写入，是直接插入数据库的", row)

    head = session.get(ChainHead, 1)
    head_seq, head_hash = (head.seq, head.hash) if head else (0, GENESIS)
    last_seq = expected - 1
    report.head_seq, report.head_hash = last_seq, prev_hash
    if head_seq > last_seq:
        problem("deleted", f"事件链末尾缺少{_span(last_seq + 1, head_seq)}事件：最后的事件被删除")
    elif head_seq < last_seq:
        problem(
            "inserted", f"链头记录为第 {head_seq} 条，而链上有 {last_seq} 条：末尾有事件是插入的"
        )
    elif head_hash != prev_hash:
        problem("edited", "链头与最后一条事件不符：最后一条事件被替换")

    _check_cases(session, report, numbers, counts, last_of_case)
    _checktracked_state(session, report, numbers, replay, TRACKED)
    _check_store_state(session, report, recorded_store)

    if anchor is not None:
        seq, anchored = anchor
        report.anchor_checked = anchor_text(seq, anchored)
        if anchored_hash is None:
            problem("anchor", f"锚点所指的第 {seq} 条事件不存在：此前的历史被删减")
        elif not anchored_hash.startswith(anchored):
            problem("anchor", f"与锚点不符：第 {seq} 条事件的校验值已不同，此前的历史被改写")


def _text(value: Any) -> str | None:
    """A stored value as text for a report, whatever type was written into it."""
    if value is None or isinstance(value, str):
        return value
    return repr(value)[:40]


def _fold(replay: dict[int, dict[str, Any]], row: Any, tracked: Iterable[str]) -> None:
    try:
        after = json.loads(row.detail).get("after", {})
    except (ValueError, TypeError, AttributeError):
        return  # an edited detail is reported by its hash already
    if not isinstance(after, dict):
        return
    state = replay.setdefault(row.case_id, {})
    for key, value in after.items():
        if key in tracked or key == "unit":
            state[key] = value
    # Closed on a provisional deadline: it keeps following the calendar (recompute.py).
    if row.action == "close":
        state["closed_provisional"] = bool(state.get("provisional", False))
    elif row.action == "reopen":
        state["closed_provisional"] = False


def _fold_store(recorded: history.State, row: Any) -> None:
    try:
        after = json.loads(row.detail).get("after", {})
    except (ValueError, TypeError, AttributeError):
        return  # an edited detail is reported by its hash already
    history.fold(recorded, after)


_STORE_WHAT = {"days": "日历 {key}", "years": "{key} 年的完整确认", "settings": "政策设置 {key}"}


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
        report.problems.append(
            Problem("settings" if section == "settings" else "calendar", message)
        )


def _stored(section: str, value: Any) -> str:
    if section == "days" and isinstance(value, dict):
        workday = value.get("workday")
        kind = ("上班" if workday else "放假") if isinstance(workday, bool) else "无效的值"
        name = f"（{str(value.get('name'))[:20]}）" if value.get("name") else ""
        return f"{kind}{name}，依据 {str(value.get('source'))[:40]}"
    if section == "years" and isinstance(value, dict):
        return f"已确认（依据 {str(value.get('source'))[:40] or '—'}）"
    return _shown(value)


def _check_cases(
    session: Session,
    report: Report,
    numbers: dict[int, str],
    counts: dict[int, int],
    last_of_case: dict[int, tuple[int, str]],
) -> None:
    anchors = {a.case_id: a for a in session.exec(select(CaseChain)).all()}
    for case_id, a in sorted(anchors.items()):
        have = counts.get(case_id, 0)
        if case_id not in numbers:
            report.problems.append(
                Problem("case_deleted", f"案件已被删除（原有 {a.events} 条事件）", case=a.number)
            )
        elif have < a.events:
            report.problems.append(
                Problem(
                    "deleted",
                    f"应有 {a.events} 条事件，现有 {have} 条：{a.events - have} 条被删除",
                    case=a.number,
                )
            )
        elif have > a.events:
            report.problems.append(
                Problem(
                    "inserted",
                    f"应有 {a.events} 条事件，现有 {have} 条：{have - a.events} 条是插入的",
                    case=a.number,
                )
            )
        elif last_of_case.get(case_id) != (a.last_seq, a.last_hash):
            report.problems.append(
                Problem("edited", "最后一条事件与记录不符：被替换", case=a.number)
            )
        elif numbers[case_id] != a.number:
            report.problems.append(
                Problem("edited", f"案件编号被改动（原为 {a.number}）", case=numbers[case_id])
            )
    for case_id, number in sorted(numbers.items()):
        if case_id not in anchors:
            report.problems.append(
                Problem("inserted", "不在事件链中：案件是直接插入数据库的", case=number)
            )


def _initialtracked_state(tracked: Iterable[str]) -> dict[str, Any]:
    """A new case's tracked fields, before its first event (see lifecycle.register)."""
    state: dict[str, Any] = {}
    for name in tracked:
        info = Case.model_fields.get(name)
        default = None if info is None or info.is_required() else info.default
        state[name] = default
    state["status"] = "registered"
    state["unit"] = None
    state["closed_provisional"] = False
    return state


def _checktracked_state(
    session: Session,
    report: Report,
    numbers: dict[int, str],
    replay: dict[int, dict[str, Any]],
    tracked: Iterable[str],
) -> None:
    """The case row must be where its recorded changes lead: a deadline, status or
    closing time edited in the table (not through the tool) shows here."""
    from sqlalchemy.exc import StatementError

    from banbucheng.core.labels import FIELD_LABELS, tracked_state

    tracked = tuple(tracked)
    units: dict[int, str] = dict(session.exec(select(Unit.id, Unit.name)).all())  # type: ignore[arg-type]
    stmt = select(Case).order_by(Case.id).execution_options(yield_per=_BATCH)  # type: ignore[arg-type]
    try:
        cases = list(session.exec(stmt))
    except (ValueError, TypeError, OverflowError, StatementError):
        cases = []  # a value that cannot be read: find the cases one by one
        for case_id, number in sorted(numbers.items()):
            try:
                cases.append(session.exec(select(Case).where(Case.id == case_id)).one())
            except (ValueError, TypeError, OverflowError, StatementError):
                report.problems.append(
                    Problem("state", "案件记录中有无法读取的值：案件记录被直接修改", case=number)
                )
    for case in cases:
        recorded = replay.get(case.id)  # type: ignore[arg-type]
        if recorded is None:
            continue  # no event at all: reported as not in the chain
        expected = _initialtracked_state(tracked) | recorded
        actual = tracked_state(case) | {
            "unit": units.get(case.unit_id) if case.unit_id is not None else None,
            "closed_provisional": case.closed_provisional,
        }
        for key in (*tracked, "unit", "closed_provisional"):
            if expected.get(key) != actual.get(key):
                label = FIELD_LABELS.get(key, key)
                report.problems.append(
                    Problem(
                        "state",
                        f"「{label}」为 {_shown(actual.get(key))}，时间线记录为 "
                        f"{_shown(expected.get(key))}：案件记录被直接修改",
                        case=case.number,
                    )
                )


def _shown(value: Any) -> str:
    if value is None:
        return "空"
    if isinstance(value, bool):
        return "是" if value else "否"
    text = str(value)
    return text[:16].replace("T", " ") if len(text) == 25 and text[10] == "T" else text[:40]
