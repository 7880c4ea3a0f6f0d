"""Similar-case lookup, repeats, mechanisms and analysis on a real PostgreSQL server:
the same answers as on SQLite, from a GIN index.

Like test_postgres.py: skipped without the server binaries, except in CI (CI=true),
where that is a failure.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from typing import Any

import casegen
import pytest
from pg_server import PgServer
from sqlalchemy import event
from sqlmodel import select
from typer.testing import CliRunner

from banbucheng.cli import app
from banbucheng.knowledge import mechanisms as knowledge
from banbucheng.knowledge import similar
from banbucheng.reports import analysis
from banbucheng.schema.models import Case
from banbucheng.store import Store


@pytest.fixture(scope="module")
def stores(
    pg_server: PgServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, tuple[Store, dict]]]:
    """The fixture loaded into PostgreSQL and, to compare, into SQLite."""
    pg = casegen.build(pg_server.url(pg_server.create_database()))
    lite = casegen.build(f"sqlite:///{tmp_path_factory.mktemp('lite') / 'f.sqlite3'}")
    try:
        yield {"postgresql": pg, "sqlite": lite}
    finally:
        pg[0].close()
        lite[0].close()


def _numbers(session: Any, hits: list[similar.Hit]) -> list[str]:
    found = dict(session.exec(select(Case.id, Case.number)).all())
    return [found[h.case_id] for h in hits]


def test_same_ranking_as_sqlite(stores: dict[str, tuple[Store, dict]]) -> None:
    results: dict[str, list[Any]] = {}
    for name, (store, _) in stores.items():
        with store.session(write=False) as session:
            out = []
            for query, _cls in casegen.QUERIES:
                hits = similar.search(session, query, limit=3)
                out.append(
                    [
                        (n, round(h.score, 6))
                        for n, h in zip(_numbers(session, hits), hits, strict=True)
                    ]
                )
            for word in casegen.TWO_CHAR:
                out.append(sorted(_numbers(session, similar.search(session, word, limit=100))))
            out.append(_numbers(session, similar.search(session, "证", limit=5)))
            results[name] = out
    # Candidates come from each backend's own index; scores are computed in Python.
    assert results["postgresql"] == results["sqlite"]
    assert len(results["postgresql"][-1]) == 5


def test_right_case_first_on_postgres(stores: dict[str, tuple[Store, dict]]) -> None:
    store, numbers = stores["postgresql"]
    classes = {numbers[s.key]: s.cls for s in casegen.cases()}
    with store.session(write=False) as session:
        for query, cls in casegen.QUERIES:
            hits = similar.search(session, query, limit=1)
            assert classes[_numbers(session, hits)[0]] == cls, query


def test_repeats_mechanisms_and_analysis_agree(stores: dict[str, tuple[Store, dict]]) -> None:
    answers = {}
    for name, (store, numbers) in stores.items():
        key_of = {v: k for k, v in numbers.items()}
        with store.session(write=False) as session:
            ids = dict(session.exec(select(Case.id, Case.number)).all())
            flagged = {
                key_of[n]: key_of[ids[r]]
                for n, r in session.exec(select(Case.number, Case.repeat_of_id)).all()
                if r is not None
            }
            april = (date(2021, 4, 1), date(2021, 4, 30))
            answers[name] = (
                flagged,
                knowledge.served_count(session, *april),
                knowledge.formed_count(session, *april),
                analysis.analyse(session, *april),
            )
    assert answers["postgresql"] == answers["sqlite"]
    assert answers["postgresql"][0] == {"li_repeat": "li", "fund_again": "fund_first"}


def test_lookup_uses_the_gin_index(stores: dict[str, tuple[Store, dict]]) -> None:
    store, _ = stores["postgresql"]
    with store.session(write=False) as session:
        conn = session.connection()
        conn.exec_driver_sql("SET LOCAL enable_seqscan = off")  # the table is small
        plan = conn.exec_driver_sql(
            f"EXPLAIN SELECT case_id FROM case_terms WHERE {similar._PG_VECTOR}"
            " @@ CAST('''社保'' | ''年检''' AS tsquery)"
        ).all()
    assert "ix_case_terms_search" in "\n".join(r[0] for r in plan)


def test_every_lookup_plan_uses_the_gin_index(stores: dict[str, tuple[Store, dict]]) -> None:
    """On a store never analysed, with no planner setting made by the test: every kind
    of retrieval (ranked, one term, single characters, excluding a case) reads the GIN
    index, and the planner settings it needs are put back for the rest of the transaction."""
    store, numbers = stores["postgresql"]
    plans: list[str] = []

    def explain(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "case_terms" in statement and "tsquery" in statement and "EXPLAIN" not in statement:
            cursor.execute("EXPLAIN " + statement, parameters)
            plans.append("\n".join(row[0] for row in cursor.fetchall()))

    with store.session(write=False) as session:
        conn = session.connection()
        never = conn.exec_driver_sql(
            "SELECT last_analyze IS NULL AND last_autoanalyze IS NULL FROM pg_stat_user_tables"
            " WHERE relname = 'case_terms'"
        ).scalar()
        assert never, "the fixture's case_terms was analysed; the test needs it not to be"
        event.listen(conn, "before_cursor_execute", explain)
        try:
            for query, _cls in casegen.QUERIES[:2]:
                assert similar.search(session, query)
            assert similar.search(session, casegen.TWO_CHAR[0])
            assert similar.search(session, "证")
            case = session.exec(select(Case).where(Case.number == numbers["li"])).one()
            similar.similar_to(session, case, earlier_only=True)
        finally:
            event.remove(conn, "before_cursor_execute", explain)
        settings = conn.exec_driver_sql(
            "SELECT current_setting('enable_seqscan'), current_setting('enable_indexscan')"
        ).one()
    assert len(plans) == 5
    for plan in plans:
        assert "Bitmap Index Scan on ix_case_terms_search" in plan, plan
        assert "Seq Scan" not in plan and "case_terms_pkey" not in plan, plan
    assert tuple(settings) == ("on", "on")


def test_walkthrough_on_postgres(pg_server: PgServer, monkeypatch: pytest.MonkeyPatch) -> None:
    url = pg_server.url(pg_server.create_database())
    runner = CliRunner()
    monkeypatch.setenv("BBC_OPERATOR", "窗口甲")

    def bbc(*args: str, now: str) -> Any:
        monkeypatch.setenv("BBC_NOW", now)
        result = runner.invoke(app, ["--db", url, *args])
        assert result.exit_code == 0, (result.stdout, result.stderr)
        return result

    bbc(
        "register",
        "--name",
        "霍某某",
        "--phone",
        "13712341111",
        "--matter",
        "诊所营业执照与医疗机构执业许可证名称不一致，供货商拒绝供药",
        "--category",
        "应办未办",
        now="2021-04-01 09:30",
    )
    bbc(
        "close",
        "BB20210401-001",
        "--result",
        "中心出具证明",
        "--mechanism",
        "今后同类情况由窗口核实两证后直接出具证明",
        now="2021-04-06 11:00",
    )
    out = bbc(
        "register",
        "--name",
        "王某",
        "--phone",
        "13712341111",
        "--matter",
        "诊所两证名字不一样，医药公司不给供药",
        "--category",
        "应办未办",
        "--json",
        now="2021-04-20 09:00",
    )
    data = json.loads(out.stdout)
    assert data["similar"][0]["number"] == "BB20210401-001"
    assert data["similar"][0]["mechanism"]["id"] == 1
    assert data["repeat_of"] == "BB20210401-001"  # same phone, same matter, 19 days on
    closed = json.loads(
        bbc(
            "close",
            data["number"],
            "--result",
            "窗口出具证明",
            "--mechanism",
            "1",
            "--json",
            now="2021-04-20 15:00",
        ).stdout
    )
    assert (closed["mechanism_id"], closed["mechanism_role"]) == (1, "served")
    rows = json.loads(bbc("search", "名称", "--json", now="2021-04-21 09:00").stdout)
    assert {r["number"] for r in rows} == {"BB20210401-001", data["number"]}
    report = json.loads(
        bbc("analyse", "--month", "2021-04", "--json", now="2021-05-01 09:00").stdout
    )
    assert report["totals"]["served"] == 1 and report["totals"]["repeats"] == 1
    assert "已重建检索索引：2 件案件" in bbc("reindex", now="2021-05-01 09:00").stdout
    assert json.loads(bbc("search", "名称", "--json", now="2021-05-01 09:00").stdout) == rows


def test_upgrade_step_runs_on_postgres(pg_server: PgServer) -> None:
    """m003 on a store made before it: the tables and the column appear, old cases are
    indexed, their citizens hashed, repeats flagged, free-text mechanisms adopted."""
    from datetime import datetime

    from banbucheng.core.timeutil import BEIJING
    from banbucheng.services import cases as case_service

    url = pg_server.url(pg_server.create_database())
    store = Store(url)
    with store.context(actor="窗口甲", now=datetime(2021, 5, 1, tzinfo=BEIJING)) as ctx:
        for day, matter in (
            (6, "社保卡自2016年起未年检，养老金停发四年"),
            (20, "社保卡年审没办，养老金还停着"),
        ):
            at = ctx.now.replace(month=4, day=day)
            case = case_service.register(
                ctx,
                citizen_name="李海清",
                phone="13900001111",
                matter=matter,
                channel="window",
                received_at=at,
                category="unhandled",
            )
        case_service.close(ctx, case, result="已补发", mechanism="社保卡年检到期前短信提醒")
    with store.engine.begin() as conn:  # back to the schema before m003
        for table in (
            "citizen_keys",
            "search_terms",
            "case_terms",
            "reply_templates",
            "mechanism_cases",
            "mechanisms",
        ):
            conn.exec_driver_sql(f"DROP TABLE {table}")
        conn.exec_driver_sql("ALTER TABLE cases DROP COLUMN repeat_of_id")
        conn.exec_driver_sql("DELETE FROM schema_migrations WHERE name = 'm003_knowledge'")
        # ... and before m006: the personal data in clear columns, no store id.
        for column in ("citizen_name", "phone"):
            value = "李海清" if column == "citizen_name" else "13900001111"
            conn.exec_driver_sql(f"ALTER TABLE cases ADD COLUMN {column} VARCHAR DEFAULT '{value}'")
        conn.exec_driver_sql("ALTER TABLE cases ADD COLUMN id_number VARCHAR")
        for column in (
            "citizen_enc",
            "citizen_mask",
            "phone_enc",
            "phone_mask",
            "id_enc",
            "id_mask",
        ):
            conn.exec_driver_sql(f"ALTER TABLE cases DROP COLUMN {column}")
        conn.exec_driver_sql("DROP TABLE store_info")
        conn.exec_driver_sql("DELETE FROM schema_migrations WHERE name = 'm006_personal_encrypted'")
        conn.exec_driver_sql("COMMENT ON TABLE schema_migrations IS NULL")  # no stamp
    store.close()
    store = Store(url)  # upgrades
    try:
        with store.session(write=False) as session:
            rows = session.exec(select(Case.number, Case.repeat_of_id).order_by(Case.id)).all()
            assert rows[1][1] is not None and rows[0][1] is None
            assert _numbers(session, similar.search(session, "年检", limit=5)) == [
                rows[1][0],
                rows[0][0],
            ]
            [mechanism] = knowledge.mechanism_rows(session)
            assert mechanism["name"] == "社保卡年检到期前短信提醒"
            assert mechanism["source_cases"] == 1
            assert similar.index_status(session) == {"cases": 2, "indexed": 2}
    finally:
        store.close()
