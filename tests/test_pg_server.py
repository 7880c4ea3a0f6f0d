"""The tests' throwaway PostgreSQL server (tests/pg_server.py) never outlives the run
that started it, even one killed before its clean-up."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest


def test_a_killed_run_leaves_no_server_behind(pg_server: Any, tmp_path: Path) -> None:
    script = tmp_path / "start.py"
    script.write_text(
        "import sys, time\n"
        f"sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
        "from pg_server import PgServer\n"
        "server = PgServer()\n"
        "server.start()\n"
        "print(server.base, server.port, flush=True)\n"
        "time.sleep(600)\n"
    )
    process = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    base, port = process.stdout.readline().split()
    data = Path(base) / "data"
    try:
        assert (data / "postmaster.pid").exists()
        socket.create_connection(("127.0.0.1", int(port)), timeout=5).close()
        process.kill()  # no clean-up of its own runs
        process.wait()
        deadline = time.monotonic() + 60
        while Path(base).exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not Path(base).exists()
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", int(port)), timeout=5).close()
    finally:
        process.kill()
        if (data / "postmaster.pid").exists():  # the watchdog failed: not left running
            subprocess.run(
                [str(pg_server.bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                user=pg_server.user.pw_uid if pg_server.user else None,
                check=False,
                capture_output=True,
            )
