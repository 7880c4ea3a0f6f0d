"""The same store on a real PostgreSQL server (a throwaway one, started by the
pg_server fixture in conftest.py, one per test worker).

Without the server binaries these tests are skipped, except in CI (CI=true), where
they fail instead so they never silently stop running.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from datetime import datetime
from typing import Any

import pytest
from pg_server import PgServer
from typer.testing import CliRunner

from banbucheng.cli import app
from banbucheng.core.timeutil import BEIJING


def _tables(url: str) -> list[str]:
    import psycopg

    conninfo = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(conninfo) as conn:
        rows = conn.execute(
            "SELECT table_name FROM information_schema.tables"
            " WHERE table_schema = 'public' ORDER BY table_name"
        ).fetchall()
    return [r[0] for r in rows]


class PgBbc:
    """Runs `bbc --db <url>` in-process and checks the outcome."""

    def __init__(self, url: str, monkeypatch: pytest.MonkeyPatch) -> None:
        self.url = url
        self.runner = CliRunner()
        self.monkeypatch = monkeypatch

    def __call__(self, *args: str, now: str | None = None, code: int = 0) -> Any:
        if now:
            self.monkeypatch.setenv("BBC_NOW", now)
        result = self.runner.invoke(app, ["--db", self.url, *args])
        assert result.exit_code == code, (
            result.exit_code,
            result.stdout,
            result.stderr,
            result.exception,
        )
        assert "Traceback" not in result.output + result.stderr
        return result

    def json(self, *args: str, now: str | None = None, code: int = 0) -> Any:
        return json.loads(self(*args, "--json", now=now, code=code).stdout)


@pytest.fixture
def bbc(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> PgBbc:
    monkeypatch.setenv("BBC_OPERATOR", "窗口甲")
    monkeypatch.setenv("BBC_DEBUG", "1")  # an unexpected exception shows in full
    return PgBbc(pg_url, monkeypatch)


def _numbers(rows: list[dict[str, Any]]) -> list[str]:
    return [r["number"] for r in rows]


HUO = "BB20210401-001"
LI = "BB20210406-001"


def test_lifecycle_on_postgres(bbc: PgBbc) -> None:
    huo = bbc.json(
        "register", "--name", "霍某某", "--phone", "13712341111",
        "--matter", "诊所两证名称不一致，供货商拒绝供药", "--department", "市场监管窗口",
        "--at", "2021-04-01 09:30", "--category", "应办未办", now="2021-04-01 09:31",
    )  # fmt: skip
    assert huo["number"] == HUO
    assert huo["status"] == "classified" and huo["category"] == "unhandled"
    assert huo["due_date"] == "2021-04-09"  # 04-02, 06, 07, 08, 09: Qingming 03..05 skipped
    assert huo["due_at"] == "2021-04-09T17:30:00+08:00"
    assert huo["received_at"] == "2021-04-01T09:30:00+08:00"
    assert huo["provisional"] is False
    assert huo["citizen"] == "霍*某" and huo["phone"] == "137****1111"

    out = bbc(
        "dispatch", HUO, "--unit", "中心综合协调科", "--helper", "市场监管窗口",
        "--helper", "卫健窗口", now="2021-04-01 10:00",
    )  # fmt: skip
    assert out.stderr.count("已加入单位名录") == 3
    bbc("note", HUO, "核实为同一诊所", now="2021-04-02 16:00")

    # Registered without a category, classified afterwards.
    li = bbc.json(
        "register", "--name", "李海清", "--phone", "13900001111",
        "--matter", "社保卡自2016年起未年检，养老金停发四年", "--at", "2021-04-06 14:20",
        now="2021-04-06 14:21",
    )  # fmt: skip
    assert li["number"] == LI
    assert li["status"] == "registered" and li["category"] is None and li["due_date"] is None
    li = bbc.json("classify", LI, "--category", "应办未办", "--subtype", "很难办")
    assert (li["status"], li["subtype"], li["limit_days"]) == ("classified", "hard", 5)
    assert li["due_date"] == "2021-04-13"
    li = bbc.json(
        "dispatch", LI, "--unit", "省农保中心", "--helper", "社保窗口", "--days", "2",
        now="2021-04-06 15:00",
    )  # fmt: skip
    assert li["unit"] == "省农保中心" and li["helpers"] == ["社保窗口"]
    assert li["unit_due_at"] == "2021-04-08T17:30:00+08:00"
    assert (
        "已上报领导小组"
        in bbc("escalate", LI, "--reason", "涉及省级单位", now="2021-04-06 15:10").stdout
    )

    closed = bbc.json(
        "close", HUO, "--result", "中心出具证明", "--at", "2021-04-06 11:00",
        "--mechanism", "窗口核实后直接出具证明", now="2021-04-06 16:00",
    )  # fmt: skip
    assert closed["status"] == "closed" and closed["outcome"] == "resolved"
    assert closed["closed_at"] == "2021-04-06T11:00:00+08:00"
    assert closed["working_days_used"] == 2
    assert closed["on_time"] is True

    report = bbc.json("daily-report", "--date", "2021-04-06", now="2021-04-06 18:00")
    expected = {
        "date": "2021-04-06",
        "as_of": "2021-04-06T18:00:00+08:00",
        "registered": 1,
        "by_category": {"unhandled": 1, "impossible": 0, "unclassified": 0},
        "closed": 1,
        "closed_on_time": 1,
        "open": 1,
        "overdue": 0,
        "provisional": 0,
        "escalated": 1,
        "referred": 0,
        "total": 2,
    }
    # The roll-up has more keys (issue 3); the original twelve keep their meaning.
    assert {k: report[k] for k in expected} == expected

    li = bbc.json(
        "extend", LI, "--days", "2", "--reason", "待省里回函", "--approver", "王主任",
        now="2021-04-07 09:00",
    )  # fmt: skip
    assert li["due_date"] == "2021-04-15"
    out = bbc(
        "visit", HUO, "--satisfaction", "不满意", "--note", "供货商仍不认可", now="2021-04-07 10:00"
    )
    assert f"bbc reopen {HUO}" in out.stderr
    huo = bbc.json("reopen", HUO, "--reason", "回访不满意", now="2021-04-07 10:30")
    assert huo["status"] == "dispatched" and huo["reopen_count"] == 1
    assert huo["due_date"] == "2021-04-14"  # five working days from 04-07
    assert huo["closed_at"] is None and huo["satisfaction"] is None
    assert huo["working_days_used"] is None and huo["on_time"] is None

    shown = bbc.json("show", HUO, now="2021-04-08 09:00")
    assert shown["unit"] == "中心综合协调科"
    assert shown["helpers"] == ["卫健窗口", "市场监管窗口"]  # byte order, as on SQLite
    assert shown["days_left"] == 4  # 04-09, 12, 13, 14
    assert [e["action"] for e in shown["events"]] == [
        "register", "classify", "dispatch", "note", "close", "visit", "reopen",
    ]  # fmt: skip
    assert shown["events"][2]["after"]["helpers"] == ["卫健窗口", "市场监管窗口"]
    assert shown["events"][4]["at"] == "2021-04-06T16:00:00+08:00"
    assert shown["events"][4]["after"]["on_time"] is True
    assert "13712341111" not in json.dumps(shown["events"], ensure_ascii=False)
    revealed = bbc.json("show", HUO, "--reveal")
    assert revealed["phone"] == "13712341111"

    assert _numbers(bbc.json("list")) == [HUO, LI]
    assert _numbers(bbc.json("list", "--status", "open")) == [HUO, LI]
    assert _numbers(bbc.json("list", "--status", "closed")) == []
    assert _numbers(bbc.json("list", "--unit", "省农保中心")) == [LI]
    assert _numbers(bbc.json("list", "--subtype", "很难办")) == [LI]
    assert _numbers(bbc.json("list", "--category", "完全不能")) == []
    assert _numbers(bbc.json("list", "--from", "2021-04-06", "--to", "2021-04-06")) == [LI]
    assert _numbers(bbc.json("list", "--limit", "1")) == [LI]  # the latest

    assert bbc.json("overdue", now="2021-04-09 09:00") == []
    late = bbc.json("overdue", now="2021-04-16 09:00", code=4)
    assert _numbers(late) == [HUO, LI]  # the most late first
    assert [c["days_overdue"] for c in late] == [2, 1]
    assert bbc("overdue", code=4).stdout.count("BB2021") == 2

    bbc("units", "add", "省农保中心", "--contact", "张科长 0571-87654321")
    assert bbc.json("units", "list") == [
        {"name": "中心综合协调科", "contact": "", "open": 1, "overdue": 1, "total": 1},
        {"name": "卫健窗口", "contact": "", "open": 0, "overdue": 0, "total": 0},
        {"name": "市场监管窗口", "contact": "", "open": 0, "overdue": 0, "total": 0},
        {
            "name": "省农保中心",
            "contact": "张科长 0571-87654321",
            "open": 1,
            "overdue": 1,
            "total": 1,
        },
        {"name": "社保窗口", "contact": "", "open": 0, "overdue": 0, "total": 0},
    ]


def test_calendar_add_recomputes_provisional_deadlines(bbc: PgBbc) -> None:
    case = bbc.json(
        "register", "--name", "王五", "--phone", "13800000000", "--matter", "年底事项",
        "--category", "应办未办", now="2026-12-28 10:00",
    )  # fmt: skip
    assert case["provisional"] is True
    assert case["due_date"] == "2027-01-05"  # estimated: 01-01 (元旦) skipped
    assert bbc.json("daily-report", now="2026-12-28 18:00")["provisional"] == 1
    out = bbc(
        "calendar", "add", "--holiday", "2027-01-01..2027-01-04", "--name", "元旦",
        "--source", "测试通知", "--complete", now="2026-12-28 11:00",
    )  # fmt: skip
    assert "已录入 4 天；1 件案件的期限已按新日历重算" in out.stdout
    again = bbc.json("show", case["number"])
    assert again["provisional"] is False
    assert again["due_date"] == "2027-01-06"
    assert again["events"][-1]["action"] == "recompute"
    assert again["events"][-1]["before"]["due_date"] == "2027-01-05"
    assert bbc.json("calendar", "show", "2027")["coverage"] == "entered"
    assert "2027-01-04 不是工作日" in bbc("calendar", "is-workday", "2027-01-04", code=1).stdout


def test_config_set_changes_the_next_deadline_only(bbc: PgBbc) -> None:
    base = ["register", "--name", "赵六", "--phone", "13800000000", "--matter", "办证难"]
    first = bbc(*base, "--category", "应办未办", now="2026-11-23 09:00").stdout.strip()
    assert first == "BB20261123-001"
    bbc("config", "set", "limit.unhandled", "7")
    bbc("config", "set", "limit.unhandled", "6")  # an existing setting is updated
    bbc("config", "set", "closing_time", "18:00")
    bbc("config", "set", "number_prefix", "ZX")
    second = bbc.json(*base, "--category", "应办未办", now="2026-11-23 10:00")
    assert second["number"] == "ZX20261123-002"  # one sequence per day, whatever the prefix
    assert second["due_at"] == "2026-12-01T18:00:00+08:00"  # six working days
    # The limit stays the one it was classified with; the closing time applies to every
    # open deadline, recomputed with the setting.
    assert bbc.json("show", first)["due_at"] == "2026-11-30T18:00:00+08:00"
    settings = {r["key"]: r["value"] for r in bbc.json("config", "show")}
    assert settings["limit.unhandled"] == "6" and settings["limit.impossible"] == "3"
    assert settings["closing_time"] == "18:00" and settings["number_prefix"] == "ZX"


@pytest.mark.parametrize("run", [1, 2])
def test_each_test_starts_from_an_empty_database(bbc: PgBbc, pg_url: str, run: int) -> None:
    assert _tables(pg_url) == []
    args = ["register", "--name", "n", "--phone", "13800000000", "--matter", "m"]
    assert bbc(*args, now="2026-11-27 10:00").stdout.strip() == "BB20261127-001"
    assert {"cases", "counters", "events"} <= set(_tables(pg_url))


def test_plain_postgresql_urls_use_psycopg(pg_server: PgServer, pg_db: str) -> None:
    from banbucheng.store import Store

    for scheme in ("postgresql", "postgres"):
        store = Store(pg_server.url(pg_db, driver=scheme))
        try:
            assert store.engine.dialect.driver == "psycopg"
            with store.session(write=False) as session:
                assert session.connection().exec_driver_sql("SELECT 1").scalar() == 1
        finally:
            store.close()


def test_transactions_behave_as_on_sqlite(pg_url: str) -> None:
    """Writers queue (SQLite's BEGIN IMMEDIATE): a second window adding the same new
    unit waits for the first and then finds it, instead of failing on the unique name.
    A reader sees one snapshot, so a report's counts agree with each other."""
    from sqlmodel import func, select

    from banbucheng.domain import units
    from banbucheng.schema.models import Case
    from banbucheng.services import cases as case_service
    from banbucheng.store import Store

    store = Store(pg_url)
    moment = datetime(2021, 4, 1, 9, 0, tzinfo=BEIJING)
    second: list[object] = []

    def second_window() -> None:
        try:
            with store.context(actor="窗口乙", now=moment) as ctx:
                second.append(units.add(ctx, "协调科")[0])
        except Exception as exc:
            second.append(exc)

    try:
        with store.context(actor="窗口甲", now=moment) as ctx:
            assert units.add(ctx, "协调科")[0] is True  # created
            thread = threading.Thread(target=second_window)
            thread.start()
            thread.join(0.5)
            assert thread.is_alive()  # waiting for the first window's transaction
        thread.join(30)
        assert second == [False]  # found, not created again

        count = select(func.count()).select_from(Case)
        with store.session(write=False) as reader:
            assert reader.exec(count).one() == 0
            with store.context(actor="窗口甲", now=moment) as ctx:
                case_service.register(
                    ctx, citizen_name="n", phone="13800000000", matter="m", channel="window"
                )
            assert reader.exec(count).one() == 0
        with store.session(write=False) as reader:
            assert reader.exec(count).one() == 1
    finally:
        store.close()


def test_the_dialect_knows_what_sqlalchemy_would_ask(pg_url: str) -> None:
    """The answers the store's engine takes from the connection (dialects._answer_probes)
    are the ones SQLAlchemy's own probes get from the server."""
    from sqlalchemy import create_engine

    from banbucheng.store import Store

    stock = create_engine(pg_url)
    with stock.connect():
        pass
    store = Store(pg_url)
    try:
        for known in (
            "server_version_info",
            "default_schema_name",
            "default_isolation_level",
            "_backslash_escapes",
        ):
            assert getattr(store.engine.dialect, known) == getattr(stock.dialect, known), known
    finally:
        store.close()
        stock.dispose()


def _log_statements(pg_server: PgServer, pg_db: str) -> Any:
    """The statements sessions of the database send from now on, as the server logs
    them (first line of each); read by calling the returned function."""
    import psycopg

    with psycopg.connect(pg_server.url(pg_db, driver="postgresql"), autocommit=True) as conn:
        conn.execute(f"ALTER DATABASE \"{pg_db}\" SET log_statement = 'all'")
    assert pg_server.base is not None
    log = pg_server.base / "server.log"
    start = log.stat().st_size

    def read() -> list[str]:
        with log.open("rb") as handle:
            handle.seek(start)
            text = handle.read().decode("utf-8", "replace")
        return re.findall(r"LOG:  (?:statement|execute [^:]*): (.*)", text)

    return read


def test_a_current_store_opens_in_three_statements(pg_server: PgServer, pg_db: str) -> None:
    """What every command sends before its own: SQLAlchemy's first-connect probes in
    one statement, the stamp and the store's id with no transaction around them; a
    reader's isolation goes in its BEGIN, a writer's lock timeout with its lock."""
    from banbucheng.store import PG_WRITE_LOCK, Store

    url = pg_server.url(pg_db)
    Store(url).close()  # made, and stamped current
    statements = _log_statements(pg_server, pg_db)
    store = Store(url)
    try:
        with store.session(write=False) as session:
            assert session.connection().exec_driver_sql("SELECT 'reader'").scalar() == "reader"
        with store.session(write=True) as session:
            assert session.connection().exec_driver_sql("SELECT 'writer'").scalar() == "writer"
    finally:
        store.close()
    assert [s.strip() for s in statements()] == [
        "SELECT current_schema(), current_setting('transaction_isolation')",
        "SELECT obj_description(to_regclass('schema_migrations'), 'pg_class')",
        "SELECT store_info.store_id",
        "BEGIN ISOLATION LEVEL REPEATABLE READ",
        "SELECT 'reader'",
        "COMMIT",
        "BEGIN",
        f"SELECT pg_try_advisory_xact_lock({PG_WRITE_LOCK}), "
        "set_config('lock_timeout', '30s', true)",
        "SELECT 'writer'",
        "COMMIT",
    ]


def test_unreachable_server_is_one_clear_line(pg_server: PgServer, monkeypatch) -> None:
    monkeypatch.setenv("BBC_DEBUG", "1")
    dead = pg_server.url("nope").replace(f":{pg_server.port}/", ":1/")
    result = CliRunner().invoke(app, ["--db", dead, "list"])
    assert result.exit_code == 3, (result.stderr, result.exception)
    assert result.stderr.startswith("错误：无法连接数据库服务器")
    assert pg_server.password not in result.stderr


# Each worker is one process running the CLI command after command, each opening the
# store as `bbc` does: first all add the same new unit at once, then register 10 cases.
WORKER = """
import sys
from banbucheng.cli import app
url, day, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
code = app(["--db", url, "units", "add", "协调科"], prog_name="bbc", standalone_mode=False)
if code:
    sys.exit(code)
for i in range(n):
    args = ["--db", url, "register", "--name", "并发", "--phone", "13800000000",
            "--matter", f"并发登记{i}", "--at", f"{day} 10:00"]
    code = app(args, prog_name="bbc", standalone_mode=False)
    if code:
        sys.exit(code)
"""
WORKERS, PER_WORKER = 6, 10
DAYS = ("2021-04-01", "2021-04-02")


def test_concurrent_registration_numbers_are_unique_and_gap_free(
    pg_server: PgServer, pg_db: str
) -> None:
    url = pg_server.url(pg_db, driver="postgresql")  # the plain form users type
    env = dict(os.environ, BBC_NOW="2021-04-02 18:00", BBC_OPERATOR="窗口甲")
    env.pop("BBC_DEBUG", None)
    # The database is empty: the workers also race to create the tables.
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, url, DAYS[i % 2], str(PER_WORKER)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for i in range(WORKERS)
    ]
    numbers: list[str] = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        assert "错误" not in err, err
        numbers += re.findall(r"^BB\d{8}-\d{3}$", out, flags=re.MULTILINE)
    per_day = WORKERS * PER_WORKER // len(DAYS)
    expected = sorted(
        f"BB{day.replace('-', '')}-{n:03d}" for day in DAYS for n in range(1, per_day + 1)
    )
    assert sorted(numbers) == expected

    # Read back through the real entry point, in a process of its own.
    listed = subprocess.run(
        [sys.executable, "-m", "banbucheng", "--db", url, "list", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=True,
    )
    rows = json.loads(listed.stdout)
    assert sorted(_numbers(rows)) == expected
    assert {r["registered_by"] for r in rows} == {"窗口甲"}
    units = subprocess.run(
        [sys.executable, "-m", "banbucheng", "--db", url, "units", "list", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=True,
    )
    assert [u["name"] for u in json.loads(units.stdout)] == ["协调科"]


def test_a_status_edited_behind_the_tools_back_is_named(
    bbc: PgBbc, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL keeps each column's type, but not the record's closed lists: a status
    that is none of the lifecycle's stops a list with the case and field named (exit 7),
    not 内部错误."""
    import psycopg

    bbc("register", "--name", "霍某某", "--phone", "13712341111", "--matter", "诊所两证",
        now="2021-04-01 09:31")  # fmt: skip
    with psycopg.connect(pg_url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        conn.execute("UPDATE cases SET status = 'bogus'")
    monkeypatch.delenv("BBC_DEBUG")
    result = bbc("list", "--json", code=7)
    assert result.stderr.strip() == (
        f"错误：数据库中有无法读取的值：案件 {HUO} 的「状态」（可能被直接改动），"
        "请运行 bbc verify 查看"
    )


def test_a_look_at_the_store_is_stopped_in_time_on_postgres(bbc: PgBbc, pg_url: str) -> None:
    from test_store import _stopped_within

    bbc("units", "add", "协调科")
    assert _stopped_within(pg_url, 0.3) < 3
