"""Similar-case lookup: the index of every case's terms, and queries over it.

Two steps, so both backends give the same answers and stay fast on a large store:

1. Retrieval by the database's own full-text index, never by reading every case:
   SQLite's FTS5 or a PostgreSQL GIN index over the case's bigram terms (bigrams.py),
   asking only for the query's most distinctive terms, at most CANDIDATES cases,
   ranked alike on both by the summed IDF weight of the terms a case holds (what
   bigrams.score mostly is).
2. Those few candidates are scored in Python with bigrams.score (0..1, shown as a
   percentage), the same on both backends, and ordered by it.

Why not pg_trgm on PostgreSQL: it cannot index strings shorter than three characters
(a query for 社保 becomes a full scan), and it extracts trigrams only from characters
the database's locale calls letters, which for the C locale excludes every Han
character. A GIN index over the same bigram terms as SQLite needs no extension and
no particular locale.

The index (schema/index.py) is kept up to date as cases are registered and closed;
`bbc reindex` (rebuild) makes it afresh, e.g. after cases were imported by other means.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, func, text
from sqlmodel import Session, select

from banbucheng.core import bigrams
from banbucheng.schema.index import Weights, case_text_terms, is_postgres
from banbucheng.schema.models import Case, CaseTerms

# Read through the plain tables, not the mapped classes: a statement over a class's
# attributes is compiled through the ORM, about half as much work again (`register`
# looks up its similar cases in every run).
CASES = Case.__table__  # type: ignore[attr-defined]
TERMS = CaseTerms.__table__  # type: ignore[attr-defined]

CANDIDATES = 60  # cases retrieved from the index for scoring
# The most postings one retrieval reads (sum of the terms' df; the three rarest terms
# are read whatever they cost). The terms left out are the query's most common, worth
# least: at 10^5 cases 5,000 found the same best cases as 10,000, a little fewer than
# 20,000, in about half the time (benchmarks/bench_similar.py).
RETRIEVAL_BUDGET = 5_000
# Ranking weights are sent as integers (IDF × WEIGHT_SCALE), so a case's sum is exact
# and the same on both backends, whatever order each adds its terms in: equal sums
# stay equal and fall to the newer case on both.
WEIGHT_SCALE = 1000
MAX_RETRIEVAL_TERMS = 32
SUGGEST_MIN = 0.3  # similarity from which a case is suggested at registration


# ---------------------------------------------------------------- terms of a case


def index_status(session: Session) -> dict[str, int]:
    """Cases and indexed cases (equal when the index is complete), for checks."""
    cases = session.execute(select(func.count()).select_from(CASES)).scalar_one()
    indexed = session.execute(select(func.count()).select_from(TERMS)).scalar_one()
    return {"cases": cases, "indexed": indexed}


# ---------------------------------------------------------------- lookup


@dataclass(frozen=True)
class Hit:
    case_id: int
    score: float  # 0..1


def _retrieval_terms(present: Sequence[str], df: dict[str, int]) -> list[str]:
    """The query's most distinctive terms, rarest first, within the retrieval budget
    (a term most cases share adds little but costs much)."""
    chosen: list[str] = []
    spent = 0
    for t in sorted(present, key=lambda t: (df[t], t)):
        if len(chosen) >= MAX_RETRIEVAL_TERMS:
            break
        if chosen and len(chosen) >= 3 and spent + df[t] > RETRIEVAL_BUDGET:
            break
        chosen.append(t)
        spent += df[t]
    return chosen


def newest_first(terms: Sequence[str], prefix: bool) -> bool:
    """One term (or a prefix): every match is as good as another, the newest first."""
    return prefix or len(terms) == 1


def _fts_query(terms: Sequence[str], *, prefix: bool) -> str:
    # Terms hold only Han characters, a-z and 0-9 (bigrams.terms), so quoting is safe.
    return " OR ".join(f'"{t}"' + ("*" if prefix else "") for t in terms)


def _ts_query(terms: Sequence[str], *, prefix: bool) -> str:
    return " | ".join(f"'{t}'" + (":*" if prefix else "") for t in terms)


_PG_VECTOR = "array_to_tsvector(string_to_array(btrim(main || ' ' || extra), ' '))"


def _retrieve(
    session: Session,
    terms: Sequence[str],
    weights: dict[str, float],
    *,
    exclude: Sequence[int],
    limit: int,
    prefix: bool = False,
) -> list[int]:
    """Up to `limit` case ids matching any of `terms`, from the full-text index. With
    one term (or a prefix), every match is as good as another: the newest come first,
    which both backends read straight from the index. Otherwise both rank by the
    summed IDF weight of the terms a case holds, the newer case first among equals."""
    params: dict[str, Any] = {"limit": limit}
    newest = newest_first(terms, prefix)
    if not newest:
        for i, t in enumerate(terms):
            params[f"w{i}"] = round(weights[t] * WEIGHT_SCALE)
    not_in = ""
    if exclude:
        not_in = " AND {col} NOT IN :exclude"
        params["exclude"] = list(exclude)
    if is_postgres(session):
        params["q"] = _ts_query(terms, prefix=prefix)
        match = f"{_PG_VECTOR} @@ CAST(:q AS tsquery)" + not_in.format(col="case_id")
        if newest:
            sql = f"SELECT case_id FROM case_terms WHERE {match} ORDER BY case_id DESC LIMIT :limit"
        else:
            parts = []
            for i, t in enumerate(terms):
                params[f"t{i}"] = f" {t} "
                parts.append(f"CASE WHEN strpos(s, :t{i}) > 0 THEN :w{i} ELSE 0 END")
            # The matches come from the GIN index (the WHERE is its expression). They
            # are scored by finding each term, space-delimited, in the case's terms: the
            # same test as the vector's (terms are single words of Han, a-z and 0-9),
            # without building a vector per match, which cost ~30 µs each.
            sql = (
                "WITH m AS MATERIALIZED (SELECT case_id, ' ' || main || ' ' || extra || ' '"
                f" AS s FROM case_terms WHERE {match}) SELECT case_id FROM m"
                f" ORDER BY {' + '.join(parts)} DESC, case_id DESC LIMIT :limit"
            )
    elif newest:
        params["q"] = _fts_query(terms, prefix=prefix)
        sql = (
            "SELECT rowid FROM case_terms_fts WHERE case_terms_fts MATCH :q"
            + not_in.format(col="rowid")
            + " ORDER BY rowid DESC LIMIT :limit"
        )
    else:
        # Each term's matches read from the index on their own, with the term's weight,
        # and summed per case. bm25 over an OR of the terms scored every match by term
        # frequency and length, which bigrams.score ignores: it cost about 1.6 times as much
        # and missed more of the cases that score best (benchmarks/bench_similar.py).
        parts = []
        for i, t in enumerate(terms):
            params[f"t{i}"] = _fts_query([t], prefix=False)
            parts.append(
                f"SELECT rowid AS id, :w{i} AS w"
                f" FROM case_terms_fts WHERE case_terms_fts MATCH :t{i}"
            )
        sql = (
            f"SELECT id FROM ({' UNION ALL '.join(parts)})"
            + (" WHERE id NOT IN :exclude" if exclude else "")
            + " GROUP BY id ORDER BY sum(w) DESC, id DESC LIMIT :limit"
        )
    stmt = text(sql)
    if exclude:
        stmt = stmt.bindparams(bindparam("exclude", expanding=True))
    if not is_postgres(session):
        return [row[0] for row in session.execute(stmt, params).all()]
    with _gin_only(session):
        return [row[0] for row in session.execute(stmt, params).all()]


# The planner prices the index expression (three cheap-looking functions) at a fraction
# of what building each row's vector costs, so on its own it often prefers reading every
# case (a sequential scan, or the primary key backwards for "newest first"): 2.2 s
# against 63 ms at 10^5 cases. With both off, the GIN index (a bitmap scan) is the only
# way left to the matches, whatever the statistics say or whether the table was ever
# analysed. Set for this one statement, then put back: the transaction goes on.
_GIN_ONLY = ("enable_seqscan", "enable_indexscan")


@contextmanager
def _gin_only(session: Session) -> Iterator[None]:
    conn = session.connection()
    names = {f"n{i}": name for i, name in enumerate(_GIN_ONLY)}
    before = conn.execute(
        text("SELECT " + ", ".join(f"current_setting(:{k})" for k in names)), names
    ).one()
    conn.execute(
        text("SELECT " + ", ".join(f"set_config(:{k}, 'off', true)" for k in names)), names
    )
    yield
    conn.execute(
        text("SELECT " + ", ".join(f"set_config(:{k}, :v{k}, true)" for k in names)),
        {**names, **{f"v{k}": value for k, value in zip(names, before, strict=True)}},
    )


def _docs(session: Session, ids: Sequence[int]) -> dict[int, bigrams.Doc]:
    if not ids:
        return {}
    t = TERMS.c
    rows = session.execute(select(t.case_id, t.main, t.extra).where(t.case_id.in_(ids))).all()
    return {
        i: bigrams.Doc(frozenset(bigrams.split(m)), frozenset(bigrams.split(e))) for i, m, e in rows
    }


def lookup(
    session: Session,
    query_terms: Iterable[str],
    *,
    limit: int = 10,
    exclude: Sequence[int] = (),
    min_score: float = 0.0,
    weights: Weights | None = None,
) -> list[Hit]:
    """The cases most like the query terms, best first (ties: the newer case first)."""
    q = set(query_terms)
    if not q:
        return []
    weights = weights if weights is not None else Weights(session)
    long_terms = {t for t in q if len(t) > 1 or not bigrams.is_han(t)}
    if not long_terms:
        return _lookup_chars(session, sorted(q), limit=limit, exclude=exclude)
    q = long_terms
    weights.load(q)
    present = [t for t in q if weights.df.get(t, 0) > 0]
    if not present:
        return []
    chosen = _retrieval_terms(present, weights.df)
    ids = _retrieve(session, chosen, weights, exclude=exclude, limit=max(CANDIDATES, limit * 3))
    docs = _docs(session, ids)
    weights.load(t for d in docs.values() for t in d.main)
    hits = [Hit(i, bigrams.score(q, d, weights)) for i, d in docs.items()]
    hits = [h for h in hits if h.score > 0 and h.score >= min_score]
    hits.sort(key=lambda h: (-h.score, -h.case_id))
    return hits[:limit]


def _lookup_chars(
    session: Session, chars: Sequence[str], *, limit: int, exclude: Sequence[int]
) -> list[Hit]:
    """A query of single Han characters: prefix matches on the bigrams, each character
    found counting the same."""
    ids = _retrieve(session, chars, {}, exclude=exclude, limit=limit, prefix=True)
    docs = _docs(session, ids)
    hits = []
    for i in ids:
        doc = docs.get(i)
        if doc is None:
            continue
        found = sum(1 for ch in chars if any(ch in t for t in doc.main | doc.extra))
        hits.append(Hit(i, found / len(chars)))
    hits.sort(key=lambda h: -h.score)  # stable: the index's order among equals
    return hits


def search(session: Session, query: str, *, limit: int = 10) -> list[Hit]:
    """Cases matching what the user typed, as typed (full-width, variants, spaces)."""
    return lookup(session, bigrams.terms(query[: bigrams.MAX_QUERY_CHARS]), limit=limit)


def case_terms(session: Session, case: Case) -> list[str]:
    """The terms a case is looked up by: those of its matter."""
    main = session.execute(select(TERMS.c.main).where(TERMS.c.case_id == case.id)).scalar()
    if main is not None:
        return bigrams.split(main)
    return case_text_terms(case.matter, None, None, None)[0]


def similar_to(
    session: Session,
    case: Case,
    *,
    limit: int = 5,
    earlier_only: bool = False,
    min_score: float = 0.0,
) -> list[Hit]:
    """The cases most like this one (itself excluded); earlier_only: received before it."""
    assert case.id is not None
    hits = lookup(
        session,
        case_terms(session, case),
        limit=max(CANDIDATES, limit) if earlier_only else limit,
        exclude=[case.id],
        min_score=min_score,
    )
    if earlier_only and hits:
        c = CASES.c
        received = dict(
            session.execute(
                select(c.id, c.received_at).where(c.id.in_([h.case_id for h in hits]))
            ).all()
        )
        hits = [
            h
            for h in hits
            if (received[h.case_id], h.case_id) < (case.received_at, case.id)  # type: ignore[operator]
        ]
    return hits[:limit]


# ---------------------------------------------------------------- what the window sees


def describe(session: Session, hits: Sequence[Hit]) -> list[dict[str, Any]]:
    """Hits as the JSON contract: the case (no personal data), its similarity and the
    mechanism it came with, with that mechanism's reply templates."""
    from banbucheng.core.labels import STATUS_LABELS
    from banbucheng.domain.views import iso, links_for

    if not hits:
        return []
    ids = [h.case_id for h in hits]
    c = CASES.c
    shown = (c.id, c.number, c.status, c.category, c.matter, c.department, c.received_at)
    more = (c.closed_at, c.outcome, c.result, c.repeat_of_id)
    cases = {r.id: r for r in session.execute(select(*shown, *more).where(c.id.in_(ids))).all()}
    links = links_for(session, ids)
    templates = templates_for(session, sorted({m["id"] for m in links.values()}))
    numbers: dict[int, str] = {}
    earlier = {r.repeat_of_id for r in cases.values() if r.repeat_of_id}
    if earlier:
        numbers = dict(session.execute(select(c.id, c.number).where(c.id.in_(earlier))).all())
    out = []
    for hit in hits:
        case = cases.get(hit.case_id)
        if case is None:  # indexed, but its case is gone (deleted behind the tool's back)
            continue
        mechanism = links.get(hit.case_id)
        if mechanism is not None:
            mechanism = dict(mechanism)
            mechanism["templates"] = [
                {"id": t["id"], "name": t["name"]}
                for t in templates
                if t["mechanism_id"] == mechanism["id"]
            ]
        out.append(
            {
                "number": case.number,
                "similarity": round(hit.score, 3),
                "status": case.status,
                "status_label": STATUS_LABELS[case.status],
                "category": case.category,
                "matter": case.matter,
                "department": case.department,
                "received_at": iso(case.received_at),
                "closed_at": iso(case.closed_at),
                "outcome": case.outcome,
                "result": case.result,
                "mechanism": mechanism,
                "repeat_of": numbers.get(case.repeat_of_id) if case.repeat_of_id else None,
            }
        )
    return out


def suggestions(session: Session, case: Case, *, limit: int = 3) -> list[dict[str, Any]]:
    """At registration: the earlier cases most like the new one (similarity at least
    SUGGEST_MIN), each with the mechanism that covers it, if any."""
    hits = similar_to(session, case, limit=limit, earlier_only=True, min_score=SUGGEST_MIN)
    return describe(session, hits)


def templates_for(session: Session, mechanism_ids: Sequence[int]) -> list[dict[str, Any]]:
    """The reply templates of these mechanisms, read through a plain table (no mapped
    class to define in `register`, which shows them beside its similar cases)."""
    from banbucheng.schema.models import REPLY_TEMPLATES as t

    if not mechanism_ids:
        return []
    stmt = select(t.c.id, t.c.name, t.c.mechanism_id).where(t.c.mechanism_id.in_(mechanism_ids))
    return [
        {"id": i, "name": name, "mechanism_id": m}
        for i, name, m in session.exec(stmt.order_by(t.c.id)).all()
    ]
