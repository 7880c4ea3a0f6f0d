"""`bbc import` writes in bulk (domain/batch.py, services/bulk.py) through the same
lifecycle functions as typed commands: the store it leaves is row for row, hash for
hash, the store the one-case-at-a-time path leaves (numbers, deadlines, events, the
chain and its anchors, the state digests and MACs, the similar-case index, citizens'
keys, repeats, mechanisms), also when rows the lifecycle refuses are undone in the
middle; but for one thing: a case the import makes is written once, in its final
state, so only its last event records a state digest (the earlier ones' states were
never a stored row), and the chain is compared with the one-by-one store's re-sealed
that way (`as_imported`). Both stores share one keyring (BBC_KEY); the personal
tokens, encrypted with a random nonce each, are compared by what they decrypt to."""

from __future__ import annotations

import csv
import json
import random
import sqlite3
from datetime import datetime
from pathlib import Path

import casegen
import pytest

from banbucheng.core import keyring as keys
from banbucheng.core.errors import BbcError, WrongState
from banbucheng.core.keyring import Keyring
from banbucheng.core.timeutil import BEIJING
from banbucheng.domain import lifecycle
from banbucheng.schema import chain, personal
from banbucheng.store import Store
from banbucheng.trust import importer

NOW = "2024-12-31 18:00"
HEADER = ["姓名", "电话", "身份证号", "反映事项", "受阻部门", "受理时间", "分类", "子类",
          "主办单位", "办结时间", "办理结果", "长效机制", "满意度"]  # fmt: skip
REAL_VISIT = lifecycle.visit
PHONES = ["13900001111", "13700002222", "13812345678"]  # citizens who come back


def register_rows(n: int, seed: int = 7) -> list[list[str]]:
    """n rows as a window's register has them: repeats (the same citizen about the
    same or another matter), mechanisms formed and reused, open and closed cases."""
    rng = random.Random(seed)
    rows = []
    matters = casegen.bulk_matters(n, seed=seed)
    for i, (matter, department, category, subtype) in enumerate(matters):
        day = 1 + i % 27
        received = f"2024-{1 + i % 11:02d}-{day:02d} {8 + i % 9:02d}:{i % 60:02d}"
        closed = rng.random() < 0.7
        phone = rng.choice(PHONES) if rng.random() < 0.3 else f"139{rng.randrange(10**8):08d}"
        if rng.random() < 0.3:  # the same matter again, from a returning citizen
            matter, phone = matters[i // 2][0], PHONES[i % 3]
        rows.append(
            [
                f"群众{i}",
                phone,
                "11010519491231002X" if i % 17 == 0 else "",
                matter,
                department,
                received,
                "应办未办" if category == "unhandled" else "完全不能",
                {"hard": "很难办", "misconduct": "不作为/吃拿卡要"}.get(subtype or "", ""),
                f"单位{i % 5}" if category == "unhandled" else "",
                received[:10] + " 17:00" if closed else "",
                "已办结" if closed else "",
                rng.choice(["窗口核实后直接出具证明", "由中心出具说明", ""]) if closed else "",
                rng.choice(["满意", "非常满意", ""]) if closed else "",
            ]
        )
    return rows


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as out:
        csv.writer(out).writerows([HEADER, *rows])
    return path


def store_keyring(db: Path) -> Keyring:
    con = sqlite3.connect(db)
    try:
        (store_id,) = con.execute("SELECT store_id FROM store_info").fetchone()
    finally:
        con.close()
    ring = keys.load(store_id)
    assert ring is not None
    return ring


def dump(db: Path, ring: Keyring) -> dict[str, list[tuple]]:
    """Every table's rows; a case's personal tokens as what they decrypt to."""
    con = sqlite3.connect(db)
    try:
        tables = [
            r[0]
            for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")
            if not r[0].startswith(("sqlite_", "case_terms_fts", "schema_migrations"))
        ]
        out = {t: con.execute(f'SELECT * FROM "{t}" ORDER BY 1, 2').fetchall() for t in tables}
        names = [d[0] for d in con.execute("SELECT * FROM cases LIMIT 0").description]
    finally:
        con.close()
    number = names.index("number")
    tokens = {names.index(enc): field for field, (enc, _, _) in personal.FIELDS.items()}

    def clear(row: tuple) -> tuple:
        return tuple(
            ring.decrypt(v, personal.aad(row[number], tokens[i])) if i in tokens and v else v
            for i, v in enumerate(row)
        )

    out["cases"] = [clear(row) for row in out["cases"]]
    return out


def one_by_one(db: Path, sheet: Path) -> None:
    """The store as the import wrote it before it wrote in bulk: each row through the
    lifecycle at once (an ORM flush per statement), in a savepoint of its own."""
    store = Store(f"sqlite:///{db}")
    now = datetime(2024, 12, 31, 18, 0, tzinfo=BEIJING)
    table = importer.read_table(sheet)
    with store.context(actor="窗口甲", now=now) as ctx:
        for number, raw in table.rows:
            row, errors = importer.check_row(number, raw, now=now, closing=ctx.policy.closing_time)
            assert row is not None, errors
            savepoint = ctx.session.begin_nested()
            try:
                importer._load(ctx, row, table.source)
            except BbcError:
                savepoint.rollback()
            else:
                savepoint.commit()
    store.close()


def as_imported(store: dict[str, list[tuple]], seal_key: bytes) -> dict[str, list[tuple]]:
    """The one-by-one store as the import writes it: a case's events but its last
    without a state digest, the chain re-sealed from there (chain.digest, the general
    serialisation), with its MACs, anchors and head."""
    out = dict(store)
    numbers = {row[0]: row[1] for row in store["cases"]}  # id, number
    events = sorted(store["events"], key=lambda ev: ev[6])  # by seq
    last = {ev[1]: ev[6] for ev in events if ev[1] is not None}
    prev = events[0][7]
    hashes: dict[int, str] = {}
    resealed = []
    for ev in events:
        id_, case_id, at, actor, action, detail, seq, _, _, mac = ev
        if case_id is not None and last[case_id] != seq:
            fields = json.loads(detail)
            del fields["state"]
            detail = json.dumps(fields, ensure_ascii=False, sort_keys=True)
        number = numbers[case_id] if case_id is not None else ""
        hash_ = chain.digest(seq, number, chain.stored_at(at)[1], actor, action, detail, prev)
        mac = chain.event_mac(seal_key, hash_) if mac else None
        resealed.append((id_, case_id, at, actor, action, detail, seq, prev, hash_, mac))
        hashes[seq], prev = hash_, hash_
    out["events"] = sorted(resealed, key=lambda ev: ev[:2])
    out["case_chain"] = [(*a[:4], hashes[a[3]]) for a in store["case_chain"]]
    out["chain_head"] = [(h[0], h[1], hashes[h[1]]) for h in store["chain_head"]]
    return out


def refuse_some_visits(monkeypatch: pytest.MonkeyPatch) -> None:
    """The lifecycle refuses the visit of every fifth closed case: its row is undone
    after its case, number, unit, index terms, keys and mechanism were made."""
    seen = [0]

    def visit(ctx, case, **kw):
        seen[0] += 1
        if seen[0] % 5 == 0:
            raise WrongState("模拟：不能回访")
        return REAL_VISIT(ctx, case, **kw)

    monkeypatch.setattr(lifecycle, "visit", visit)


@pytest.mark.parametrize(
    ("refusals", "flush_rows"),
    [(False, importer.FLUSH_ROWS), (True, importer.FLUSH_ROWS), (True, 37)],
    ids=["all rows", "rows refused midway", "refusals across many flushes"],
)
def test_bulk_import_leaves_the_store_one_by_one_would(
    bbc, isolated, tmp_path, monkeypatch, refusals, flush_rows
):
    # Several flushes: what the batch keeps from one to the next (term counts written
    # at the last, remembered conversions, the chain's head) must not show.
    monkeypatch.setattr(importer, "FLUSH_ROWS", flush_rows)
    sheet = write_csv(tmp_path / "台账.csv", register_rows(240))
    if refusals:
        refuse_some_visits(monkeypatch)
    out = bbc("import", str(sheet), *(["--skip-bad"] if refusals else []), now=NOW)
    assert ("模拟：不能回访" in out.stderr) == refusals
    ring = store_keyring(isolated)
    bulk = dump(isolated, ring)
    if refusals:
        refuse_some_visits(monkeypatch)  # counting afresh
    monkeypatch.setenv(keys.ENV_KEY, ring.dumps())  # the same store id and keys
    single = tmp_path / "single.sqlite3"
    one_by_one(single, sheet)
    expected = as_imported(dump(single, ring), ring.seal_key)
    assert ring.seal_key and all(event[-1] for event in bulk["events"])  # MACs
    last = {ev[1]: ev[6] for ev in sorted(bulk["events"], key=lambda ev: ev[6]) if ev[1]}
    for ev in bulk["events"]:
        if ev[1]:
            assert ('"state": "' in ev[5]) == (last[ev[1]] == ev[6])
    assert any(ev[1] is None for ev in bulk["events"])  # units added: store-level events
    assert bulk["cases"] and bulk["mechanism_cases"]
    assert any(case[-1] is not None for case in bulk["cases"])  # repeats were found
    for table, rows in expected.items():
        assert bulk[table] == rows, table
    assert bbc.json("verify")["ok"]


def test_a_refused_row_gives_back_its_number_unit_and_mechanism(bbc, tmp_path, monkeypatch):
    rows = register_rows(3)
    rows[0][8], rows[0][11] = "只在第一行的单位", "只在第一行的机制"
    rows[1][5] = rows[0][5]  # the same day: the second row takes the first one's number
    sheet = write_csv(tmp_path / "a.csv", rows)
    real_close = lifecycle.close

    def close(ctx, case, **kw):
        if personal.reveal(case, ctx.keyring)["citizen"] == "群众0":
            raise WrongState("模拟：不能办结")
        return real_close(ctx, case, **kw)

    monkeypatch.setattr(lifecycle, "close", close)
    out = bbc("import", str(sheet), "--skip-bad", now=NOW)
    assert "第 2 行：模拟：不能办结" in out.stderr
    assert "只在第一行的单位" not in out.stderr  # not listed as added: it was undone
    number = out.stdout.split()[0]
    assert number == f"BB{rows[0][5][:10].replace('-', '')}-001"
    assert "只在第一行的单位" not in [u["name"] for u in bbc.json("units", "list")]
    assert bbc.json("mechanism", "list") == [] or all(
        m["name"] != "只在第一行的机制" for m in bbc.json("mechanism", "list")
    )
    assert bbc.json("verify")["ok"]
