"""Pass 3 of `verify` (trust/integrity.py): the case rows, streamed once in order of id.

Each row is checked against the digest of its state its last event recorded
(schema/sealed.py) and, with the store's keys, its personal data (trust/personal.py),
which the digest does not cover. Only a row that disagrees has its events replayed,
to name the fields.

The row's canonical form is made in SQL (on SQLite by json_array: _state_json; on
PostgreSQL by to_json of each value, joined: _state_json_pg), so Python only hashes
it; a row whose digest then differs is read again by its columns and checked the
careful way (_check_row), which decides.

The same query also checks each case's anchor (pass 2, case_chain: its number, count
of events, last event and its hash) through the (case_id, seq) index it already reads
the last event by: on SQLite a correlated count, on PostgreSQL the counts grouped from
that index and merged in, either way cheaper than pass 2's own walk of the index
(measured on 10^5 cases, passes 2 and 3 together: about 0.3 s of CPU less on SQLite,
0.3 to 0.45 s of the server's on PostgreSQL). Only a flag comes back; a case it
marks is read again by pass 2's own query (anchor_query), which names what differs,
so the findings are pass 2's. The rare kinds, a case_chain row whose case is gone and
a case without one, stay anti-joins of their own (integrity._check_anchors).
"""

from __future__ import annotations

import hashlib
from operator import methodcaller
from typing import Any

from banbucheng.schema import sealed
from banbucheng.trust.findings import Problem, Problems, Report, _shown
from banbucheng.trust.walk import as_text

FUSED = True  # pass 2's per-case checks made in pass 3's query (False: pass 2 apart)
FAST = True  # the rows' JSON made in SQL (False: every row the careful way)
# On PostgreSQL the JSON moves the work from verify's processes to the server's (about
# 13 µs a case less here, as much more there): a gain where the server has cores of
# its own, none when both share two (benchmarks/bench_verify.py --postgres).
FAST_POSTGRES = True
# Not kept: the digest checked in the server too (sha256 of this JSON and the recorded
# digest cut from the detail in SQL, only a flag back): per 10^5 cases 0.3 s less of
# verify's CPU and 0.6 s more of the server's, which shares the machine's two cores.
_NONE: frozenset[str] = frozenset()
_WIDTH = len(sealed.COLUMNS)
_STATE = 3  # where a row's state begins: after id, number and the anchor flag
_hexdigest = methodcaller("hexdigest")


def check_cases(
    sql: Any,  # integrity._Sql
    report: Report,
    keyring: Any,
    personal: Problems,
    ids: tuple[int, int | None] | None = None,
    anchors: Anchored | None = None,
) -> None:
    """Pass 3 over the cases with ids in `ids` ([low, high], None: unbounded), or all:
    problems with a row go to the report, with the personal data to `personal`
    (reported after the rest, as they always were). The personal fields are not in
    the digest (sealed.py), so their tokens must still be opened: AES-GCM is what
    binds them to the case and the field. With `anchors` (and FUSED) the cases'
    anchors are checked too, their findings kept there by case id (integrity.py puts
    them in pass 2's place)."""
    checker = None
    if keyring is not None:
        from banbucheng.trust.personal import Checker

        checker = Checker(keyring)
    low, high = ids if ids is not None else (None, None)
    fused = anchors if FUSED else None
    if FAST and (FAST_POSTGRES or not sql.postgres):
        finished, low = _fast(sql, report, checker, personal, low, high, fused)
        if finished:
            return
    query, params = _query(sql, checker is not None, False, fused is not None, low, high)
    with sql.lenient_text():
        for rows in sql.batches(query, params):
            found = checker.by_case(_keys(sql, checker, rows)) if checker else {}
            out: list[tuple[str, str]] = []
            for row in rows:
                if row[2] and fused is not None:
                    _anchor(sql, fused, row[0])
                _check_row(sql, report, row, checker, found, out)
            _personal(personal, out)


def _fast(
    sql: Any,
    report: Report,
    checker: Any,
    personal: Problems,
    low: Any,
    high: Any,
    anchors: Anchored | None,
) -> tuple[bool, Any]:
    """Pass 3 with the row's JSON made in SQL. Returns (True, _) when done; (False,
    the id to go on from) when the query stopped on a value SQLite's json_array
    refuses (a BLOB written behind the tool's back): the careful way goes on there.
    (PostgreSQL's columns are typed: nothing there stops to_json.)"""
    import sqlite3

    query, params = _query(sql, checker is not None, True, anchors is not None, low, high)
    careful = _query(sql, False, False, False, None, None)[0].replace(
        " ORDER BY c.id", f" WHERE c.id = {sql.mark}"
    )
    recorded, cut = sealed.recorded_digest, sealed.DIGEST_CHARS
    out: list[tuple[str, str]] = []
    try:
        for rows in sql.batches(query, params):
            found = _keys(sql, checker, rows)
            helpers = _helpers(sql, rows)
            states = [_state(row[3], helpers.get(row[0], b"[]"), row[4]) for row in rows]
            digests = list(map(_hexdigest, map(hashlib.sha256, states)))
            for row, digest in zip(rows, digests, strict=True):
                if row[2] and anchors is not None:
                    _anchor(sql, anchors, row[0])
                last = row[5]
                if last is not None and digest[:cut] != recorded(last):
                    again = sql.one(careful, (row[0],))  # named the careful way
                    _check_row(sql, report, again, None, {}, out)
                low = row[0] + 1
            if checker is not None:
                checker.many(rows, 6, found, out)
            _personal(personal, out)
            out = []
    except sqlite3.OperationalError:
        _personal(personal, out)  # the cases checked before it
        return False, low
    return True, None


# The repeated case's number, looked up by its id (few cases have one): as a join,
# PostgreSQL hashed the whole cases table for it and then sorted the rows again by id,
# 1.3 s of 6.6 for 200,000 cases at 10^6.
_REPEAT_OF = "(SELECT {} FROM cases r WHERE r.id = c.repeat_of_id)"
_REPEAT = _REPEAT_OF.format("r.number")


def _query(
    sql: Any, private: bool, fast: bool, fused: bool, low: Any, high: Any
) -> tuple[str, tuple[Any, ...]]:
    """Pass 3's query over the cases with ids in [low, high] (None: unbounded), in
    order of id, and its parameters: id, number, the anchor flag (`fused`: true when
    pass 2's query would report the case, else NULL or false), the sealed state (when
    `fast` its JSON to the lead unit and the repeated case's number in JSON, else its
    columns, lead unit, helpers and repeated case), the last event's detail, and the
    personal fields when they are checked."""
    from banbucheng.schema.personal import FIELDS

    if fast:
        state = _state_json_pg() if sql.postgres else _state_json(sql.jsonb)
    else:
        columns = ", ".join(sql.sealed(f"c.{name}", kind) for name, kind in sealed.COLUMNS)
        state = (
            f"{columns}, u.name, (SELECT {sql.names('h2.name')} FROM case_helpers h "
            f"JOIN units h2 ON h2.id = h.unit_id WHERE h.case_id = c.id), {_REPEAT}"
        )
    tokens = "".join(f", c.{enc}, c.{mask}" for enc, mask, _ in FIELDS.values())
    where, params = _ids(sql.mark, low, high)
    mine = "x.case_id IS NOT NULL AND x.seq IS NOT NULL"
    if sql.postgres:  # the one event by the index, read once for its detail and hash
        last = (
            "LEFT JOIN LATERAL (SELECT e.detail, e.seq, e.hash FROM events e "
            "WHERE e.case_id = c.id AND e.seq IS NOT NULL ORDER BY e.seq DESC LIMIT 1) l ON true"
        )
    else:  # no LATERAL: the last event's rowid from the index, then the event by it
        last = (
            "LEFT JOIN events l ON l.id = (SELECT e.id FROM events e WHERE e.case_id = c.id "
            "AND e.seq IS NOT NULL ORDER BY e.seq DESC LIMIT 1)"
        )
    flag, anchor = "NULL", ""
    if fused:
        # pass 2's WHERE, for the case's own row of case_chain (anchor_query)
        if sql.postgres:  # the counts grouped from the index, merged in by case id
            bounds, more = _ids(sql.mark, low, high)
            bounds = bounds.replace(" WHERE ", " AND ").replace("c.id", "x.case_id")
            anchor = (
                "LEFT JOIN case_chain a ON a.case_id = c.id LEFT JOIN (SELECT x.case_id, "
                f"count(*) AS n FROM events x WHERE {mine}{bounds} GROUP BY x.case_id) n "
                "ON n.case_id = c.id"
            )
            count = "(n.n IS NULL OR n.n <> a.events)"
            params = more + params
        else:  # a count by the index, for each case
            anchor = "LEFT JOIN case_chain a ON a.case_id = c.id"
            count = (
                "(SELECT count(*) = 0 OR count(*) <> a.events FROM events x "
                f"WHERE x.case_id = c.id AND {mine})"
            )
        flag = (
            f"a.case_id IS NOT NULL AND ({count} OR l.seq <> a.last_seq "
            "OR l.hash <> a.last_hash OR c.number <> a.number)"
        )
    query = (
        f"SELECT c.id, c.number, {flag}, {state}, {sql.blob('l.detail')}"
        f"{tokens if private else ''} "
        "FROM cases c LEFT JOIN units u ON u.id = c.unit_id "
        f"{last} {anchor}{where} ORDER BY c.id"
    )
    return query, params


# What stops json_array on a value of a row (rows._fast goes on the careful way there):
# an error SQLite raises whatever its version.
_REFUSE = "abs(-9223372036854775807 - 1)"


def _state_json(jsonb: bool = False) -> str:
    """SQLite: a case's canonical form as sealed.digest writes it (compact JSON, no
    ASCII escaping), made by json_array: half the cost of reading the columns and
    encoding them in Python. In two parts, the array to the lead unit and the
    repeated case's number, between which _fast puts the helpers (_helpers, _state:
    few cases have any, and a subquery for each case cost a quarter of the query).
    Each value goes in as it is stored (a flag of 0 or 1 as
    false or true), so the text is a faithful JSON of the row, equal to the recorded
    form only when the row's values are the recorded ones; a row of any other form
    (a time written another way, a value of another type) differs, and is checked
    again the careful way, which decides. `jsonb`: the SQLite reading (3.45 and later)
    takes a BLOB that is valid JSONB as JSON (x'00' as null), where the one before
    refused every BLOB: a BLOB is then refused by _REFUSE, as it was."""

    def guarded(value: str) -> str:
        if not jsonb:
            return value
        return f"CASE WHEN typeof({value}) = 'blob' THEN {_REFUSE} ELSE {value} END"

    values = []
    for name, kind in sealed.COLUMNS:
        value = f"c.{name}"
        if kind == "flag":
            # json() of a constant, which SQLite computes once per statement rather than
            # once per row (the case query 9.6 to 9.0 µs a case at 10^5); only the
            # stored value of the ELSE can be a BLOB.
            value = (
                f"CASE WHEN typeof({value}) = 'integer' AND {value} IN (0, 1) "
                f"THEN CASE {value} WHEN 1 THEN json('true') ELSE json('false') END "
                f"ELSE {guarded(value)} END"
            )
        else:
            value = guarded(value)
        values.append(value)
    return (
        f"CAST(json_array('{sealed.FORMAT}', {', '.join(values)}, {guarded('u.name')}) AS BLOB), "
        f"CAST(json_quote({_REPEAT_OF.format(guarded('r.number'))}) AS BLOB)"
    )


def _state_json_pg() -> str:
    """PostgreSQL: a case's canonical form as sealed.digest writes it (compact JSON, no
    ASCII escaping), the values joined by commas (json_build_array would put a space
    after each). A text by to_json, which escapes as Python's json does with
    ensure_ascii=False (quotes, backslashes, \\b \\f \\n \\r \\t, other control
    characters as lowercase \\u00xx); a number in its text form and a flag as true or
    false, as to_json writes them; times and dates by to_char as _Sql.sealed reads
    them (digits, dashes, colons, a point and a space: nothing to escape), which the
    careful way takes as they are when they have the canonical length; in two parts,
    as _state_json (the helpers put in by _fast). Cheaper per value than
    to_json, which looks its type up each time. A row whose text matches its recorded
    digest is then one whose careful form matches it too; any other goes the careful
    way (tests/trust/test_trust_postgres.py shows the texts equal for every kind)."""
    values = [f"'\"{sealed.FORMAT}\"'"]
    for name, kind in sealed.COLUMNS:
        value = f"c.{name}"
        if kind in ("time", "date"):
            shape = "YYYY-MM-DD HH24:MI:SS.US" if kind == "time" else "YYYY-MM-DD"
            value = f"coalesce('\"' || to_char({value}, '{shape}') || '\"', 'null')"
        elif kind == "int":
            value = f"coalesce({value}::text, 'null')"
        elif kind == "flag":
            value = f"CASE WHEN {value} THEN 'true' WHEN NOT {value} THEN 'false' ELSE 'null' END"
        else:
            value = f"coalesce(to_json({value})::text, 'null')"
        values.append(value)
    values.append("coalesce(to_json(u.name)::text, 'null')")
    return (
        f"convert_to('[' || concat_ws(',', {', '.join(values)}) || ']', 'UTF8'), "
        f"convert_to(coalesce(to_json({_REPEAT})::text, 'null'), 'UTF8')"
    )


def _ids(mark: str, low: Any, high: Any) -> tuple[str, tuple[int, ...]]:
    """The WHERE clause for the cases with ids in [low, high] (None: unbounded)."""
    where, params = [], []
    if low is not None:
        where.append(f"c.id >= {mark}")
        params.append(low)
    if high is not None:
        where.append(f"c.id <= {mark}")
        params.append(high)
    return (" WHERE " + " AND ".join(where) if where else ""), tuple(params)


def _keys(sql: Any, checker: Any, rows: list[Any]) -> set[tuple[int, str]]:
    """The citizens' keys of a batch's cases, as (case id, key) pairs (none without
    the keyring)."""
    if checker is None or not rows:
        return set()
    m = sql.mark
    keys = f"SELECT case_id, key FROM citizen_keys WHERE case_id BETWEEN {m} AND {m}"
    return set(map(tuple, sql.all(keys, (rows[0][0], rows[-1][0]))))


def _state(head: Any, helpers: bytes, repeat: Any) -> bytes:
    """A row's canonical form from its parts (_state_json, _helpers), as sealed.digest
    writes it: b"" when a part is not what SQL makes (it then goes the careful way)."""
    if type(head) is not bytes or type(repeat) is not bytes:
        return b""
    return head[:-1] + b"," + helpers + b"," + repeat + b"]"


def _helpers(sql: Any, rows: list[Any]) -> dict[int, bytes]:
    """The helper units of a batch's cases, by case id, as the JSON sealed.digest
    writes for them (sealed.canonical's order); a case without any is absent."""
    m = sql.mark
    query = (
        "SELECT h.case_id, h2.name FROM case_helpers h JOIN units h2 ON h2.id = h.unit_id "
        f"WHERE h.case_id BETWEEN {m} AND {m}"
    )
    names: dict[int, list[Any]] = {}
    if rows:
        for case_id, name in sql.all(query, (rows[0][0], rows[-1][0])):
            names.setdefault(case_id, []).append(sealed._text(name) or "")
    text = sealed._compact_text
    return {
        case_id: text(sorted(found)).encode("utf-8", "surrogatepass")
        for case_id, found in names.items()
    }


# ---------------------------------------------------------------- the anchors (pass 2)


class Anchored(Problems):
    """Anchor findings as (case id, problem), in the order found (of id), capped as
    Problems is (what merge needs to give the first ones of several shares in order
    of id)."""

    def add(self, case_id: int, problem: Problem) -> None:
        self.append((case_id, problem))  # type: ignore[arg-type]


def merge(problems: Problems, shares: list[Anchored]) -> None:
    """The shares' findings into `problems` in order of case id, as one query would
    have given them (each share in that order already)."""
    import heapq

    for _, problem in heapq.merge(*shares, key=lambda f: f[0]):
        problems.append(problem)
    problems.more += sum(share.more for share in shares)


def anchor_query(where: str = "") -> str:
    """Pass 2's query: each case's count of events and its last one against its row of
    case_chain (`where`: more conditions on `a`, a case's own row)."""
    group = where.replace("a.case_id", "case_id")  # one case: its events only, by the index
    return (
        "SELECT a.case_id, a.number, a.events, a.last_seq, a.last_hash, x.n, x.last, e.hash, "
        "c.id, c.number FROM case_chain a "
        "LEFT JOIN (SELECT case_id, count(*) AS n, max(seq) AS last FROM events "
        f"WHERE case_id IS NOT NULL AND seq IS NOT NULL{group} GROUP BY case_id) x "
        "ON x.case_id = a.case_id "
        "LEFT JOIN events e ON e.seq = x.last "
        "LEFT JOIN cases c ON c.id = a.case_id "
        "WHERE (c.id IS NULL OR x.n IS NULL OR x.n <> a.events OR x.last <> a.last_seq "
        f"OR e.hash <> a.last_hash OR c.number <> a.number){where} ORDER BY a.case_id"
    )


def anchor_problem(row: Any) -> Problem:
    """What a row of anchor_query means."""
    _, number, events, _last, _hash, have, _, _, case_id, current = row
    have = have or 0
    if case_id is None:
        message, where = f"案件已被删除（原有 {events} 条事件）", number
    elif have < events:
        message, where = (
            f"应有 {events} 条事件，现有 {have} 条：{events - have} 条被删除",
            number,
        )
    elif have > events:
        message, where = (
            f"应有 {events} 条事件，现有 {have} 条：{have - events} 条是插入的",
            number,
        )
    elif current != number:
        message, where = f"案件编号被改动（原为 {number}）", current
    else:
        message, where = "最后一条事件与记录不符：被替换", number
    kind = "case_deleted" if case_id is None else ("edited" if have == events else (
        "deleted" if have < events else "inserted"))  # fmt: skip
    return Problem(kind, message, case=as_text(where))


def _anchor(sql: Any, anchors: Anchored, case_id: int) -> None:
    """A case the fused flag marks: read again by pass 2's own query, which decides
    and names it."""
    for row in sql.all(anchor_query(f" AND a.case_id = {sql.mark}"), (case_id, case_id)):
        anchors.add(row[0], anchor_problem(row))


def _personal(personal: Problems, found: list[tuple[str, str]]) -> None:
    for number, text in found:
        personal.append(Problem("personal", text, case=number))


def _check_row(
    sql: Any, report: Report, row: Any, checker: Any, found: dict[int, set[str]], out: list
) -> None:
    """One case read by its columns: its digest and, with a checker, its personal data."""
    if row is None:
        return  # gone since (another transaction): the chain's checks report it
    tail = _STATE + 3 + _WIDTH  # the last event's detail
    last = row[tail]
    values = row[_STATE : _STATE + _WIDTH]
    if last is not None:  # no event at all: reported as not in the chain
        unit, names, repeat = row[_STATE + _WIDTH : tail]
        helpers = names.split("\x1f") if isinstance(names, str) and names else ()
        state = sealed.canonical(values, unit, helpers, repeat)
        if sealed.recorded_digest(last) != sealed.digest(state):
            _name_fields(sql, report, row, values)
    if checker is not None:
        checker.case(row[1], row[tail + 1 :], found.get(row[0], _NONE), out)


def _name_fields(sql: Any, report: Report, row: Any, values: Any) -> None:
    """A row whose digest differs: its events replayed, to name the fields."""
    from banbucheng.core.labels import FIELD_LABELS

    unit, names, repeat = row[_STATE + _WIDTH : _STATE + 3 + _WIDTH]
    helpers = names.split("\x1f") if isinstance(names, str) and names else []
    shown = sealed.shown_state(values, unit, helpers, repeat)
    recorded = sealed.replay(sealed.case_events(sql.conn, row[0]))
    fields = sealed.differences(recorded, shown)
    if not fields:
        report.problems.append(
            Problem(
                "state",
                "案件记录与事件链封存的状态不符（无法确定是哪一项）：案件记录被直接修改",
                case=as_text(row[1]),
            )
        )
    for key in fields:
        label = FIELD_LABELS.get(key, key)
        report.problems.append(
            Problem(
                "state",
                f"「{label}」为 {_shown(shown.get(key))}，时间线记录为 "
                f"{_shown(recorded.get(key))}：案件记录被直接修改",
                case=as_text(row[1]),
            )
        )
