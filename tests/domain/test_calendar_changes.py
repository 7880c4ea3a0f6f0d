"""A notice entered in every order and in parts: after each step every live deadline
equals a fresh computation from the calendar as it now stands, whatever came before.

Works on the domain functions directly (domain/calendar.py) with a store of cases
received from late 2026 to spring 2027, the year chinese-calendar does not know.
"""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from banbucheng.core.notice_parser import parse_notice
from banbucheng.core.timeutil import BEIJING
from banbucheng.deadlines import compute_deadline, working_days_used
from banbucheng.domain import calendar as calendar_admin
from banbucheng.domain import lifecycle, recompute
from banbucheng.domain.config import set_value
from banbucheng.schema.models import Case, Event
from banbucheng.services import cases as case_service
from banbucheng.store import Ctx, Store, load_calendar

NOTICE = Path(__file__).parents[1] / "data" / "calendar" / "2027-example.txt"
NOW = datetime(2027, 3, 1, 9, 0, tzinfo=BEIJING)
SOURCE = "国办发明电〔2026〕9号"


FEB_1 = datetime(2027, 2, 1, 10, 0, tzinfo=BEIJING)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Cases registered once (slow: each is indexed and keyed), copied for each test."""
    path = tmp_path_factory.mktemp("calendar") / "template.sqlite3"
    s = Store(f"sqlite:///{path}")
    register_cases(s)
    close_some(s, FEB_1)
    s.close()
    return path


def _open_copy(template: Path, target: Path) -> Store:
    for suffix in ("", "-wal"):
        if Path(f"{template}{suffix}").exists():
            shutil.copy(f"{template}{suffix}", f"{target}{suffix}")
    return Store(f"sqlite:///{target}")


@pytest.fixture
def store(template: Path, tmp_path: Path) -> Iterator[Store]:
    s = _open_copy(template, tmp_path / "cal.sqlite3")
    yield s
    s.close()


@pytest.fixture
def empty_store(tmp_path: Path) -> Iterator[Store]:
    s = Store(f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    yield s
    s.close()


@pytest.fixture(scope="module")
def imported_alone(template: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The deadlines after importing the notice alone, in one act."""
    alone = _open_copy(template, tmp_path_factory.mktemp("alone") / "alone.sqlite3")
    try:
        with ctx_of(alone) as ctx:
            import_notice(ctx)
        return assert_fresh(alone)
    finally:
        alone.close()


def ctx_of(store: Store) -> Any:
    return store.context(actor="窗口甲", now=NOW)


def register_cases(store: Store) -> None:
    """Cases received every day (and at night, and on weekends) from 2026-12-20 to
    2027-02-26: limits 3 and 5, some extended, a few closed."""
    with ctx_of(store) as ctx:
        day = date(2026, 12, 20)
        n = 0
        while day <= date(2027, 2, 26):
            for hour, category in ((9, "unhandled"), (22, "impossible")):
                received = datetime(day.year, day.month, day.day, hour, 0, tzinfo=BEIJING)
                case = case_service.register(
                    ctx,
                    citizen_name="测试",
                    phone="13800000000",
                    matter=f"事项{n}",
                    channel="window",
                    received_at=received,
                    category=category,
                )
                if n % 7 == 3:
                    lifecycle.extend(
                        ctx, case, reason="等材料", approver="主任", days=2, force=True
                    )
                n += 1
            day += timedelta(days=1)


def close_some(store: Store, when: datetime) -> list[str]:
    """Close every tenth open case at `when` (a deadline provisional then keeps following
    the calendar; one final then is judged for good)."""
    closed = []
    with store.context(actor="窗口甲", now=when) as ctx:
        stmt = select(Case).where(Case.status != "closed", Case.received_at < when)
        for case in ctx.session.exec(stmt.order_by(Case.id)).all()[::10]:
            case_service.close(ctx, case, result="已办结", at=when)
            closed.append(case.number)
    return closed


def assert_fresh(store: Store) -> dict[str, tuple[Any, ...]]:
    """Every live deadline equals a fresh computation; returns them all by number."""
    out = {}
    with store.context(actor="检查", now=NOW, write=False) as ctx:
        cal = load_calendar(ctx.session)
        policy = ctx.policy
        for case in ctx.session.exec(select(Case).order_by(Case.id)).all():
            state = (case.due_date, case.due_at, case.provisional, case.working_days_used)
            out[case.number] = (*state, case.on_time)
            if case.status == "closed" and not case.closed_provisional:
                continue
            fresh = compute_deadline(
                case.clock_start,
                case.limit_days + case.extension_days,
                cal,
                policy.closing_time,
                nonworking_receipt=policy.nonworking_receipt,
            )
            assert (case.due_date, case.due_at, case.provisional) == (
                fresh.due_date,
                fresh.due_at,
                fresh.provisional,
            ), case.number
            if case.closed_at is not None:
                assert case.working_days_used == working_days_used(
                    case.clock_start, case.closed_at, cal
                )
                assert case.on_time == (case.closed_at <= case.due_at)
        assert recompute.stale(ctx) == []
    return out


# ---------------------------------------------------------------- the acts


def add_new_year(ctx: Ctx) -> Any:
    days = calendar_admin.parse_days(["2027-01-01..2027-01-03"], [])
    return calendar_admin.add_days(ctx, days, name="元旦", source=SOURCE)


def add_spring(ctx: Ctx) -> Any:
    days = calendar_admin.parse_days(["2027-02-06..2027-02-13"], ["2027-02-20"])
    return calendar_admin.add_days(ctx, days, name="春节", source=SOURCE)


def import_notice(ctx: Ctx) -> Any:
    return calendar_admin.import_notice(ctx, parse_notice(NOTICE.read_text(encoding="utf-8")))


def remove_makeup(ctx: Ctx) -> Any:
    return calendar_admin.remove_days(ctx, [date(2027, 2, 20)])


def cover(ctx: Ctx) -> Any:
    return calendar_admin.cover_year(ctx, 2027, source=SOURCE)


ACTS: dict[str, Callable[[Ctx], Any]] = {
    "add 元旦": add_new_year,
    "add 春节": add_spring,
    "import": import_notice,
}


@pytest.mark.parametrize("order", list(itertools.permutations(ACTS)), ids=" → ".join)
def test_every_order_leaves_every_deadline_fresh(
    store: Store, imported_alone: Any, order: tuple[str, ...]
) -> None:
    assert_fresh(store)
    for name in order:
        with ctx_of(store) as ctx:
            ACTS[name](ctx)
        assert_fresh(store)
    # The notice is complete whatever the order: the same deadlines as one import alone.
    final = assert_fresh(store)
    with ctx_of(store) as ctx:
        outcome = remove_makeup(ctx)
    assert outcome.changed_days == [date(2027, 2, 20)] and outcome.cases
    assert assert_fresh(store) != final
    with ctx_of(store) as ctx:
        calendar_admin.add_days(
            ctx, {date(2027, 2, 20): True}, name="春节", source=SOURCE, complete=True
        )
    assert assert_fresh(store) == final
    assert final == imported_alone


def test_in_parts_the_year_stays_provisional_until_complete(store: Store) -> None:
    with ctx_of(store) as ctx:
        feb5 = case_service.register(
            ctx,
            citizen_name="测试",
            phone="13800000000",
            matter="春节前一天",
            channel="window",
            received_at=datetime(2027, 2, 5, 10, 0, tzinfo=BEIJING),
            category="unhandled",
        ).number
    with ctx_of(store) as ctx:
        add_new_year(ctx)
        spring = add_spring(ctx)
    # The case: received Friday 2027-02-05, five working days. With 春节 entered
    # second it is recomputed all the same, to Friday 02-19, but still provisional.
    by_number = assert_fresh(store)
    assert by_number[feb5][0] == date(2027, 2, 19) and by_number[feb5][2] is True
    assert feb5 in {c["number"] for c in spring.cases}
    with ctx_of(store) as ctx:
        assert not ctx.calendar.is_covered(2027)
        done = cover(ctx)
    assert done.covered == [2027] and done.cases
    assert assert_fresh(store)[feb5][2] is False
    # Removing the year's entries takes the declaration back: estimates again.
    with ctx_of(store) as ctx:
        entered = [r.day for r in calendar_admin._year_rows(ctx, 2027)]
        gone = calendar_admin.remove_days(ctx, entered)
    assert gone.uncovered == [2027]
    after = assert_fresh(store)
    assert after[feb5][0] == date(2027, 2, 12) and after[feb5][2] is True


def test_a_case_closed_on_a_final_deadline_keeps_it(empty_store: Store) -> None:
    """Corrections to a covered year move open deadlines and those closed while
    provisional, never a deadline a closed case was judged by."""
    numbers = []
    with ctx_of(empty_store) as ctx:
        import_notice(ctx)  # 2027 is complete from the start
        for day in (2, 3, 4):  # due 02-16, 02-17, 02-18 (春节 02-06..14 between)
            numbers.append(
                case_service.register(
                    ctx,
                    citizen_name="测试",
                    phone="13800000000",
                    matter="春节前",
                    channel="window",
                    received_at=datetime(2027, 2, day, 9, 0, tzinfo=BEIJING),
                    category="unhandled",
                ).number
            )
    with empty_store.context(
        actor="窗口甲", now=datetime(2027, 2, 18, 10, 0, tzinfo=BEIJING)
    ) as ctx:
        judged = lifecycle.get_case(ctx.session, numbers[2])
        case_service.close(ctx, judged, result="已办结")
        assert judged.closed_provisional is False and judged.on_time is True
    before = assert_fresh(empty_store)
    assert [before[n][0] for n in numbers] == [date(2027, 2, d) for d in (16, 17, 18)]
    with ctx_of(empty_store) as ctx:  # the center finds 02-16 was also a day off
        outcome = calendar_admin.add_days(
            ctx, {date(2027, 2, 16): False}, name="春节", source="更正"
        )
    assert sorted(c["number"] for c in outcome.cases) == numbers[:2]
    after = assert_fresh(empty_store)
    assert [after[n][0] for n in numbers] == [date(2027, 2, d) for d in (17, 18, 18)]
    assert after[numbers[2]] == before[numbers[2]]


def test_policy_changes_recompute_and_are_recorded(store: Store) -> None:
    with ctx_of(store) as ctx:
        changed, cases = set_value(ctx, "closing_time", "18:00")
    assert changed and cases
    assert all(c["after"]["due_at"].endswith("18:00:00+08:00") for c in cases)
    assert_fresh(store)
    with ctx_of(store) as ctx:
        assert set_value(ctx, "closing_time", "18:00") == (False, [])
        changed, cases = set_value(ctx, "limit.unhandled", "7")  # for later cases only
        assert changed and cases == []
        changed, cases = set_value(ctx, "nonworking_receipt", "next")
        assert changed and cases  # the weekend receipts move
        actions = [e.action for e in ctx.session.exec(select(Event).where(Event.case_id == None))]  # noqa: E711
    assert actions == ["config_set"] * 3
    assert_fresh(store)


def test_the_recompute_is_selected_in_sql(store: Store) -> None:
    """Only the cases whose window meets a changed day (or that are provisional) are
    loaded: a change in June does not touch a case due in February."""
    with ctx_of(store) as ctx:
        import_notice(ctx)
        where = recompute.touching([date(2027, 6, 9)])
        picked = ctx.session.exec(select(Case).where(recompute.live(), where)).all()
        assert picked == []
        where = recompute.touching([date(2027, 2, 10), date(2027, 2, 11)])
        picked = ctx.session.exec(select(Case).where(recompute.live(), where)).all()
        assert picked and all(
            c.clock_start.date() <= date(2027, 2, 11) and c.due_date >= date(2027, 2, 10)
            for c in picked
        )
