"""The tests' throwaway PostgreSQL server (tests/pg_server.py) never outlives the run
that started it, even one killed before its clean-up."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture
def started(pg_server: Any, tmp_path: Path) -> Iterator[tuple[subprocess.Popen, Path, int, int]]:
    """A server started by another process, which then waits: (that process, the
    server's directory, its port, its watchdog's pid)."""
    script = tmp_path / "start.py"
    script.write_text(
        "import sys, time\n"
        f"sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
        "from pg_server import PgServer\n"
        "server = PgServer()\n"
        "server.start()\n"
        "print(server.base, server.port, server._watchdog[0].pid, flush=True)\n"
        "time.sleep(600)\n"
    )
    process = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    base, port, watchdog = process.stdout.readline().split()
    data = Path(base) / "data"
    try:
        assert (data / "postmaster.pid").exists()
        socket.create_connection(("127.0.0.1", int(port)), timeout=5).close()
        yield process, Path(base), int(port), int(watchdog)
    finally:
        process.kill()
        process.wait()
        if (data / "postmaster.pid").exists():  # the watchdog failed: not left running
            subprocess.run(
                [str(pg_server.bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                user=pg_server.user.pw_uid if pg_server.user else None,
                check=False,
                capture_output=True,
            )


def _gone(base: Path, port: int) -> None:
    deadline = time.monotonic() + 60
    while base.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not base.exists()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()


def test_a_killed_run_leaves_no_server_behind(started: tuple) -> None:
    process, base, port, _ = started
    process.kill()  # no clean-up of its own runs
    process.wait()
    _gone(base, port)


def test_a_watchdog_told_to_stop_stops_its_server(started: tuple) -> None:
    process, base, port, watchdog = started
    os.kill(watchdog, signal.SIGTERM)
    _gone(base, port)
    assert process.poll() is None  # the run itself goes on


def test_a_stop_signal_the_moment_it_starts_watching_is_not_lost(tmp_path: Path) -> None:
    """The signal lands right after the watchdog's "watching" line, before its wait:
    the one moment a signal used to end it with its server left running."""
    base = tmp_path / "server"
    (base / "data").mkdir(parents=True)  # no postmaster.pid: nothing for pg_ctl to stop
    script = tmp_path / "watch.py"
    script.write_text(
        "import builtins, os, signal, sys\n"
        "from pathlib import Path\n"
        f"sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
        "import pg_server\n"
        "def announce(*args, **kwargs):\n"
        "    builtins.print(*args, **kwargs)\n"
        "    os.kill(os.getpid(), signal.SIGTERM)\n"
        "pg_server.print = announce\n"
        "read, write = os.pipe()  # its other end stays open: only the signal ends the wait\n"
        f"pg_server.watch(read, Path({str(base)!r}), Path('/nonexistent'), None)\n"
    )
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout, done.stderr) == (0, "watching\n", "")
    assert not base.exists()
