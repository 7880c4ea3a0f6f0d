"""Thirty cases over five weeks around the 2026 Mid-Autumn and National Day holidays,
made through the lifecycle with the clock set to each step's time, for the report tests.

The 2026 calendar (chinese-calendar): 中秋 09-25..09-27 and 国庆 10-01..10-07 are
holidays; Sunday 09-20 and Saturday 10-10 are make-up working days. The working days
from 09-14 are:

    09-14 15 16 17 18 20(Sun) 21 22 23 24 | 28 29 30 | 10-08 09 10(Sat) 12 13 14 15 16 19

A case received on day D with a limit of N working days is due at 17:30 on the N-th
working day after D (应办未办 5, 完全不能 3). Each case's deadline is worked out in the
comment beside it; the tests' expected figures are counted by hand from this table.

Units: A 人社局, B 市场监管局, C 不动产登记中心, P 省农保中心 (outside the center);
"window" means never dispatched (完全不能 answered by the window itself).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from banbucheng.core.validate import parse_datetime
from banbucheng.domain import lifecycle, units
from banbucheng.services import cases as case_service
from banbucheng.store import Ctx, Store

A, B, C, P = "人社局", "市场监管局", "不动产登记中心", "省农保中心"
CONTACTS = {
    A: "张科长 0571-87000001",
    B: "李科长 0571-87000002",
    C: "王主任 0571-87000003",
}
PHONE = "13912345678"
EXTEND = {"reason": "待回函", "approver": "王主任"}


def _reg(key: int, name: str, category: str | None, subtype: str | None = None, **kw: Any):
    return ("register", key, {"name": name, "category": category, "subtype": subtype, **kw})


# (time, action, case key, arguments), in time order.
STEPS: list[tuple[str, str, int, dict[str, Any]]] = [
    # --- week 1
    ("2026-09-14 09:00", *_reg(1, "赵一", "unhandled")),  # due 09-20 (Sun, make-up day)
    ("2026-09-14 09:30", "dispatch", 1, {"unit": A}),
    ("2026-09-14 10:00", *_reg(2, "钱二", "impossible")),  # due 09-17
    ("2026-09-15 09:00", *_reg(3, "孙三", "unhandled", "hard")),  # due 09-21
    ("2026-09-15 09:30", "dispatch", 3, {"unit": B}),
    ("2026-09-15 11:00", "close", 2, {"result": "已书面答复"}),  # on time, replied
    ("2026-09-15 14:00", *_reg(4, "李四", "unhandled", "misconduct")),  # due 09-21
    ("2026-09-15 14:30", "dispatch", 4, {"unit": C}),
    ("2026-09-15 15:00", "refer", 4, {"reason": "窗口人员索要好处费"}),
    ("2026-09-16 09:00", "escalate", 3, {"reason": "涉及多个部门"}),
    ("2026-09-16 09:30", *_reg(5, "周五", "unhandled")),  # due 09-22, extended to 09-28
    ("2026-09-16 10:00", "dispatch", 5, {"unit": A}),
    ("2026-09-16 11:00", "visit", 2, {"satisfaction": "satisfied"}),
    ("2026-09-17 09:00", *_reg(6, "吴六", "unhandled")),  # due 09-23, never closed
    ("2026-09-17 09:30", "dispatch", 6, {"unit": B}),
    ("2026-09-18 10:00", "close", 4, {"result": "已办结"}),  # on time (due 09-21)
    ("2026-09-18 16:00", *_reg(7, "郑七", "impossible")),  # due 09-22
    # Saturday: due on the 5th working day after it, 09-24.
    ("2026-09-19 10:00", *_reg(8, "王八", "unhandled", channel="online")),
    # Sunday make-up working day: due 09-28 (09-25..27 are 中秋).
    ("2026-09-20 09:30", *_reg(9, "冯九", "unhandled")),
    ("2026-09-20 10:00", "close", 1, {"result": "已补办"}),  # on time (due 09-20 17:30)
    ("2026-09-20 10:30", "dispatch", 8, {"unit": A}),
    ("2026-09-20 11:00", "dispatch", 9, {"unit": C}),
    # --- week 2
    ("2026-09-21 09:00", *_reg(10, "陈十", "unhandled")),  # due 09-28
    ("2026-09-21 09:30", "dispatch", 10, {"unit": A}),
    ("2026-09-21 10:00", *_reg(11, "褚十一", None)),  # classified the next day
    ("2026-09-21 10:00", "visit", 1, {"satisfaction": "very_satisfied"}),
    ("2026-09-21 10:30", "visit", 4, {"satisfaction": "dissatisfied"}),
    ("2026-09-21 11:00", "reopen", 4, {"reason": "群众不满意"}),  # new due 09-29
    ("2026-09-22 09:00", "classify", 11, {"category": "impossible"}),  # due 09-24
    ("2026-09-22 09:00", "close", 7, {"result": "已答复"}),  # on time
    ("2026-09-22 09:30", "extend", 5, {"days": 3, **EXTEND}),  # 09-22 → 09-28
    ("2026-09-22 09:40", *_reg(12, "卫十二", "unhandled")),  # due 09-30, extended to 10-13
    ("2026-09-22 10:00", "dispatch", 12, {"unit": P}),
    ("2026-09-22 10:10", "escalate", 12, {"reason": "需省级单位协调"}),
    ("2026-09-23 09:00", *_reg(13, "蒋十三", "unhandled")),  # due 10-08, never closed
    ("2026-09-23 09:30", "dispatch", 13, {"unit": B}),
    ("2026-09-23 10:00", "close", 10, {"result": "已办结"}),  # on time
    ("2026-09-24 09:00", *_reg(14, "沈十四", "impossible")),  # due 09-30, never closed
    ("2026-09-24 09:10", "close", 11, {"result": "已答复"}),  # on time, replied
    ("2026-09-24 17:00", "close", 8, {"result": "已办结"}),  # on time (due 09-24 17:30)
    # Saturday in the 中秋 holiday: due 10-09.
    ("2026-09-26 10:00", *_reg(15, "韩十五", "unhandled", channel="online")),
    # --- week 3
    ("2026-09-28 08:30", "dispatch", 15, {"unit": A}),
    ("2026-09-28 09:00", *_reg(16, "杨十六", "unhandled")),  # due 10-10 (Sat)
    ("2026-09-28 09:30", "dispatch", 16, {"unit": C}),
    ("2026-09-28 10:00", *_reg(17, "朱十七", "unhandled", "hard")),  # due 10-10, never closed
    ("2026-09-28 10:30", "dispatch", 17, {"unit": P}),
    ("2026-09-28 11:00", "escalate", 17, {"reason": "需中心领导协调"}),
    ("2026-09-28 11:30", "close", 5, {"result": "已办结"}),  # on time (extended to 09-28)
    ("2026-09-28 16:00", "close", 3, {"result": "已办结"}),  # late (due 09-21)
    ("2026-09-29 09:00", *_reg(18, "秦十八", "impossible")),  # due 10-09
    ("2026-09-29 09:30", "extend", 12, {"days": 5, **EXTEND}),  # 09-30 → 10-13
    ("2026-09-29 10:00", "close", 4, {"result": "重新办结"}),  # on time (due 09-29)
    ("2026-09-29 11:00", "visit", 3, {"satisfaction": "basically_satisfied"}),
    ("2026-09-30 09:00", *_reg(19, "尤十九", "unhandled")),  # due 10-13, never closed
    ("2026-09-30 09:10", "close", 9, {"result": "已办结"}),  # late (due 09-28)
    ("2026-09-30 09:20", "dispatch", 19, {"unit": A}),
    ("2026-09-30 10:00", "close", 18, {"result": "已答复"}),  # on time, replied
    ("2026-09-30 11:00", "visit", 4, {"satisfaction": "satisfied"}),
    ("2026-09-30 15:00", *_reg(20, "许二十", "unhandled")),  # due 10-13; reopened 10-09
    ("2026-09-30 15:30", "dispatch", 20, {"unit": B}),
    # --- 国庆 10-01..10-07
    ("2026-10-02 10:00", *_reg(21, "何廿一", "unhandled", channel="online")),  # due 10-13
    ("2026-10-05 11:00", *_reg(22, "吕廿二", "impossible", channel="phone")),  # due 10-10
    # --- week 4
    ("2026-10-08 09:00", "dispatch", 21, {"unit": A}),
    ("2026-10-08 09:10", *_reg(23, "施廿三", "unhandled")),  # due 10-14
    ("2026-10-08 09:20", "dispatch", 23, {"unit": A}),
    ("2026-10-08 10:00", "close", 20, {"result": "已办结"}),  # on time (due 10-13)
    ("2026-10-08 10:10", *_reg(24, "张廿四", "unhandled", "misconduct")),  # due 10-14
    ("2026-10-08 10:20", "dispatch", 24, {"unit": B}),
    ("2026-10-08 11:00", "refer", 24, {"reason": "吃拿卡要线索"}),
    ("2026-10-08 15:00", "close", 22, {"result": "已答复"}),  # on time, replied
    ("2026-10-09 09:00", *_reg(25, "孔廿五", "unhandled")),  # due 10-15
    ("2026-10-09 09:10", "dispatch", 25, {"unit": C}),
    ("2026-10-09 09:20", "close", 16, {"result": "已办结"}),  # on time
    ("2026-10-09 10:00", *_reg(26, "曹廿六", "impossible")),  # due 10-13
    ("2026-10-09 10:05", "visit", 20, {"satisfaction": "very_dissatisfied"}),
    ("2026-10-09 11:00", "reopen", 20, {"reason": "群众非常不满意"}),  # new due 10-15
    ("2026-10-09 11:30", *_reg(27, "严廿七", None)),  # stays unclassified
    ("2026-10-09 14:00", "escalate", 25, {"reason": "需协调"}),
    ("2026-10-09 16:00", "close", 15, {"result": "已办结"}),  # on time (due 10-09)
    ("2026-10-09 16:10", "close", 26, {"result": "已答复"}),  # on time, replied
    ("2026-10-09 17:00", "close", 23, {"result": "已办结"}),  # on time
    # Saturday make-up working day: due 10-16.
    ("2026-10-10 09:00", *_reg(28, "华廿八", "unhandled")),
    ("2026-10-10 09:30", "dispatch", 28, {"unit": A}),
    ("2026-10-10 10:00", "visit", 15, {"satisfaction": "very_satisfied"}),
    # --- week 5
    ("2026-10-12 09:00", *_reg(29, "金廿九", "unhandled")),  # due 10-19
    ("2026-10-12 09:30", "dispatch", 29, {"unit": B}),
    ("2026-10-12 10:00", "close", 12, {"result": "已补发"}),  # on time (due 10-13)
    ("2026-10-13 09:00", *_reg(30, "魏三十", "impossible")),  # due 10-16
]
LAST_STEP = "2026-10-13 09:00"


def _apply(ctx: Ctx, action: str, key: int, args: dict[str, Any], numbers: dict[int, str]) -> None:
    if action == "register":
        case = case_service.register(
            ctx,
            citizen_name=args["name"],
            phone=PHONE,
            matter=f"第{key}件：办证受阻",
            channel=args.get("channel", "window"),
            category=args["category"],
            subtype=args["subtype"],
        )
        numbers[key] = case.number
        return
    case = lifecycle.get_case(ctx.session, numbers[key], for_update=True)
    act = case_service.close if action == "close" else getattr(lifecycle, action)
    act(ctx, case, **args)


def build(
    db: Path | str, *, until: str | None = None, start: int = 0
) -> tuple[int, dict[int, str]]:
    """Apply STEPS[start:] up to (and including) time `until` to a SQLite file (or a
    store URL), each step in its own transaction as a command would. Returns the index
    of the next step, and the case numbers by key (re-read, so building can resume)."""
    store = Store(db if isinstance(db, str) else f"sqlite:///{db}")
    numbers: dict[int, str] = {}
    try:
        with store.context(actor="窗口甲", now=parse_datetime("2026-09-01")) as ctx:
            for name, contact in CONTACTS.items():
                units.add(ctx, name, contact=contact)
            numbers.update(existing_numbers(ctx))
        i = start
        while i < len(STEPS) and (until is None or STEPS[i][0] <= until):
            at, action, key, args = STEPS[i]
            with store.context(actor="窗口甲", now=parse_datetime(at)) as ctx:
                _apply(ctx, action, key, args, numbers)
            i += 1
        return i, numbers
    finally:
        store.close()


def existing_numbers(ctx: Ctx) -> dict[int, str]:
    from sqlmodel import select

    from banbucheng.schema.models import Case

    out = {}
    for number, matter in ctx.session.exec(select(Case.number, Case.matter)).all():
        out[int(matter.removeprefix("第").split("件")[0])] = number
    return out


def number_of(key: int) -> str:
    """Case numbers are the receipt date plus the day's sequence, in STEPS order."""
    seen: dict[str, int] = {}
    for at, action, k, _ in STEPS:
        if action != "register":
            continue
        day = at[:10].replace("-", "")
        seen[day] = seen.get(day, 0) + 1
        if k == key:
            return f"BB{day}-{seen[day]:03d}"
    raise KeyError(key)


@pytest.fixture(scope="session")
def window_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("window") / "window.sqlite3"
    build(db)
    return db


@pytest.fixture
def window(window_store: Path, isolated: Path) -> Path:
    """The test's own copy of the thirty-case store (at BBC_DB)."""
    shutil.copyfile(window_store, isolated)
    return isolated


__all__ = ["STEPS", "A", "B", "C", "P", "build", "number_of", "window"]
