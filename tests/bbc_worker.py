"""A window in its own process, for the concurrency, backup and crash tests.

    python bbc_worker.py register DB TAG COUNT   register COUNT cases, one line each
    python bbc_worker.py lifecycle DB TAG COUNT SHARED
                                                 register, dispatch, note, close COUNT
                                                 cases; extend SHARED once per case

Each command runs in-process (no start-up cost per command), through the same CLI as
`bbc`. After each committed command the worker prints `ok <command> <number> <tag>`
and flushes, so a test that kills it knows what was committed. A refusal prints
`fail <command> <exit code> <stderr>` and the worker stops with exit code 1.
"""

from __future__ import annotations

import os
import sys

from typer.testing import CliRunner

from banbucheng.cli import app

RUNNER = CliRunner()


def bbc(*args: str) -> str:
    result = RUNNER.invoke(app, list(args))
    if result.exit_code != 0:
        error = (result.stderr or "").strip().replace("\n", " | ")
        print(f"fail {args[0]} {result.exit_code} {error}", flush=True)
        sys.exit(1)
    return result.stdout.strip()


def register(tag: str, i: int) -> str:
    return bbc(
        "register",
        "--name",
        "张三",
        "--phone",
        "13800000000",
        "--matter",
        f"{tag}第{i}件",
        "--category",
        "应办未办",
    )


def main() -> None:
    mode, db, tag, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    os.environ["BBC_DB"] = db
    os.environ["BBC_OPERATOR"] = tag
    for i in range(count):
        number = register(tag, i)
        print(f"ok register {number} {tag}第{i}件", flush=True)
        if mode != "lifecycle":
            continue
        shared = sys.argv[5]
        bbc("dispatch", number, "--unit", f"单位{i % 3}")
        bbc("note", shared, f"{tag}进展{i}")
        bbc("extend", shared, "--days", "1", "--reason", f"{tag}延期{i}", "--approver", "主任")
        bbc("close", number, "--result", f"{tag}办结{i}")
        print(f"ok close {number} {tag}", flush=True)


if __name__ == "__main__":
    main()
