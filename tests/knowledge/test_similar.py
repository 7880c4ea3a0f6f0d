"""Similar-case lookup: Chinese as people type it, on a realistic store of 100+ cases."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import casegen
import pytest
from cases import HUO_CITIZEN, HUO_MATTER
from sqlalchemy import event
from sqlmodel import select

from banbucheng.core import bigrams
from banbucheng.core.timeutil import BEIJING
from banbucheng.knowledge import similar
from banbucheng.schema.index import Weights
from banbucheng.schema.models import Case, CaseTerms, CitizenKey, Setting
from banbucheng.store import Store

AS_OF = datetime(2021, 7, 1, 9, 0, tzinfo=BEIJING)


@pytest.fixture(scope="module")
def fixture_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, dict]]:
    path = tmp_path_factory.mktemp("fixture") / "fixture.sqlite3"
    store, numbers = casegen.build(f"sqlite:///{path}")
    try:
        yield store, numbers
    finally:
        store.close()


@pytest.fixture
def reader(fixture_store: tuple[Store, dict]) -> Iterator[Any]:
    store, _ = fixture_store
    with store.context(actor="t", now=AS_OF, write=False) as ctx:
        yield ctx


def _classes(fixture_store: tuple[Store, dict]) -> dict[str, str]:
    """case number → class of matter"""
    _, numbers = fixture_store
    return {numbers[s.key]: s.cls for s in casegen.cases()}


def _numbers(ctx: Any, hits: list[similar.Hit]) -> list[str]:
    ids = [h.case_id for h in hits]
    found = dict(ctx.session.exec(select(Case.id, Case.number).where(Case.id.in_(ids))).all())
    return [found[i] for i in ids]


# ---------------------------------------------------------------- terms


def test_terms_are_bigrams_of_what_people_type() -> None:
    assert bigrams.terms("社保卡自2016年起未年检") == [
        "社保",
        "保卡",
        "卡自",
        "2016",
        "年起",
        "起未",
        "未年",
        "年检",
    ]
    assert bigrams.terms("社保") == ["社保"]
    assert bigrams.terms("证") == ["证"]  # a lone character stays itself
    # Full-width letters and digits, upper case, spaces and punctuation.
    assert bigrams.terms("ＧＳＰ认证　２０２１年") == ["gsp", "认证", "2021", "年"]
    # Equivalent words are folded on both sides.
    assert bigrams.terms("社会保障卡年审") == bigrams.terms("社保卡年检")
    assert set(bigrams.terms("营业执照名字不一样")) >= {"名称", "不一", "一致"}


def test_normalize_is_nfkc_whatever_follows_the_full_width_punctuation() -> None:
    """normalize() replaces the commonest full-width punctuation before NFKC (a shortcut):
    the text must come out as NFKC alone makes it, also where a combining mark, a
    half-width voicing mark or another compatibility character follows."""
    import random
    import unicodedata

    marks = ["\u0301", "\u0308", "\u3099", "\uff9e", "ｶ", "①", "㍻", "ﬁ", "Ａ", "\u3000"]
    pool = [*"，（）：；？！社会保障卡年审名字a1 ", *marks, chr(0x20000)]
    rng = random.Random(7)
    for _ in range(3000):
        text = "".join(rng.choice(pool) for _ in range(rng.randrange(1, 10)))
        nfkc = unicodedata.normalize("NFKC", text).lower()
        assert bigrams.normalize(text, fold=False) == nfkc, repr(text)


def test_personal_numbers_never_reach_the_index() -> None:
    text = "本人电话13712341111，身份证33010219800101002X，要求补发"
    terms = bigrams.terms(text)
    assert not [t for t in terms if any(ch.isdigit() for ch in t)]
    assert "补发" in terms


def test_scores_prefer_the_distinctive_words() -> None:
    weight = {"年检": 6.0, "社保": 5.0, "办理": 0.5, "窗口": 0.5}
    query = ["社保", "年检", "办理"]
    right = bigrams.Doc(frozenset({"社保", "年检", "窗口"}), frozenset())
    generic = bigrams.Doc(frozenset({"办理", "窗口"}), frozenset())
    assert bigrams.score(query, right, weight) > 0.9
    assert bigrams.score(query, generic, weight) < 0.1
    assert bigrams.score([], right, weight) == 0.0
    assert bigrams.resemblance(["社保"], ["社保"], weight) == 1.0
    assert bigrams.weight("上的", 1, 100) < bigrams.weight("地址", 2, 100)  # 的: a function char


# ---------------------------------------------------------------- lookup on the fixture


def test_fixture_is_realistic_and_large_enough(fixture_store: tuple[Store, dict]) -> None:
    specs = casegen.cases()
    assert len(specs) >= 100
    assert len({s.cls for s in specs}) >= 30
    _, numbers = fixture_store
    assert numbers["huo"] == "BB20210401-001"  # SPEC.md's dates
    assert numbers["li"].startswith("BB20210406-")


@pytest.mark.parametrize(("query", "cls"), casegen.QUERIES)
def test_queries_worded_differently_find_the_right_case_first(
    fixture_store: tuple[Store, dict], reader: Any, query: str, cls: str
) -> None:
    classes = _classes(fixture_store)
    hits = similar.search(reader.session, query, limit=3)
    assert hits, query
    assert classes[_numbers(reader, hits)[0]] == cls
    assert 0 < hits[-1].score <= hits[0].score <= 1


@pytest.mark.parametrize("word", casegen.TWO_CHAR)
def test_two_character_words_find_every_case_that_has_them(reader: Any, word: str) -> None:
    rows = reader.session.exec(
        select(Case.number, Case.matter, Case.department, Case.result, Case.mechanism)
    ).all()
    expected = {
        number
        for number, *texts in rows
        if word in bigrams.normalize(" ".join(t for t in texts if t))
    }
    assert expected  # the fixture has each of these words
    found = _numbers(reader, similar.search(reader.session, word, limit=100))
    assert set(found) == expected


def test_a_single_character_query_matches_by_prefix(reader: Any) -> None:
    hits = similar.search(reader.session, "证", limit=20)
    assert len(hits) == 20
    matters = reader.session.exec(
        select(Case.matter).where(Case.id.in_([h.case_id for h in hits]))
    ).all()
    assert all("证" in m for m in matters)


def test_nothing_matches_text_no_case_has(reader: Any) -> None:
    assert similar.search(reader.session, "火星移民签证", limit=5) == []
    assert similar.search(reader.session, "，。！", limit=5) == []


def test_similar_to_ms_huo_are_her_class(fixture_store: tuple[Store, dict], reader: Any) -> None:
    _, numbers = fixture_store
    classes = _classes(fixture_store)
    huo = reader.session.exec(select(Case).where(Case.number == numbers["huo"])).one()
    hits = similar.similar_to(reader.session, huo, limit=4)
    assert [classes[n] for n in _numbers(reader, hits)] == ["clinic_names"] * 4
    assert huo.id not in [h.case_id for h in hits]
    # At registration only earlier cases are suggested: she was the first of her class.
    assert similar.similar_to(reader.session, huo, earlier_only=True, min_score=0.3) == []
    later = reader.session.exec(select(Case).where(Case.number == numbers["clinic_names1"])).one()
    described = similar.suggestions(reader.session, later)
    assert described[0]["number"] == numbers["huo"]
    assert described[0]["mechanism"]["name"] == casegen.HUO_MECHANISM
    assert described[0]["mechanism"]["role"] == "source"
    assert "phone" not in described[0] and "citizen" not in described[0]


def test_retrieval_uses_the_full_text_index(reader: Any) -> None:
    """Every kind of retrieval (ranked, one term, single characters, excluding a case)
    reads the FTS5 index, never the whole table."""
    statements: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "case_terms_fts" in statement and "EXPLAIN" not in statement:
            statements.append((statement, parameters))

    conn = reader.session.connection()
    event.listen(conn, "before_cursor_execute", capture)
    try:
        assert similar.search(reader.session, casegen.QUERIES[0][0])
        assert similar.search(reader.session, casegen.TWO_CHAR[0])
        assert similar.search(reader.session, "证")
        case = reader.session.exec(select(Case)).first()
        similar.similar_to(reader.session, case, earlier_only=True)
    finally:
        event.remove(conn, "before_cursor_execute", capture)
    assert len(statements) == 4
    for statement, parameters in statements:
        plan = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
        scans = [str(r[-1]) for r in plan if "case_terms" in str(r[-1])]
        assert scans and all("VIRTUAL TABLE INDEX" in s for s in scans), plan


def test_retrieval_ranks_by_the_summed_weight_of_the_terms_a_case_holds(reader: Any) -> None:
    """The candidates are the cases holding the most weight of the query's terms (what
    PostgreSQL ranks by too), the newer first among equals: checked against every case."""
    session = reader.session
    stored = session.exec(select(CaseTerms.case_id, CaseTerms.main, CaseTerms.extra)).all()
    for query, _cls in casegen.QUERIES:
        weights = Weights(session)
        q = set(bigrams.terms(query))
        weights.load(q)
        present = [t for t in q if weights.df.get(t, 0) > 0]
        terms = similar._retrieval_terms(present, weights.df)
        assert len(terms) > 1, query
        got = similar._retrieve(session, terms, weights, exclude=[], limit=10)
        held = {t: round(weights[t] * similar.WEIGHT_SCALE) for t in terms}
        sums = [
            (sum(w for t, w in held.items() if t in set(f"{m} {e}".split())), case_id)
            for case_id, m, e in stored
        ]
        best = sorted(((s, i) for s, i in sums if s > 0), key=lambda x: (-x[0], -x[1]))
        assert got == [i for _, i in best[:10]], query


def test_index_is_complete(reader: Any) -> None:
    status = similar.index_status(reader.session)
    assert status["cases"] == status["indexed"] == len(casegen.cases())


# ---------------------------------------------------------------- through the CLI

HUO = HUO_CITIZEN


def _walkthrough(bbc: Any) -> None:
    bbc(
        "register",
        *HUO,
        "--matter",
        HUO_MATTER,
        "--department",
        "市场监管窗口",
        "--category",
        "应办未办",
        now="2021-04-01 09:30",
    )
    bbc(
        "close",
        "BB20210401-001",
        "--result",
        "中心出具两证属同一诊所的证明",
        "--mechanism",
        "今后同类情况由窗口核实两证后直接出具证明",
        now="2021-04-06 11:00",
    )
    bbc(
        "register",
        "--name",
        "李海清",
        "--phone",
        "13900001111",
        "--matter",
        "社保卡自2016年起未年检，养老金停发四年",
        now="2021-04-06 14:20",
    )


def test_register_suggests_the_earlier_case_and_its_mechanism(bbc: Any) -> None:
    _walkthrough(bbc)
    out = bbc(
        "register",
        "--name",
        "王某",
        "--phone",
        "13812345678",
        "--matter",
        "门诊部的营业执照和执业许可证上名字不一样，医药公司不给配药",
        "--department",
        "市场监管窗口",
        "--category",
        "应办未办",
        now="2021-05-10 10:00",
    )
    assert out.stdout == "BB20210510-001\n"  # stdout stays scriptable
    assert "相似的既往案件" in out.stderr
    assert "BB20210401-001" in out.stderr
    assert "长效机制 #1「今后同类情况由窗口核实两证后直接出具证明」" in out.stderr
    assert "bbc close BB20210510-001 --mechanism 1" in out.stderr
    assert "BB20210406-001" not in out.stderr  # Li's matter is another one
    # JSON: the same, under `similar`.
    data = bbc.json(
        "register",
        "--name",
        "赵某",
        "--phone",
        "13812340000",
        "--matter",
        "诊所两证名称不一致，进不了药",
        now="2021-05-11 10:00",
    )
    assert [s["number"] for s in data["similar"]][:2] == ["BB20210401-001", "BB20210510-001"]
    first = data["similar"][0]
    assert first["mechanism"] == {
        "id": 1,
        "name": "今后同类情况由窗口核实两证后直接出具证明",
        "role": "source",
        "issued": "",
        "decider": "",
        "templates": [],
    }
    assert 0.3 <= first["similarity"] <= 1
    assert first["status"] == "closed" and first["result"] == "中心出具两证属同一诊所的证明"
    assert data["repeat_of"] is None


def test_register_without_similar_cases_says_nothing_more(bbc: Any) -> None:
    _walkthrough(bbc)
    out = bbc(
        "register",
        "--name",
        "钱某",
        "--phone",
        "13812349999",
        "--matter",
        "想咨询出国签证怎么办",
        now="2021-05-12 10:00",
    )
    assert "相似" not in out.stderr
    data = bbc.json("show", "BB20210512-001")
    assert "similar" not in data  # only register reports suggestions


def test_search_command(bbc: Any) -> None:
    _walkthrough(bbc)
    rows = bbc.json("search", "社保")
    assert [r["number"] for r in rows] == ["BB20210406-001"]
    assert set(rows[0]) >= {"number", "similarity", "status", "matter", "mechanism"}
    assert "13900001111" not in json.dumps(rows, ensure_ascii=False)
    rows = bbc.json("search", "两证名字不一样")
    assert rows[0]["number"] == "BB20210401-001"
    assert rows[0]["mechanism"]["id"] == 1
    # The result and the mechanism are searchable too.
    assert bbc.json("search", "出具证明")[0]["number"] == "BB20210401-001"
    table = bbc("search", "年检").stdout
    assert "BB20210406-001" in table and "社保卡" in table
    assert bbc.json("search", "年检", "--limit", "1") == bbc.json("search", "年检")[:1]
    out = bbc("search", "火星")
    assert out.stdout == "" and "没有找到" in out.stderr
    assert "查找内容不能为空" in bbc.refused("search", "  ")


def test_similar_command(bbc: Any) -> None:
    _walkthrough(bbc)
    bbc(
        "register",
        "--name",
        "王某",
        "--phone",
        "13812345678",
        "--matter",
        "诊所两证名称不一致",
        now="2021-05-10 10:00",
    )
    rows = bbc.json("similar", "BB20210510-001")
    assert rows[0]["number"] == "BB20210401-001"
    assert bbc.json("similar", "BB20210401-001")[0]["number"] == "BB20210510-001"
    out = bbc("similar", "BB20210401-001")
    assert "BB20210510-001" in out.stdout and "相似度" in out.stdout
    assert "没有编号为 BB20990101-001 的案件" in bbc.refused("similar", "BB20990101-001")


def test_reindex_gives_the_same_answers(bbc: Any, isolated: Path) -> None:
    _walkthrough(bbc)
    before = bbc.json("search", "名称不一致 社保")
    assert "已重建检索索引：2 件案件" in bbc("reindex").stdout
    assert bbc.json("search", "名称不一致 社保") == before


def test_register_indexes_without_personal_data(bbc: Any, isolated: Path) -> None:
    bbc(
        "register",
        "--name",
        "孙某",
        "--phone",
        "13812345678",
        "--id-number",
        casegen.CITIZEN_ID,
        "--matter",
        "本人电话13812345678，补办结婚证找不到档案",
        now="2021-05-10 10:00",
    )
    store = Store(f"sqlite:///{isolated}")
    with store.session(write=False) as session:
        row = session.exec(select(CaseTerms)).one()
        assert "13812345678" not in row.main + row.extra
        assert "结婚" in row.main.split()
        keys = [k.key for k in session.exec(select(CitizenKey)).all()]
        assert len(keys) == 3  # phone, ID number and name
        assert all(len(k) == 32 and "1381234" not in k for k in keys)
        # The HMAC key is the keyring's, outside the store (core/keyring.py).
        assert session.get(Setting, "secret.citizen_key") is None
    store.close()
    assert "secret" not in bbc("config", "show").stdout


# ---------------------------------------------------------------- upgrading an old store

V010 = Path(__file__).parents[1] / "data" / "store-v0.1.0.sqlite3"


def test_upgrade_indexes_old_cases_and_adopts_their_mechanisms(tmp_path: Path, bbc: Any) -> None:
    path = tmp_path / "old.sqlite3"
    shutil.copy(V010, path)
    db = ["--db", str(path)]
    rows = bbc.json(*db, "search", "社保 年检")
    assert rows[0]["number"] == "BB20210406-001"
    mechanisms = bbc.json(*db, "mechanism", "list")
    assert [(m["id"], m["name"], m["source_cases"]) for m in mechanisms] == [
        (1, "今后同类情况由窗口核实两证后直接出具证明", 1),
        (2, "社保卡年检到期前由社保窗口短信提醒，逾期未检的名单每季度推送乡镇核实", 1),
    ]
    huo = bbc.json(*db, "show", "BB20210401-001")
    assert huo["mechanism_id"] == 1 and huo["mechanism_role"] == "source"
    assert huo["mechanism"] == "今后同类情况由窗口核实两证后直接出具证明"
    assert huo["repeat_of"] is None
    # A new case like Ms Huo's is offered her mechanism.
    out = bbc(
        *db,
        "register",
        "--name",
        "周某",
        "--phone",
        "13812345678",
        "--matter",
        "诊所两证名称不一致",
        now="2027-01-05 10:00",
    )
    assert "长效机制 #1" in out.stderr
