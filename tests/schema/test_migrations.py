"""Stores made by earlier releases open, upgrade and keep every case and event."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

from sqlalchemy import inspect
from sqlmodel import SQLModel

from banbucheng.schema import models
from banbucheng.schema.migrations import MIGRATIONS, schema_version
from banbucheng.store import Store

V010 = Path(__file__).parents[1] / "data" / "store-v0.1.0.sqlite3"


def _columns(engine) -> dict[str, set[str]]:
    insp = inspect(engine)
    return {t: {c["name"] for c in insp.get_columns(t)} for t in insp.get_table_names()}


def _indexes(engine, table: str) -> set[tuple[str, tuple[str, ...], bool]]:
    return {
        (i["name"], tuple(i["column_names"]), bool(i["unique"]))
        for i in inspect(engine).get_indexes(table)
    }


def test_new_store_has_the_models_schema_and_every_step_recorded(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'new.sqlite3'}")
    cols = _columns(store.engine)
    for table in SQLModel.metadata.sorted_tables:
        assert cols[table.name] == {c.name for c in table.columns}
    with store.engine.connect() as conn:
        assert schema_version(conn) == MIGRATIONS[-1][0]


def test_release_0_1_0_store_upgrades_and_keeps_everything(tmp_path: Path, bbc) -> None:
    path = tmp_path / "old.sqlite3"
    shutil.copy(V010, path)
    con = sqlite3.connect(path)
    con.row_factory = sqlite3.Row
    cases_before = [dict(r) for r in con.execute("SELECT * FROM cases ORDER BY id")]
    con.row_factory = None
    events_before = con.execute(
        "SELECT id, case_id, at, actor, action, detail FROM events"
    ).fetchall()
    con.close()
    assert len(cases_before) == 3 and len(events_before) == 15

    store = Store(f"sqlite:///{path}")
    cols = _columns(store.engine)
    for table in SQLModel.metadata.sorted_tables:
        assert cols[table.name] >= {c.name for c in table.columns}, table.name
    # m009: the events are indexed as a new store's are (case_id only through case_seq).
    new = Store(f"sqlite:///{tmp_path / 'new.sqlite3'}")
    for table in ("events", "cases"):
        assert _indexes(store.engine, table) == _indexes(new.engine, table), table
    assert "ix_events_case_id" not in _indexes(store.engine, "events")
    new.close()
    with store.engine.connect() as conn:
        assert schema_version(conn) == MIGRATIONS[-1][0]
    store.close()

    con = sqlite3.connect(path)
    con.row_factory = sqlite3.Row
    cases_after = [dict(r) for r in con.execute("SELECT * FROM cases ORDER BY id")]
    con.row_factory = None
    # m006: every column is kept except the clear personal ones, now encrypted.
    personal = ("citizen_name", "phone", "id_number")
    for before, after in zip(cases_before, cases_after, strict=True):
        assert {k: v for k, v in before.items() if k not in personal} == {
            k: after[k] for k in before if k not in personal
        }
        assert not set(personal) & set(after)
        assert after["phone_enc"].startswith("k1:") and "*" in after["phone_mask"]
    events_after = con.execute(
        "SELECT id, case_id, at, actor, action, detail FROM events"
        " WHERE case_id IS NOT NULL AND action != 'case_adopt'"
    ).fetchall()
    assert events_after == events_before
    # m004: the calendar entry and the setting found are recorded in one store-level event;
    # m007: the units found in another, and each case's row sealed by a case_adopt event.
    adopted = con.execute("SELECT action, detail FROM events WHERE case_id IS NULL").fetchall()
    assert [a for a, _ in adopted] == ["store_adopt", "store_seal"]
    after = json.loads(adopted[0][1])["after"]
    assert list(after["days"]) == ["2027-02-20"] and after["settings"] == {"limit.hard": "10"}
    assert "省农保中心" in json.loads(adopted[1][1])["after"]["units"]
    sealed = con.execute(
        "SELECT case_id, detail FROM events WHERE action = 'case_adopt' ORDER BY case_id"
    ).fetchall()
    assert [c for c, _ in sealed] == [1, 2, 3]
    assert all(len(json.loads(d)["state"]) == 32 for _, d in sealed)
    con.close()
    assert bbc.json("--db", str(path), "verify")["ok"] is True

    # And the tool works on it: the demo cases read back as they were.
    huo = bbc.json("--db", str(path), "show", "BB20210401-001")
    assert huo["phone"] == "137****1111" and huo["masked"] is True
    clear = bbc.json("--db", str(path), "show", "BB20210401-001", "--reveal")
    first = cases_before[0]
    assert (clear["citizen"], clear["phone"], clear["id_number"]) == (
        first["citizen_name"],
        first["phone"],
        first["id_number"],
    )
    assert huo["working_days_used"] == 2 and huo["on_time"] is True
    assert len(huo["events"]) == 7 and huo["events"][-1]["action"] == "case_adopt"
    assert len(clear["events"]) == 8  # the reveal is recorded
    settings = {r["key"]: r["value"] for r in bbc.json("--db", str(path), "config", "show")}
    assert settings["limit.hard"] == "10"
    assert (
        bbc.json("--db", str(path), "calendar", "show", "2027")["days"][0]["date"] == "2027-01-01"
    )


def test_the_stamp_names_every_table() -> None:
    """The schema's stamp lists the tables by name (models.TABLE_NAMES), so a process
    that has not defined models_extra's tables computes the same number: the list must
    be every table there is."""
    from banbucheng.schema import totals

    models.define_all()
    listed = [*models.TABLE_NAMES, totals.running_totals.name]
    assert sorted(SQLModel.metadata.tables) == sorted(listed)
