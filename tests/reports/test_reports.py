"""The roll-up, the 督办 lists and the period statistics against figures counted by
hand from the thirty-case fixture (tests/report_fixture.py; its table comments give
every deadline)."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.register_assert_rewrite("report_fixture")

from report_fixture import A, B, C, P, build, number_of  # noqa: E402

from banbucheng.commands.reports import period_of  # noqa: E402
from banbucheng.core.errors import InvalidInput  # noqa: E402

pytest_plugins = ("report_fixture",)  # the `window` fixture

LATER = "2026-10-20 09:00"  # after every step of the fixture
N = number_of

ORIGINAL_KEYS = {
    "date",
    "as_of",
    "registered",
    "by_category",
    "closed",
    "closed_on_time",
    "open",
    "overdue",
    "provisional",
    "escalated",
    "referred",
    "total",
}
DAILY_KEYS = ORIGINAL_KEYS | {
    "center",
    "by_subtype",
    "closed_late",
    "replied",
    "next_workday",
    "due_next_workday",
    "by_unit",
    "new_cases",
    "closed_cases",
    "open_cases",
    "overdue_cases",
    "due_next_workday_cases",
    "actions",
    "running",
    "trend",
}
METRIC_KEYS = {
    "received",
    "closed",
    "closed_on_time",
    "closed_late",
    "resolved",
    "replied",
    "overdue_open",
    "visits",
    "very_satisfied",
    "satisfied",
    "basically_satisfied",
    "dissatisfied",
    "very_dissatisfied",
    "escalations",
    "referrals",
    "extensions",
    "reopened",
    "on_time_rate",
    "resolution_rate",
    "satisfaction_rate",
    "score",
}


def _numbers(rows):
    return [r["number"] for r in rows]


# ---------------------------------------------------------------- the daily roll-up


def test_daily_rollup_first_friday_after_national_day(bbc, window):
    """2026-10-09, as of the end of the day, asked eleven days later: events after that
    day (case 12 closed on 10-12, a visit on 10-10, case 28 received on 10-10) must not
    show, and case 20's reopen that day must."""
    d = bbc.json("daily-report", "--date", "2026-10-09", now=LATER)
    assert set(d) == DAILY_KEYS
    assert d["date"] == "2026-10-09" and d["as_of"] == "2026-10-10T00:00:00+08:00"
    # Received on 10-09: 25 (应办未办), 26 (完全不能), 27 (not classified).
    assert d["registered"] == 3
    assert d["by_category"] == {"unhandled": 1, "impossible": 1, "unclassified": 1}
    assert d["by_subtype"] == {"hard": 0, "misconduct": 0}
    assert _numbers(d["new_cases"]) == [N(25), N(26), N(27)]
    # Closed on 10-09: 16 (09:20), 15 (16:00), 26 (16:10, replied), 23 (17:00); all on time.
    assert (d["closed"], d["closed_on_time"], d["closed_late"], d["replied"]) == (4, 4, 0, 1)
    assert _numbers(d["closed_cases"]) == [N(16), N(15), N(26), N(23)]
    # Open at 24:00: 6, 12 (closed only on 10-12), 13, 14, 17, 19, 20 (reopened 11:00),
    # 21, 24, 25, 27.
    assert d["open"] == 11
    # Overdue: 6 (due 09-23), 14 (09-30), 13 (10-08); 12 was extended to 10-13 on 09-29.
    assert d["overdue"] == 3
    assert _numbers(d["overdue_cases"]) == [N(6), N(14), N(13)]
    # Working days late, up to 10-09: 6: 09-24,28,29,30,10-08,09; 14: 10-08,09; 13: 10-09.
    assert [r["days_overdue"] for r in d["overdue_cases"]] == [6, 2, 1]
    assert [r["unit"] for r in d["overdue_cases"]] == [B, None, B]
    # The next working day is Saturday 10-10 (a make-up day): case 17 is due then.
    assert d["next_workday"] == "2026-10-10"
    assert d["due_next_workday"] == 1
    assert _numbers(d["due_next_workday_cases"]) == [N(17)]
    left = {r["number"]: r["days_left"] for r in d["open_cases"] if not r["overdue"]}
    # From 10-09: 10-10, 12, 13 → 3; 20 was re-timed at its reopen to 10-15 → 5.
    assert left == {
        N(17): 1,
        N(12): 3,
        N(19): 3,
        N(21): 3,
        N(24): 4,
        N(20): 5,
        N(25): 5,
        N(27): None,
    }
    assert d["provisional"] == 0
    assert (d["escalated"], d["referred"]) == (1, 0)  # 25 escalated at 14:00
    assert [(a["action"], a["number"]) for a in d["actions"]] == [("escalate", N(25))]
    assert d["total"] == 27
    # Per unit at 24:00 (open, overdue, closed that day), most overdue first.
    assert [(u["unit"], u["open"], u["overdue"], u["closed"]) for u in d["by_unit"]] == [
        (B, 4, 2, 0),  # 6, 13 overdue; 20, 24
        (A, 2, 0, 2),  # 19, 21; closed 15, 23
        (P, 2, 0, 0),  # 12, 17
        (C, 1, 0, 1),  # 25; closed 16
        (None, 2, 1, 1),  # 14 overdue, 27; closed 26
    ]
    assert d["by_unit"][0]["contact"] == "李科长 0571-87000002"
    run = d["running"]
    assert set(run) == METRIC_KEYS
    # 18 closures so far (case 4 twice, case 20 once): late ones are 3 and 9.
    assert (run["received"], run["closed"], run["closed_on_time"]) == (27, 18, 16)
    assert (run["resolved"], run["replied"], run["overdue_open"]) == (12, 6, 3)
    assert run["on_time_rate"] == round(16 / (18 + 3), 4)  # 0.7619
    assert run["resolution_rate"] == round(12 / 18, 4)
    # Visits before 10-10: 1 非常满意, 2 满意, 3 基本满意, 4 不满意 then 满意, 20 非常不满意.
    assert run["visits"] == 6
    assert run["satisfaction_rate"] == round((1 + 2 + 0.5 * 1) / 6, 4)  # 0.5833
    assert (run["escalations"], run["referrals"], run["extensions"], run["reopened"]) == (
        4,
        2,
        2,
        2,
    )
    trend = {t["date"]: (t["registered"], t["closed"]) for t in d["trend"]}
    assert len(d["trend"]) == 30 and d["trend"][0]["date"] == "2026-09-10"
    assert d["trend"][-1]["date"] == "2026-10-09"
    assert sum(v[0] for v in trend.values()) == 27
    assert sum(v[1] for v in trend.values()) == 18
    assert trend["2026-10-09"] == (3, 4)
    assert trend["2026-09-20"] == (1, 1)  # a Sunday make-up day: 9 received, 1 closed
    assert trend["2026-10-03"] == (0, 0)
    assert [t["workday"] for t in d["trend"] if t["date"] in ("2026-09-20", "2026-10-03")] == [
        True,
        False,
    ]


def test_daily_rollup_on_a_holiday(bbc, window):
    """Saturday 10-03, in the National Day holiday: the next working day is 10-08."""
    d = bbc.json("daily-report", "--date", "2026-10-03", now=LATER)
    assert d["registered"] == 0 and d["closed"] == 0
    # Received before 10-04: cases 1..21. Open then: 6, 12, 13, 14, 15, 16, 17, 19, 20, 21.
    assert d["total"] == 21 and d["open"] == 10
    assert _numbers(d["overdue_cases"]) == [N(6), N(14)]
    assert d["next_workday"] == "2026-10-08"
    assert _numbers(d["due_next_workday_cases"]) == [N(13)]
    # Case 21 (received 10-02) was not dispatched until 10-08.
    row = next(r for r in d["open_cases"] if r["number"] == N(21))
    assert row["unit"] is None and row["due_date"] == "2026-10-13"
    # Working days late on a holiday: 6: 09-24,28,29,30 → 4; 14: none since 09-30 → 0.
    assert [r["days_overdue"] for r in d["overdue_cases"]] == [4, 0]


def test_daily_rollup_uses_the_state_of_that_day(bbc, window):
    """09-21: case 11 was classified only on 09-22, so it counts as unclassified; case 4
    (closed 09-18) was reopened at 11:00, so it is open again."""
    d = bbc.json("daily-report", "--date", "2026-09-21", now=LATER)
    assert d["registered"] == 2
    assert d["by_category"] == {"unhandled": 1, "impossible": 0, "unclassified": 1}
    four = next(r for r in d["open_cases"] if r["number"] == N(4))
    assert four["due_date"] == "2026-09-29"  # re-timed from the reopen
    # 09-18: case 5 is due 09-22 then (extended only on 09-22), case 1 (closed 09-20)
    # is open and due on the next working day, Sunday 09-20.
    d = bbc.json("daily-report", "--date", "2026-09-18", now=LATER)
    assert d["next_workday"] == "2026-09-20"
    assert _numbers(d["due_next_workday_cases"]) == [N(1)]
    five = next(r for r in d["open_cases"] if r["number"] == N(5))
    assert five["due_date"] == "2026-09-22"
    assert (d["registered"], d["closed"], d["open"], d["total"]) == (1, 1, 5, 7)


def test_a_past_day_gives_the_same_figures_every_time(bbc, isolated):
    """Build up to the evening of 09-18, report that day; carry on (a reopen, two
    extensions, reclassification, closures) and report it again: identical."""
    nxt, _ = build(isolated, until="2026-09-18 18:00")
    first = bbc.json("daily-report", "--date", "2026-09-18", now="2026-09-19 08:00")
    bbc("export", "--dir", str(isolated.parent / "a"), "--date", "2026-09-18")
    build(isolated, start=nxt)
    again = bbc.json("daily-report", "--date", "2026-09-18", now=LATER)
    assert again == first
    bbc("export", "--dir", str(isolated.parent / "b"), "--date", "2026-09-18")
    for name in ("2026-09-18-每日汇总.json", "2026-09-18-每日汇总.csv", "2026-09-18-每日汇总.xlsx"):
        assert (isolated.parent / "a" / name).read_bytes() == (
            isolated.parent / "b" / name
        ).read_bytes()


def test_today_is_as_of_now(bbc, window):
    d = bbc.json("daily-report", now="2026-10-09 12:00")
    assert d["date"] == "2026-10-09" and d["as_of"] == "2026-10-09T12:00:00+08:00"
    # By noon only 16 was closed; 25, 26, 27 had been received.
    assert (d["registered"], d["closed"]) == (3, 1)


def test_future_date_is_refused(bbc, window):
    message = bbc.refused("daily-report", "--date", "2026-10-21", now=LATER)
    assert "不能晚于今天" in message


def test_back_dated_registration_counts_from_its_receipt(bbc):
    """A matter received on 11-20 but entered on 11-23 with --at: it is 应办未办 on
    11-20's report (the classification was given at registration)."""
    bbc(
        "register", "--name", "补录", "--phone", "13800000000", "--matter", "补录事项",
        "--at", "2026-11-20 10:00", "--category", "应办未办", now="2026-11-23 09:00",
    )  # fmt: skip
    d = bbc.json("daily-report", "--date", "2026-11-20", now="2026-11-23 10:00")
    assert d["registered"] == 1
    assert d["by_category"]["unhandled"] == 1
    assert d["open_cases"][0]["due_date"] == "2026-11-27"


def test_provisional_deadline_is_flagged_in_the_rollup(bbc):
    bbc(
        "register", "--name", "王五", "--phone", "13800000000", "--matter", "年底事项",
        "--category", "应办未办", now="2026-12-30 10:00",
    )  # fmt: skip
    result = bbc("daily-report", now="2026-12-30 18:00")
    assert "（暂定）" in result.stdout and "暂定" in result.stderr
    d = bbc.json("daily-report", now="2026-12-30 18:00")
    assert d["provisional"] == 1 and d["open_cases"][0]["provisional"] is True
    md = bbc("daily-report", "--md", now="2026-12-30 18:00").stdout
    assert "（暂定）" in md


# ---------------------------------------------------------------- period statistics


def test_period_report_for_september(bbc, window):
    """September as of 10-01 00:00; a unit is the case's lead unit at that time."""
    r = bbc.json("report", "--month", "2026-09", now=LATER)
    assert set(r) == {"from", "to", "as_of", "weights", "basic_satisfaction", "total", "units"}
    assert set(r["total"]) == METRIC_KEYS
    assert r["from"] == "2026-09-01" and r["to"] == "2026-09-30"
    assert r["as_of"] == "2026-10-01T00:00:00+08:00"
    assert r["weights"] == {"on_time": 0.3, "resolution": 0.3, "satisfaction": 0.4}
    by_unit = {u["unit"]: u for u in r["units"]}
    assert set(by_unit) == {A, B, C, P, None}
    for row in r["units"]:
        assert set(row) == METRIC_KEYS | {"rank", "unit", "contact"}
    # 人社局: received 1, 5, 8, 10, 15, 19; closed 1, 5, 8, 10 on time; visit 1 非常满意.
    a = by_unit[A]
    assert (a["received"], a["closed"], a["closed_on_time"], a["overdue_open"]) == (6, 4, 4, 0)
    assert (a["on_time_rate"], a["resolution_rate"], a["satisfaction_rate"]) == (1.0, 1.0, 1.0)
    assert a["score"] == 100.0 and a["extensions"] == 1 and a["rank"] == 1
    # 不动产登记中心: 4 (closed 09-18 and again 09-29), 9 (late), 16; visits 不满意, 满意.
    c = by_unit[C]
    assert (c["received"], c["closed"], c["closed_on_time"], c["closed_late"]) == (3, 3, 2, 1)
    assert (c["referrals"], c["reopened"], c["visits"]) == (1, 1, 2)
    assert c["on_time_rate"] == round(2 / 3, 4) and c["satisfaction_rate"] == 0.5
    assert c["score"] == 70.0  # 100 × (0.3 × 2/3 + 0.3 × 1 + 0.4 × 0.5)
    assert c["rank"] == 2
    # 市场监管局: 3 closed late; 6 overdue and open; 3 基本满意 (counts 0.5).
    b = by_unit[B]
    assert (b["received"], b["closed"], b["closed_late"], b["overdue_open"]) == (4, 1, 1, 1)
    assert b["on_time_rate"] == 0.0  # 0 ÷ (1 + 1)
    assert b["satisfaction_rate"] == 0.5 and b["escalations"] == 1
    assert b["score"] == 50.0 and b["rank"] == 3
    # 省农保中心: 12 and 17 open and not yet due: no rate, no score, ranked after.
    p = by_unit[P]
    assert (p["received"], p["closed"], p["escalations"], p["extensions"]) == (2, 0, 2, 1)
    assert p["on_time_rate"] is None and p["score"] is None and p["rank"] is None
    # Not dispatched (the window's replies): 2, 7, 11, 14, 18; 14 overdue.
    w = by_unit[None]
    assert (w["received"], w["closed"], w["replied"], w["overdue_open"]) == (5, 4, 4, 1)
    assert w["resolution_rate"] == 0.0 and w["rank"] is None
    assert [u["unit"] for u in r["units"]] == [A, C, B, P, None]
    t = r["total"]
    assert (t["received"], t["closed"], t["closed_on_time"], t["overdue_open"]) == (20, 12, 10, 2)
    assert (t["resolved"], t["replied"], t["visits"]) == (8, 4, 5)
    assert t["on_time_rate"] == round(10 / 14, 4)
    assert t["resolution_rate"] == round(8 / 12, 4)
    assert t["satisfaction_rate"] == 0.7  # (1 + 2 + 0.5) / 5
    assert t["score"] == round(100 * (0.3 * 10 / 14 + 0.3 * 8 / 12 + 0.4 * 0.7), 2)  # 69.43
    assert (t["escalations"], t["referrals"], t["extensions"], t["reopened"]) == (3, 1, 2, 1)


def test_period_weights_and_basic_satisfaction_come_from_config(bbc, window):
    bbc("config", "set", "score.on_time", "0.1")
    bbc("config", "set", "score.resolution", "0.5")
    bbc("config", "set", "score.satisfaction", "0.4")
    bbc("config", "set", "satisfaction.basic", "0.8")
    r = bbc.json("report", "--month", "2026-09", now=LATER)
    b = next(u for u in r["units"] if u["unit"] == B)
    assert b["satisfaction_rate"] == 0.8
    assert b["score"] == round(100 * (0.1 * 0 + 0.5 * 1 + 0.4 * 0.8), 2)  # 82.0
    assert r["weights"] == {"on_time": 0.1, "resolution": 0.5, "satisfaction": 0.4}
    # B now outranks C: 100 × (0.1 × 2/3 + 0.5 + 0.4 × 0.5) = 76.67.
    assert [u["unit"] for u in r["units"]][:3] == [A, B, C]
    assert "0到100" in bbc.refused("config", "set", "score.on_time", "101")
    assert "0到1" in bbc.refused("config", "set", "satisfaction.basic", "1.5")


def test_period_from_to_spans_the_holiday(bbc, window):
    """10-01..10-09: received 21..27 (7), closed 20, 22, 16, 15, 26, 23 (6, on time);
    overdue and open at 10-10 00:00: 6, 13, 14 → on-time rate 6 / (6 + 3)."""
    r = bbc.json("report", "--from", "2026-10-01", "--to", "2026-10-09", now=LATER)
    t = r["total"]
    assert (t["received"], t["closed"], t["closed_on_time"], t["overdue_open"]) == (7, 6, 6, 3)
    assert t["on_time_rate"] == round(6 / 9, 4)
    assert (t["reopened"], t["referrals"], t["escalations"]) == (1, 1, 1)


def test_period_options(bbc, window):
    assert "只能选一种" in bbc.refused("report", "--month", "2026-09", "--week")
    assert "统计期间" in bbc.refused("report")
    assert "月份格式" in bbc.refused("report", "--month", "2026-13")
    assert "早于起始日期" in bbc.refused("report", "--from", "2026-10-09", "--to", "2026-10-01")
    assert "尚未开始" in bbc.refused("report", "--month", "2026-11", now=LATER)
    week = bbc.json("report", "--week", now="2026-10-09 18:00")
    assert (week["from"], week["to"]) == ("2026-10-05", "2026-10-11")
    assert week["as_of"] == "2026-10-09T18:00:00+08:00"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("2026-10-01", None, None, False), ("2026-10-01", "2026-10-20")),
        ((None, None, "2026-02", False), ("2026-02-01", "2026-02-28")),
        ((None, None, "2024/2", False), ("2024-02-01", "2024-02-29")),
        ((None, None, "2025年12月", False), ("2025-12-01", "2025-12-31")),
        ((None, None, None, True), ("2026-10-19", "2026-10-25")),
    ],
)
def test_period_of(args, expected):
    from datetime import date

    first, last, label = period_of(date(2026, 10, 20), *args)
    assert (first.isoformat(), last.isoformat()) == expected
    assert label


@pytest.mark.parametrize("month", ["2026", "2026-00", "26-10", "1999-01", "abc"])
def test_period_of_refuses_bad_months(month):
    from datetime import date

    with pytest.raises(InvalidInput):
        period_of(date(2026, 10, 20), None, None, month, False)


# ---------------------------------------------------------------- 督办 lists


NOW_LISTS = "2026-10-14 09:00"


def test_overdue_list_grouped_by_unit_with_contacts(bbc, window):
    rows = bbc.json("overdue", now=NOW_LISTS, code=4)
    # Most late first; 19 and 21 share a deadline (10-13 17:30) and go by number.
    assert _numbers(rows) == [N(6), N(14), N(13), N(17), N(19), N(21)]
    # Working days late, up to 10-14.
    assert [r["days_overdue"] for r in rows] == [10, 6, 5, 3, 1, 1]
    assert rows[0]["unit"] == B and rows[0]["unit_contact"] == "李科长 0571-87000002"
    assert rows[1]["unit"] is None and rows[1]["unit_contact"] == ""
    assert all(r["citizen"].count("*") >= 1 and r["phone"] == "139****5678" for r in rows)
    text = bbc("overdue", now=NOW_LISTS, code=4).stdout
    # Terminal: one table per unit, the unit's contact beside its name.
    assert "市场监管局（2 件；联系方式：李科长 0571-87000002）" in text
    assert "人社局（2 件；联系方式：张科长 0571-87000001）" in text
    assert text.index("市场监管局（") < text.index("人社局（")
    assert "13912345678" not in text and "吴六" not in text
    only_b = bbc.json("overdue", "--unit", B, now=NOW_LISTS, code=4)
    assert _numbers(only_b) == [N(6), N(13)]
    assert "没有「不存在的单位」" in bbc.refused("overdue", "--unit", "不存在的单位", now=NOW_LISTS)


def test_overdue_exit_code_is_zero_when_nothing_is_late(bbc, window):
    assert bbc.json("overdue", now="2026-09-14 09:10") == []


def test_due_list_and_its_exit_codes(bbc, window):
    # Due within 2 working days of 10-14 (10-15, 10-16), not yet overdue.
    rows = bbc.json("due", "--within", "2", now=NOW_LISTS, code=4)
    assert _numbers(rows) == [N(24), N(20), N(25), N(28), N(30)]
    assert [r["days_left"] for r in rows] == [0, 1, 1, 2, 2]
    # The default horizon is the setting due_soon_days (2).
    assert _numbers(bbc.json("due", now=NOW_LISTS, code=4)) == _numbers(rows)
    bbc("config", "set", "due_soon_days", "3")
    assert N(29) in _numbers(bbc.json("due", now=NOW_LISTS, code=4))  # due 10-19
    # Only today's: 24, due 10-14 17:30.
    assert _numbers(bbc.json("due", "--within", "0", now=NOW_LISTS, code=4)) == [N(24)]
    # 不动产登记中心 has nothing overdue, but 25 is due 10-15: exit 5.
    only_c = bbc.json("due", "--unit", C, now=NOW_LISTS, code=5)
    assert _numbers(only_c) == [N(25)]
    result = bbc("due", "--unit", A, now=NOW_LISTS, code=4)
    assert "已超期" in result.stderr
    assert bbc.json("due", now="2026-09-14 09:10", code=0) == []


def test_period_figures_are_counted_in_sql(window):
    """The period statistics never load cases: a handful of grouped queries, each
    returning a row per unit (and level or action), not a row per case."""
    from sqlalchemy import event

    from banbucheng.core.validate import parse_datetime
    from banbucheng.reports import period, timeline
    from banbucheng.store import Store, load_policy

    store = Store(f"sqlite:///{window}")
    statements: list[str] = []

    @event.listens_for(store.engine, "before_cursor_execute")
    def record(conn, cursor, statement, params, context, executemany):
        statements.append(statement)

    try:
        with store.session(write=False) as session:
            policy = load_policy(session)
            statements.clear()
            data = period.period_stats(
                session,
                policy,
                timeline.day_start(parse_datetime("2026-09-01").date()),
                timeline.day_start(parse_datetime("2026-10-01").date()),
                parse_datetime(LATER),
            )
    finally:
        store.close()
    # The cases' state is built once, into a temporary table the queries read.
    # (For a past month, period.period_state: the cases with events since the cutoff
    # replayed, the rest read from their rows, in the one statement.)
    built = [s for s in statements if s.lstrip().startswith("INSERT INTO bbc_period_state")]
    assert len(built) == 1
    selects = [s for s in statements if s.lstrip().startswith("SELECT")]
    grouped = [s for s in selects if "GROUP BY" in s]
    # ... and the units' contacts, and whether anything was recorded after the cutoff
    # (if not, the state is read from the cases rather than replayed: timeline.py).
    assert len(grouped) == 4 and len(selects) == 6
    assert all("count(" in s for s in grouped)
    assert data["total"]["received"] == 20


# ---------------------------------------------------------------- PostgreSQL


def test_reports_on_postgres(pg_url, monkeypatch):
    """The same figures on PostgreSQL: the fixture built on a real server."""
    import json

    from typer.testing import CliRunner

    from banbucheng.cli import app

    build(pg_url)
    monkeypatch.setenv("BBC_NOW", LATER)
    runner = CliRunner()

    def run(*args, code=0):
        result = runner.invoke(app, ["--db", pg_url, *args, "--json"])
        assert result.exit_code == code, (result.stdout, result.stderr)
        return json.loads(result.stdout)

    d = run("daily-report", "--date", "2026-10-09")
    assert (d["registered"], d["closed"], d["open"], d["overdue"], d["total"]) == (3, 4, 11, 3, 27)
    assert d["by_category"] == {"unhandled": 1, "impossible": 1, "unclassified": 1}
    assert d["due_next_workday"] == 1 and d["replied"] == 1 and d["escalated"] == 1
    assert next((u["unit"], u["open"], u["overdue"], u["closed"]) for u in d["by_unit"]) == (
        B,
        4,
        2,
        0,
    )
    assert d["running"]["on_time_rate"] == round(16 / 21, 4)
    trend = {t["date"]: (t["registered"], t["closed"]) for t in d["trend"]}
    assert trend["2026-10-09"] == (3, 4) and trend["2026-09-20"] == (1, 1)
    r = run("report", "--month", "2026-09")
    assert [u["unit"] for u in r["units"]] == [A, C, B, P, None]
    assert [u["score"] for u in r["units"]] == [100.0, 70.0, 50.0, None, 64.0]
    assert r["total"]["score"] == 69.43
    monkeypatch.setenv("BBC_NOW", NOW_LISTS)
    assert _numbers(run("overdue", code=4)) == [N(6), N(14), N(13), N(17), N(19), N(21)]


def test_fixture_numbers_match_the_store(window):
    """The expected numbers above are derived from STEPS; check they are the store's."""
    import sqlite3

    con = sqlite3.connect(window)
    stored = sorted(r[0] for r in con.execute("SELECT number FROM cases"))
    con.close()
    assert stored == sorted(N(k) for k in range(1, 31))
    assert Path(window).exists()


@pytest.mark.parametrize("now", [LATER, "2026-10-16 17:45", "2026-10-19 08:00"])
def test_as_of_now_the_cases_give_what_the_timeline_gives(window, monkeypatch, now):
    """A report as of now reads the state from the cases, not the replayed timeline
    (timeline.current_state): the figures must be the same, reopens, extensions and
    re-dispatches included."""
    from banbucheng.core.validate import parse_datetime
    from banbucheng.reports import daily, period, timeline
    from banbucheng.store import Store, load_calendar, load_policy

    moment = parse_datetime(now)
    store = Store(f"sqlite:///{window}")

    def both(compute):
        with store.session(write=False) as session:
            fast = compute(session)
        with monkeypatch.context() as m:
            m.setattr(timeline.Timeline, "is_current", lambda self, cut: False)
            # The period's own shortcut (the rows of cases with nothing recorded since
            # the cutoff) would read the rows too: replay every candidate instead.
            m.setattr(
                period,
                "period_state",
                lambda session, tl, cut, start: timeline.state_table(session, tl, cut, since=start),
            )
            with store.session(write=False) as session:
                slow = compute(session)
        return fast, slow

    try:
        fast, slow = both(
            lambda s: daily.daily_rollup(s, load_policy(s), load_calendar(s), moment.date(), moment)
        )
        assert fast == slow
        start = timeline.day_start(parse_datetime("2026-09-01").date())
        end = timeline.day_start(parse_datetime("2026-11-01").date())
        fast, slow = both(lambda s: period.period_stats(s, load_policy(s), start, end, moment))
        assert fast == slow
    finally:
        store.close()
