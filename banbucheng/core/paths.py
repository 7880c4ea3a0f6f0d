"""Where the default store lives; light (no pathlib, no typing, no platformdirs on
Linux), so shell completion can use it on every TAB."""

from __future__ import annotations

import os
import sys


def default_db_file() -> str:
    if sys.platform.startswith("linux"):
        # What platformdirs' user_data_dir gives on Linux (the XDG rule), without the
        # cost of importing it.
        base = os.environ.get("XDG_DATA_HOME", "").strip() or os.path.expanduser("~/.local/share")
        return os.path.join(base, "banbucheng", "bbc.sqlite3")
    from platformdirs import user_data_dir

    return os.path.join(user_data_dir("banbucheng", appauthor=False), "bbc.sqlite3")


def default_db_path():  # a pathlib.Path (typing is not imported here)
    """default_db_file() as a pathlib.Path."""
    from pathlib import Path

    return Path(default_db_file())
