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

    def only_what_was_not_clean(self, report: dict, part: int) -> None:
        """The database passed the ranges it could; the Python walk read only the
        others: a range that is not clean was checked again in parts of `part`, and the
        Python walk read no more than the parts that were not clean (a repeated event
        read once more)."""
        assert any(r[2] for r in self.ranges) and self.python < report["events"]
        parts = [r for r in self.ranges if r[1] is None or r[1] - r[0] < part]
        assert parts
        dirty = [r for r in parts if not r[2]]
        assert self.python <= len(dirty) * (part + 2)


def both(bbc: Any, monkeypatch: pytest.MonkeyPatch, paths: Paths | None, code: int) -> dict:
    """`verify --full`'s report with the Python walk (the reference) and with the
    database's, which must be the same; the database's returned (`paths`: what its
    walk did)."""
    monkeypatch.setattr(walk_db, "SERVER", False)
    reference = bbc.json("verify", "--full", code=code)
    monkeypatch.setattr(walk_db, "SERVER", True)
    if paths is not None:
        paths.clear()
    found = bbc.json("verify", "--full", code=code)
    assert found == reference
    return found
