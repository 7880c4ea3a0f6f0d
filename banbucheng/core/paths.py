"""Where the default store lives; light, so shell completion can use it."""

from __future__ import annotations

from pathlib import Path


def default_db_path() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("banbucheng", appauthor=False)) / "bbc.sqlite3"
