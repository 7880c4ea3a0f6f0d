"""`report` for a past period reads most of its cases' state from their rows and
replays only the cases with events since the period's cutoff (period.period_state).
Its output must be byte for byte what the full replay of every candidate gave
(timeline.state_table, the implementation before), in every format, on SQLite and
PostgreSQL: the thirty-case fixture plus records made after each month's end that
change a month's cases (a re-dispatch, an extension, a closure and a registration
back-dated into the month, reopens, late 回访, a reclassification)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.register_assert_rewrite("report_fixture")

from report_fixture import EXTEND, PHONE, build, existing_numbers  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from banbucheng.cli import app  # noqa: E402
from banbucheng.core.validate import parse_datetime  # noqa: E402
from banbucheng.domain import lifecycle  # noqa: E402
from banbucheng.reports import period, timeline  # noqa: E402
from banbucheng.services import cases as case_service  # noqa: E402
from banbucheng.store import Store  # noqa: E402

pytest_plugins = ("report_fixture",)  # the `window_store` fixture

A, B, C = "人社局", "市场监管局", "不动产登记中心"

# After the fixture's last step (2026-10-13 09:00): (time, action, case key, arguments).
LATER_STEPS: list[tuple[str, str, int, dict[str, Any]]] = [
    ("2026-10-14 09:00", "dispatch", 13, {"unit": C}),  # was B's since 09-23
    ("2026-10-14 09:30", "extend", 17, {"days": 3, "force": True, **EXTEND}),
    # Closed, late, on a day of September, recorded in October.
    ("2026-10-14 10:00", "close", 6, {"result": "已办结", "at": "2026-09-29 16:00"}),
    ("2026-10-14 10:30", "classify", 27, {"category": "unhandled"}),
    ("2026-10-15 09:00", "reopen", 1, {"reason": "群众反映仍未办好"}),
    # Received in September, registered in October.
    ("2026-10-15 09:30", "register", 31, {"received_at": "2026-09-30 16:00"}),
    ("2026-10-15 09:40", "dispatch", 31, {"unit": A}),
    ("2026-10-15 10:00", "visit", 23, {"satisfaction": "satisfied", "at": "2026-10-09 18:00"}),
    ("2026-10-16 09:00", "close", 19, {"result": "已办结"}),  # late (due 10-13)
    ("2026-10-16 09:10", "visit", 12, {"satisfaction": "dissatisfied", "at": "2026-10-12 15:00"}),
    ("2026-10-16 10:00", "escalate", 21, {"reason": "需协调"}),
    ("2026-10-16 10:30", "extend", 29, {"days": 2, **EXTEND}),
    ("2026-10-19 09:00", "close", 1, {"result": "重新办结"}),
    ("2026-10-19 09:30", "close", 14, {"result": "已答复", "at": "2026-09-30 10:00"}),
    ("2026-10-20 09:00", "dispatch", 31, {"unit": B}),
    # November: October's cases move on after its end.
    ("2026-11-02 09:00", "close", 13, {"result": "已办结"}),
    ("2026-11-02 09:30", "reopen", 16, {"reason": "群众不满意"}),
    ("2026-11-02 10:00", "close", 30, {"result": "已答复", "at": "2026-10-16 11:00"}),
    ("2026-11-03 09:00", "register", 32, {"received_at": "2026-10-30 15:00"}),
    ("2026-11-03 09:10", "dispatch", 32, {"unit": C}),
    ("2026-11-03 09:20", "dispatch", 25, {"unit": A}),
    ("2026-11-03 10:00", "visit", 1, {"satisfaction": "very_satisfied"}),
]

FORMATS: list[list[str]] = [[], ["--json"], ["--csv"], ["--md"], ["--xlsx"]]
JSON = [["--json"]]
# (arguments, BBC_NOW, formats): past months (replayed in part), a month as of a
# moment with records after it, a month as of now (read from the rows:
# timeline.current_state). Every format renders the same data, so two reports in
# each format, the rest as their JSON (the data itself).
REPORTS = [
    (["--month", "2026-09"], "2026-11-05 09:00", FORMATS),
    (["--month", "2026-10"], "2026-11-05 09:00", JSON),
    (["--month", "2026-09"], "2026-10-16 09:05", JSON),
    (["--month", "2026-10"], "2026-10-16 09:05", FORMATS),
    (["--from", "2026-09-14", "--to", "2026-10-09"], "2026-11-05 09:00", JSON),
    (["--month", "2026-11"], "2026-11-05 09:00", JSON),
]


def _more(url: str) -> None:
    """LATER_STEPS, each in its own transaction as a command would."""
    store = Store(url)
    try:
        for at, action, key, args in LATER_STEPS:
            with store.context(actor="窗口甲", now=parse_datetime(at)) as ctx:
                numbers = existing_numbers(ctx)
                args = dict(args)
                if "at" in args:
                    args["at"] = parse_datetime(args["at"])
                if action == "register":
                    case_service.register(
                        ctx,
                        citizen_name=f"补录{key}",
                        phone=PHONE,
                        matter=f"第{key}件：补录的事项",
                        channel="window",
                        category="unhandled",
                        received_at=parse_datetime(args["received_at"]),
                    )
                    continue
                case = lifecycle.get_case(ctx.session, numbers[key], for_update=True)
                act = case_service.close if action == "close" else getattr(lifecycle, action)
                act(ctx, case, **args)
    finally:
        store.close()


def _outputs(
    url: str,
    args: list[str],
    now: str,
    formats: list[list[str]],
    folder: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> dict[str, bytes]:
    """What `bbc report ARGS` prints and writes, in each of the formats."""
    monkeypatch.setenv("BBC_NOW", now)
    runner = CliRunner()
    out: dict[str, bytes] = {}
    for fmt in formats:
        name = fmt[0] if fmt else "terminal"
        target = folder / f"out{name}"
        extra = [*fmt, str(target)] if fmt == ["--xlsx"] else fmt
        if fmt in (["--csv"], ["--md"]):
            extra = [*fmt, "--output", str(target)]
        result = runner.invoke(app, ["--db", url, "report", *args, *extra])
        assert result.exit_code == 0, (result.stdout, result.stderr)
        out[name] = result.stdout_bytes
        if target.exists():
            out[name + " file"] = target.read_bytes()
            target.unlink()
    return out


def _compare(url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    used: list[str] = []

    def spy(name: str, real: Any) -> Any:
        def wrapped(*a: Any, **kw: Any) -> Any:
            used.append(name)
            return real(*a, **kw)

        return wrapped

    def old_state(session: Any, tl: Any, cut: Any, start: Any) -> Any:
        # The implementation before: every candidate's state replayed from its events.
        return timeline.state_table(session, tl, cut, since=start)

    replayed_in_part = 0
    every_format = 0
    for args, now, formats in REPORTS:
        with monkeypatch.context() as m:
            m.setattr(period, "current_state", spy("rows", period.current_state))
            m.setattr(period, "case_state", spy("replay", period.case_state))
            used.clear()
            new = _outputs(url, args, now, formats, tmp_path, monkeypatch)
            # Each format's run: the rows, then the replay of the few (or neither).
            assert used in ([], ["rows", "replay"] * len(formats)), used
            replayed_in_part += bool(used)
        with monkeypatch.context() as m:
            m.setattr(period, "period_state", old_state)
            old = _outputs(url, args, now, formats, tmp_path, monkeypatch)
        assert set(new) == set(old)
        for name in new:
            assert new[name] == old[name], (args, now, name)
        assert b'"units": [' in new["--json"]
        if formats == FORMATS:
            every_format += 1
            assert {"--xlsx file", "--csv file", "--md file", "terminal"} <= set(new)
            assert "合计".encode() in new["terminal"]  # a real table
    assert every_format == 2
    # Five of the reports are of a period with records after its cutoff.
    assert replayed_in_part == 5


@pytest.fixture(scope="module")
def store_url(window_store: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    db = tmp_path_factory.mktemp("later") / "later.sqlite3"
    shutil.copyfile(window_store, db)
    url = f"sqlite:///{db}"
    _more(url)
    return url


def test_month_report_is_what_the_full_replay_gave(store_url, tmp_path, monkeypatch):
    _compare(store_url, tmp_path, monkeypatch)


def test_the_later_records_change_the_past_months(store_url, window, monkeypatch):
    """The comparison above means something: September's figures with the records
    made after it (a closure and a registration back-dated into it, a re-dispatch)
    differ from those of the fixture without them, as the timeline says they should."""
    import json

    runner = CliRunner()
    monkeypatch.setenv("BBC_NOW", "2026-11-05 09:00")

    def september(url: str) -> dict[str, Any]:
        result = runner.invoke(app, ["--db", url, "report", "--month", "2026-09", "--json"])
        assert result.exit_code == 0, result.stderr
        return json.loads(result.stdout)

    then, later = september(str(window)), september(store_url)
    assert later["total"]["received"] == then["total"]["received"] + 1  # case 31
    assert later["total"]["closed"] == then["total"]["closed"] + 2  # cases 6 and 14
    before = {u["unit"]: u for u in then["units"]}
    after = {u["unit"]: u for u in later["units"]}
    # Case 31 was not dispatched by the end of September.
    assert after[None]["received"] == before[None]["received"] + 1
    # Case 6 (B's, overdue at the end of September) is closed, late, within it.
    assert after[B]["overdue_open"] == before[B]["overdue_open"] - 1
    assert after[B]["closed_late"] == before[B]["closed_late"] + 1
    # Case 13 was B's in September; its re-dispatch to C came after.
    assert after[B]["received"] == before[B]["received"]
    assert after[C]["received"] == before[C]["received"]


# ---------------------------------------------------------------- PostgreSQL


@pytest.fixture(scope="module")
def pg_store_url(pg_server: Any) -> Iterator[str]:
    name = pg_server.create_database()
    try:
        url = pg_server.url(name)
        build(url)
        _more(url)
        yield url
    finally:
        pg_server.drop_database(name)


def test_month_report_is_what_the_full_replay_gave_on_postgres(pg_store_url, tmp_path, monkeypatch):
    _compare(pg_store_url, tmp_path, monkeypatch)
