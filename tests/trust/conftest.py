"""Fixtures shared by the trust tests."""

from __future__ import annotations

import pytest

from banbucheng.trust import integrity, walk


@pytest.fixture
def split_taken(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """verify split between two processes whatever the store's size (integrity._Helper,
    the helper walking the later events); the list says, run by run, whether the
    helper's walk was taken (walk.take_share). Ask for it after a fixture that sets
    the split's sizes otherwise."""
    monkeypatch.setattr(integrity, "PARALLEL_FROM", 0)
    monkeypatch.setattr(integrity, "HELPER_START", 0)
    monkeypatch.setattr(integrity, "WALK_SHARE_FROM", 0)
    taken: list[bool] = []
    take = walk.take_share

    def seen(walker: walk._Walker, found: dict | None) -> bool:
        taken.append(take(walker, found))
        return taken[-1]

    monkeypatch.setattr(walk, "take_share", seen)
    return taken
