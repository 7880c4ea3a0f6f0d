"""Fixtures shared by the report tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(scope="module")
def _pg() -> Iterator[Any]:
    """A PostgreSQL server for one test module (skipped, or failed under CI, without one)."""
    from test_postgres import _server_or_reason, _unavailable

    server = _server_or_reason()
    if isinstance(server, str):
        _unavailable(server)
    try:
        server.start()
        yield server
    finally:
        server.stop()
