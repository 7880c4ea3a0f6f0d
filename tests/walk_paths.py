"""What each path of verify's chain pass did (trust/walk_db.py), for the tests that
compare the database's walk with the Python walk on either database."""

from __future__ import annotations

from typing import Any

import pytest

from banbucheng.trust import walk, walk_db


class Paths:
    """The database's verdict per range, and the events the Python walk read."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.ranges: list[tuple[int, int | None, bool]] = []
        self.python = 0
        clean, batch = walk_db._clean, walk._Walker.batch

        def seen_clean(sql: Any, walker: Any, lo: int, hi: int | None) -> bool:
            self.ranges.append((lo, hi, clean(sql, walker, lo, hi)))
            return self.ranges[-1][2]

        def seen_batch(walker: Any, rows: list[Any], again: Any) -> None:
            self.python += len(rows)
            batch(walker, rows, again)

        monkeypatch.setattr(walk_db, "_clean", seen_clean)
        monkeypatch.setattr(walk._Walker, "batch", seen_batch)

    def clear(self) -> None:
        self.ranges.clear()
        self.python = 0
