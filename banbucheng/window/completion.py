"""Shell completion of case numbers and unit names.

Completion runs on every TAB, so it reads the SQLite file with the standard library
(read-only, no migrations, no sqlmodel): a few milliseconds instead of the half
second the store stack takes to import. Other backends complete nothing.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

LIMIT = 50


def _db_file(ctx: Any) -> Path | None:
    root = ctx.find_root() if ctx is not None else None
    db = (root.params.get("db") if root is not None else None) or os.environ.get("BBC_DB")
    if not db:
        from banbucheng.core.paths import default_db_path

        return default_db_path()
    if db.startswith("sqlite:///"):
        return Path(db.removeprefix("sqlite:///"))
    if "://" in db:
        return None
    return Path(db).expanduser()


def _query(ctx: Any, sql: str, pattern: str) -> list[str]:
    path = _db_file(ctx)
    if path is None or not path.is_file():
        return []
    try:
        con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=1)
        try:
            return [row[0] for row in con.execute(sql, (pattern, LIMIT))]
        finally:
            con.close()
    except sqlite3.Error:
        return []  # a half-made or locked store: complete nothing rather than fail


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def case_numbers(ctx: Any, incomplete: str) -> list[str]:
    """Open cases first (most recent first), then closed ones."""
    return _query(
        ctx,
        "SELECT number FROM cases WHERE number LIKE ? ESCAPE '\\' "
        "ORDER BY status = 'closed', number DESC LIMIT ?",
        _like(incomplete.strip().upper()),
    )


def unit_names(ctx: Any, incomplete: str) -> list[str]:
    return _query(
        ctx,
        "SELECT name FROM units WHERE name LIKE ? ESCAPE '\\' ORDER BY name LIMIT ?",
        _like(incomplete.strip()),
    )
