"""The report queries' plans do not depend on the planner's statistics: on a store
that was never analysed (as every store was before 0.2), no table is scanned inside
another loop and no subquery runs once per case, so a roll-up grows linearly with the
cases. (A correlated subquery per case was planned through ix_events_action there,
and `daily-report` took 1,089 s at 10,000 cases.)"""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from typing import Any

import pytest

pytest.register_assert_rewrite("report_fixture")

pytest_plugins = ("report_fixture",)  # the `window` fixture

LATER = "2026-10-20 09:00"

_ACCESS = ("SCAN ", "SEARCH ")


def _forget_statistics(db: Any) -> None:
    con = sqlite3.connect(db)
    try:
        con.execute("ANALYZE sqlite_schema")  # makes sure sqlite_stat1 exists
        con.execute("DELETE FROM sqlite_stat1")
        con.commit()
        assert con.execute("SELECT count(*) FROM sqlite_stat1").fetchone()[0] == 0
    finally:
        con.close()


def _report_plans(
    db: Any, reports: Any = None, at: str = LATER, statements: list[str] | None = None
) -> list[list[tuple[int, int, str]]]:
    """The plan of every query the reports run, taken on their own connection just
    before each runs (the state's temporary table exists only there); with
    `statements`, each planned statement's text is appended to it."""
    from sqlalchemy import event

    from banbucheng.core.validate import parse_datetime
    from banbucheng.reports import daily, period, supervision
    from banbucheng.store import Store

    store = Store(f"sqlite:///{db}")
    plans: list[list[tuple[int, int, str]]] = []

    @event.listens_for(store.engine, "before_cursor_execute")
    def explain(conn, cursor, statement, params, context, executemany):  # type: ignore[no-untyped-def]
        if (
            statement.lstrip()
            .upper()
            .startswith(("SELECT", "INSERT INTO BBC_", "DELETE FROM BBC_"))
        ):
            raw = cursor.connection
            rows = raw.execute("EXPLAIN QUERY PLAN " + statement, params).fetchall()
            # The planner must not have read any statistics either.
            assert raw.execute("SELECT count(*) FROM sqlite_stat1").fetchone()[0] == 0
            plans.append([(r[0], r[1], r[3]) for r in rows])
            if statements is not None:
                statements.append(" ".join(statement.split()))

    now = parse_datetime(at)
    try:
        with store.context(actor="测试", now=now, write=False) as ctx:
            plans.clear()
            if statements is not None:
                statements.clear()
            if reports is not None:
                reports(ctx, now)
                return plans
            day = (now - timedelta(days=10)).date()
            daily.daily_rollup(ctx.session, ctx.policy, ctx.calendar, day, now)
            # The terminal's view: the first cases of each list, and the due list's count.
            daily.daily_rollup(ctx.session, ctx.policy, ctx.calendar, day, now, limit=50)
            period.period_stats(ctx.session, ctx.policy, None, now, now)
            supervision.supervision(ctx.session, ctx.calendar, now)
            supervision.supervision(ctx.session, ctx.calendar, now, within=5, limit=50)
            supervision.due_count(ctx.session, ctx.calendar, now, within=5)
    finally:
        store.close()
    return plans


def test_report_plans_are_linear_on_a_store_never_analysed(window):
    _forget_statistics(window)
    plans = _report_plans(window)
    assert len(plans) > 10
    for plan in plans:
        text = "\n".join(d for _, _, d in plan)
        assert "CORRELATED" not in text, text
        loops: dict[int, list[str]] = {}
        for _, parent, detail in plan:
            if detail.startswith(_ACCESS):
                loops.setdefault(parent, []).append(detail)
        for nest in loops.values():
            # Nested loops: only the outermost may walk a whole table or subquery;
            # every inner loop looks its rows up by a key.
            inner_scans = [d for d in nest[1:] if d.startswith("SCAN ")]
            assert not inner_scans, text
            for d in nest[1:]:
                assert "USING" in d, text


def _month(ctx: Any, now: Any, month: str) -> dict[str, Any]:
    from banbucheng.commands.reports import parse_month
    from banbucheng.reports import period, timeline

    first, last = parse_month(month)
    return period.period_stats(
        ctx.session,
        ctx.policy,
        timeline.day_start(first),
        timeline.day_start(last + timedelta(days=1)),
        now,
    )


_WHOLE_STORE = ("cases", "events", "case_helpers", "units")


@pytest.mark.parametrize(
    ("month", "at"),
    [
        ("2026-09", LATER),  # a past month: its cases' state is rebuilt from their events
        ("2026-10", LATER),  # the month so far: read from the cases themselves
    ],
)
def test_month_report_reads_only_the_month(window, month, at):
    """`report --month` reads the month's cases, the open ones and those with events
    since the month began, each through an index: no query walks the cases or the
    events whole, and none reads every event of a kind through the index on action
    (every closure of the store, for one month's)."""
    _forget_statistics(window)
    results: list[dict[str, Any]] = []
    plans = _report_plans(window, lambda ctx, now: results.append(_month(ctx, now, month)), at)
    assert results[0]["total"]["received"] > 0
    assert len(plans) >= 4
    for plan in plans:
        text = "\n".join(d for _, _, d in plan)
        assert "CORRELATED" not in text, text
        for _, _, detail in plan:
            words = detail.split()
            if detail.startswith("SCAN ") and words[1].rstrip("_0123456789") in _WHOLE_STORE:
                raise AssertionError(f"whole table read:\n{text}")
            assert "ix_events_action" not in detail, text


def test_past_month_reads_through_the_intended_indexes(window):
    """A past month (records made since its end, so its state is not the cases' rows
    as they are now) on a store never analysed: its candidates through the indexes on
    status, received_at and events.at; the few with events since its end through
    events.at; the state read by primary key, and the replayed cases' events by
    ix_events_case_seq; the month's closures, 回访 and other events through events.at."""
    _forget_statistics(window)
    texts: list[str] = []
    plans = _report_plans(
        window, lambda ctx, now: _month(ctx, now, "2026-09"), LATER, statements=texts
    )

    def plan(prefix: str) -> list[str]:
        found = [p for t, p in zip(texts, plans, strict=True) if t.startswith(prefix)]
        assert len(found) == 1, (prefix, texts)
        return [d for _, _, d in found[0]]

    among = plan("INSERT INTO bbc_period_among")
    assert any("USING COVERING INDEX ix_cases_status (status=?)" in d for d in among), among
    assert any("INDEX ix_cases_received_at (received_at>? AND" in d for d in among), among
    assert any(d.startswith("SEARCH events USING INDEX ix_events_at (at>?)") for d in among)

    busy = plan("INSERT INTO bbc_period_busy")
    assert busy[0] == "SEARCH events USING INDEX ix_events_at (at>?)", busy
    # ... less the cases received since the cutoff.
    received = plan("DELETE FROM bbc_period_busy")
    assert any("INDEX ix_cases_received_at (received_at>?)" in d for d in received), received

    state = plan("INSERT INTO bbc_period_state")
    reads = [d for d in state if d.startswith(_ACCESS)]
    stored = [d for d in reads if d.split()[1].rstrip("_0123456789") in _WHOLE_STORE]
    # Every case and unit by its key, every replayed case's events by the case: the
    # cases of the rows part; of the replay, its row per case, each of its seven kinds
    # of change, and the join of the result.
    by_key = "USING INTEGER PRIMARY KEY (rowid=?)"
    assert [d for d in stored if d.split()[1] == "cases"] == [f"SEARCH cases {by_key}"] * 10
    assert [d for d in stored if d.split()[1] == "units"] == [f"SEARCH units {by_key} LEFT-JOIN"]
    events = [d for d in stored if d.split()[1].startswith("events")]
    assert len(events) == 7 and all(
        d.endswith("USING INDEX ix_events_case_seq (case_id=?)") for d in events
    ), events

    dated = [
        [d for _, _, d in p]
        for t, p in zip(texts, plans, strict=True)
        if t.startswith("SELECT") and " FROM events AS " in t
    ]
    assert len(dated) == 3  # closures, 回访, the other events
    for details in dated:
        assert details[0].startswith("SEARCH events_1 USING INDEX ix_events_at (at>?"), details
