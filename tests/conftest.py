"""Every test runs on its own store and data directory, never the user's."""

from __future__ import annotations

import json
import os
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from banbucheng.cli import app

# The stores' keys (core/keyring.py) go to one folder for the whole run, never the
# user's: fixtures that build a store once per module use it across tests, and the
# pytest-xdist workers inherit it from the process that starts them.
os.environ.setdefault("BBC_KEY_DIR", tempfile.mkdtemp(prefix="bbc-keys-"))


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    db = tmp_path / "bbc.sqlite3"
    # An empty file is a new store to bbc (a given path that does not exist is refused
    # by commands that only read, so a mistyped BBC_DB never looks like an empty day).
    db.touch(mode=0o600)
    monkeypatch.setenv("BBC_DB", str(db))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # the completion cache
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # bbc completion install writes here
    monkeypatch.setenv("BBC_OPERATOR", "窗口甲")
    monkeypatch.delenv("BBC_NOW", raising=False)
    monkeypatch.delenv("BBC_DEBUG", raising=False)
    monkeypatch.delenv("BBC_KEY", raising=False)
    return db


class Bbc:
    """Runs `bbc` in-process and checks the outcome."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.runner = CliRunner()
        self.monkeypatch = monkeypatch

    def __call__(self, *args: str, now: str | None = None, code: int = 0) -> Any:
        if now:
            self.monkeypatch.setenv("BBC_NOW", now)
        result = self.runner.invoke(app, list(args))
        assert result.exit_code == code, (result.exit_code, result.output, result.stderr)
        assert "Traceback" not in result.output + result.stderr
        return result

    def json(self, *args: str, now: str | None = None, code: int = 0) -> Any:
        return json.loads(self(*args, "--json", now=now, code=code).stdout)

    def refused(self, *args: str, now: str | None = None, code: int = 1) -> str:
        result = self(*args, now=now, code=code)
        message = result.stderr.strip()
        assert message and "\n" not in message, message
        return message


@pytest.fixture
def bbc(monkeypatch: pytest.MonkeyPatch) -> Bbc:
    return Bbc(monkeypatch)


def dump_store(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, to prove a refused command changed nothing."""
    if not db.exists():
        return {}
    con = sqlite3.connect(db)
    # Text as stored, even where it is not UTF-8 (an edit's test), compared so.
    con.text_factory = lambda raw: raw.decode("utf-8", "surrogateescape")
    try:
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {t: sorted(con.execute(f'SELECT * FROM "{t}"').fetchall(), key=repr) for t in tables}
    finally:
        con.close()


@pytest.fixture
def snapshot(isolated: Path) -> Callable[[], Callable[[], None]]:
    """snapshot() records the store; calling what it returns asserts nothing changed."""

    def take() -> Callable[[], None]:
        before = dump_store(isolated)

        def check() -> None:
            assert dump_store(isolated) == before

        return check

    return take


def _unavailable(reason: str) -> None:
    """Skip without a PostgreSQL server, except in CI, where the tests must run."""
    if os.environ.get("CI", "").strip().lower() == "true":
        pytest.fail(f"PostgreSQL tests cannot run, and CI=true: {reason}", pytrace=False)
    pytest.skip(f"PostgreSQL not available: {reason}")


@pytest.fixture(scope="session")
def pg_server() -> Iterator[Any]:
    """One throwaway PostgreSQL server for every test that asks (per xdist worker)."""
    try:
        import psycopg  # noqa: F401
        from pg_server import PgServer, Unavailable
    except ImportError:
        _unavailable("the driver psycopg is not installed (pip install '.[postgres]')")
    try:
        server = PgServer()
    except Unavailable as exc:
        _unavailable(str(exc))
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg_db(pg_server: Any) -> Iterator[str]:
    """A new, empty database for each test; dropped afterwards."""
    name = pg_server.create_database()
    try:
        yield name
    finally:
        pg_server.drop_database(name)


@pytest.fixture
def pg_url(pg_server: Any, pg_db: str) -> str:
    return pg_server.url(pg_db)


@pytest.fixture
def split_taken(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """verify split between two processes whatever the store's size (integrity._Helper,
    the helper walking the later events); the list says, run by run, whether the
    helper's walk was taken (walk.take_share). Ask for it after a fixture that sets
    the split's sizes otherwise."""
    from banbucheng.trust import integrity, walk

    monkeypatch.setattr(integrity, "PARALLEL_FROM", 0)
    monkeypatch.setattr(integrity, "HELPER_START", 0)
    monkeypatch.setattr(integrity, "WALK_SHARE_FROM", 0)
    taken: list[bool] = []
    take = walk.take_share

    def seen(walker: Any, found: dict | None) -> bool:
        taken.append(take(walker, found))
        return taken[-1]

    monkeypatch.setattr(walk, "take_share", seen)
    return taken
