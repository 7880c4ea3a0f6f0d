"""Shell completion: commands, options, case numbers and unit names, on every TAB.

TAB must answer at once, so this module imports only the standard library: the
completion scripts (`bbc completion install`) run `python -m banbucheng` with
_BBC_COMPLETE set, which comes here without loading typer, the store stack or
pydantic. Case numbers and units are read from the SQLite file directly (read-only,
no migrations); other backends complete nothing. The command tree (names, options,
what each argument takes) is kept in a small JSON cache, rebuilt by `load_tree` (the
full command line, once) whenever the installed commands have changed.

The protocol is click's: COMP_WORDS (the command line so far, split at spaces) and
COMP_CWORD (the index of the word being completed); candidates one per line, with a
description for zsh (value:description) and fish (value<TAB>description).

Even `typing`, `json` and `hashlib` cost a TAB a few milliseconds each, so they are
not used here (the cache is written with marshal, for this Python only).
"""

from __future__ import annotations

import marshal
import os
import sqlite3
import sys
import zlib
from collections.abc import Callable

LIMIT = 50
TREE_VERSION = 1
PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# ---------------------------------------------------------------- the store


def _db_file(db: str | None) -> str | None:
    db = db or os.environ.get("BBC_DB")
    if not db:
        from banbucheng.core.paths import default_db_file

        return default_db_file()
    if db.startswith("sqlite:///"):
        return db.removeprefix("sqlite:///")
    if "://" in db:
        return None
    return os.path.expanduser(db)


def _query(db: str | None, sql: str, *args: str, limit: int = LIMIT) -> list[str]:
    path = _db_file(db)
    if path is None or not os.path.isfile(path):
        return []
    try:
        uri = "file:" + _quote(os.path.abspath(path)) + "?mode=ro"
        con = sqlite3.connect(uri, uri=True, timeout=1)
        try:
            return [row[0] for row in con.execute(sql, (*args, limit))]
        finally:
            con.close()
    except sqlite3.Error:
        return []  # a half-made or locked store: complete nothing rather than fail


def _quote(path: str) -> str:
    """A path as the path of an SQLite file: URI (only these characters matter there)."""
    return path.replace("%", "%25").replace("?", "%3f").replace("#", "%23")


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def case_numbers(db: str | None, incomplete: str) -> list[str]:
    """Open cases first (most recent first), then closed ones. The prefix is looked up
    as a range of the unique index on the number (a LIKE would read every case)."""
    low = incomplete.strip().upper()
    high = low + "\U0010ffff"
    found = _query(
        db,
        "SELECT number FROM cases WHERE status != 'closed' AND number >= ? AND number < ? "
        "ORDER BY number DESC LIMIT ?",
        low,
        high,
    )
    if len(found) < LIMIT:
        found += _query(
            db,
            "SELECT number FROM cases WHERE status = 'closed' AND number >= ? AND number < ? "
            "ORDER BY number DESC LIMIT ?",
            low,
            high,
            limit=LIMIT - len(found),
        )
    return found


def unit_names(db: str | None, incomplete: str) -> list[str]:
    return _query(
        db,
        "SELECT name FROM units WHERE name LIKE ? ESCAPE '\\' ORDER BY name LIMIT ?",
        _like(incomplete.strip()),
    )


VALUES: dict[str, Callable[[str | None, str], list[str]]] = {
    "case": case_numbers,
    "unit": unit_names,
}


# ---------------------------------------------------------------- the command tree


def _fingerprint() -> str:
    """Changes whenever the commands may have: another version, or an edited file."""
    from banbucheng import __version__

    parts = [__version__, PACKAGE, sys.version]
    folder = os.path.join(PACKAGE, "commands")
    entries = [os.path.join(PACKAGE, "cli.py")]
    if os.path.isdir(folder):
        entries += sorted(e.path for e in os.scandir(folder) if e.name.endswith(".py"))
    for path in entries:
        try:
            info = os.stat(path)
        except OSError:
            continue
        parts.append(f"{path}:{info.st_mtime_ns}:{info.st_size}")
    return "\n".join(parts)


def cache_path() -> str:
    if sys.platform.startswith("linux"):
        base = os.environ.get("XDG_CACHE_HOME", "").strip() or os.path.expanduser("~/.cache")
        folder = os.path.join(base, "banbucheng")
    else:
        from platformdirs import user_cache_dir

        folder = user_cache_dir("banbucheng", appauthor=False)
    key = zlib.crc32(PACKAGE.encode("utf-8", "surrogateescape"))
    return os.path.join(folder, f"completion-{key:08x}.marshal")


def tree(load_tree: Callable[[], dict]) -> dict:
    """The command tree: from the cache, else from load_tree (and then cached)."""
    fingerprint, path = _fingerprint(), cache_path()
    try:
        with open(path, "rb") as f:
            cached = marshal.load(f)
        if cached.get("fingerprint") == fingerprint and cached.get("version") == TREE_VERSION:
            return cached["tree"]
    except (OSError, ValueError, EOFError, TypeError, AttributeError):
        pass
    fresh = load_tree()
    save_tree(fresh, fingerprint, path)
    return fresh


def save_tree(data: dict, fingerprint: str | None = None, path: str | None = None) -> str:
    fingerprint, path = fingerprint or _fingerprint(), path or cache_path()
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        temporary = f"{path}.{os.getpid()}.tmp"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # owner only
        with os.fdopen(fd, "wb") as f:
            marshal.dump({"version": TREE_VERSION, "fingerprint": fingerprint, "tree": data}, f)
        os.replace(temporary, path)
    except OSError:
        pass  # no cache: the next TAB builds the tree again
    return path


# ---------------------------------------------------------------- candidates


def candidates(root: dict, words: list[str], incomplete: str) -> list:
    """(value, description) for the word being completed, after `words`."""
    node, db, positional = root, None, 0
    expecting: str | None = None
    expecting_option = ""
    for word in words:
        if expecting is not None:
            if expecting_option == "--db" and node is root:
                db = word
            expecting = None
            continue
        if word.startswith("-") and len(word) > 1:
            name, eq, value = word.partition("=")
            kind = node.get("options", {}).get(name)
            if name == "--db" and node is root and eq:
                db = value
            if kind not in (None, "flag") and not eq:
                expecting, expecting_option = kind, name
            continue
        if word in node.get("commands", {}):
            node, positional = node["commands"][word], 0
            continue
        positional += 1
    if expecting is not None:
        return _values(expecting, db, incomplete)
    if incomplete.startswith("-"):
        options = {**node.get("options", {}), "--help": "flag"}
        return [(name, "") for name in options if name.startswith(incomplete)]
    commands = node.get("commands", {})
    if commands:
        return [
            (name, sub.get("help", ""))
            for name, sub in commands.items()
            if name.startswith(incomplete)
        ]
    arguments = node.get("args", [])
    if positional < len(arguments):
        kind = arguments[positional]
    elif arguments and node.get("repeat"):
        kind = arguments[-1]
    else:
        return []
    return _values(kind, db, incomplete)


def _values(kind: str, db: str | None, incomplete: str) -> list:
    found = VALUES.get(kind)
    return [(value, "") for value in found(db, incomplete)] if found else []


def _words() -> tuple[list[str], str]:
    words = os.environ.get("COMP_WORDS", "").split()
    try:
        cword = int(os.environ.get("COMP_CWORD", ""))
    except ValueError:
        text = os.environ.get("COMP_WORDS", "")
        cword = len(words) if text[-1:].isspace() or not words else len(words) - 1
    incomplete = words[cword] if 0 <= cword < len(words) else ""
    return words[1:cword], incomplete


def render(shell: str, items: list) -> str:
    if shell == "zsh":
        return "\n".join(
            value.replace(":", r"\:") + (f":{help_text}" if help_text else "")
            for value, help_text in items
        )
    if shell == "fish":
        return "\n".join(
            value + (f"\t{help_text}" if help_text else "") for value, help_text in items
        )
    return "\n".join(value for value, _ in items)


def main(load_tree: Callable[[], dict]) -> int:
    """Answer one TAB (_BBC_COMPLETE=complete_bash, complete_zsh or complete_fish)."""
    instruction = os.environ.get("_BBC_COMPLETE", "")
    shell = instruction.removeprefix("complete_")
    if shell not in ("bash", "zsh", "fish"):
        return 1
    words, incomplete = _words()
    items = candidates(tree(load_tree), words, incomplete)
    if items:
        sys.stdout.write(render(shell, items) + "\n")
    return 0
