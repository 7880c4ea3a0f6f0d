"""A throwaway PostgreSQL server for the tests that need a real one.

initdb into a fresh temporary directory, start on a free loopback port (127.0.0.1
only, password auth, its unix socket inside that directory), hand out one new
database per test, and stop and delete everything at the end. Nothing is installed
as a service and nothing outside the temporary directory is touched.

A watchdog process (`watch`, this file run as a script) stops the server and deletes
its directory when the process that started it ends without stopping it (killed, or
interrupted before its clean-up ran): it waits on a pipe whose other end only that
process holds, so it wakes the moment the process is gone. Told to stop itself
(SIGTERM, SIGHUP, SIGINT), it stops the server first.
"""

from __future__ import annotations

import glob
import os
import pwd
import re
import secrets
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

SUPERUSER = "postgres"
START_ATTEMPTS = 3
STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)
# A test server: durability is not wanted, speed is.
SERVER_OPTIONS = (
    "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
    "-c max_connections=50 -c shared_buffers=16MB"
)


class Unavailable(Exception):
    """PostgreSQL cannot be run here (the reason says why)."""


def find_bindir() -> Path:
    """The directory holding initdb/pg_ctl/postgres: `pg_config --bindir`, else the
    newest /usr/lib/postgresql/*/bin (Debian's layout, from `apt-get install postgresql`)."""
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=True
            ).stdout.strip()
            candidates.append(Path(out))
        except (OSError, subprocess.SubprocessError):
            pass

    def version(path: str) -> tuple[int, ...]:
        match = re.search(r"/postgresql/([\d.]+)/bin$", path)
        return tuple(int(p) for p in match.group(1).split(".") if p) if match else ()

    found = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version, reverse=True)
    candidates += [Path(p) for p in found]
    for bindir in candidates:
        if all((bindir / tool).is_file() for tool in ("initdb", "pg_ctl", "postgres")):
            return bindir
    raise Unavailable(
        "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found via `pg_config "
        "--bindir` or /usr/lib/postgresql/*/bin; install them with "
        "`apt-get install postgresql`"
    )


def _run_as() -> pwd.struct_passwd | None:
    """The OS user to run the server as: postgres refuses to run as root."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam("postgres")
    except KeyError:
        raise Unavailable(
            "running as root and there is no 'postgres' OS user to run the server as "
            "(`apt-get install postgresql` creates it)"
        ) from None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PgServer:
    def __init__(self) -> None:
        self.bindir = find_bindir()
        self.user = _run_as()
        self.password = secrets.token_hex(16)
        self.port = 0
        self.base: Path | None = None
        self._count = 0
        self._watchdog: tuple[subprocess.Popen[bytes], int] | None = None

    # ------------------------------------------------------------ process control

    def _cmd(self, tool: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        assert self.base is not None
        result = _run(self.bindir, self.base, self.user, tool, *args)
        if check and result.returncode != 0:
            raise RuntimeError(f"{tool} failed ({result.returncode}): {result.stderr.strip()}")
        return result

    def _watch(self) -> None:
        """The watchdog of this server (module docstring), started once it runs."""
        assert self.base is not None
        read, write = os.pipe()  # neither end inherited by any other child
        user = [str(self.user.pw_uid)] if self.user else []
        process = subprocess.Popen(
            [sys.executable, __file__, "watch", str(read), str(self.base), str(self.bindir), *user],
            pass_fds=(read,),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # not stopped with this process's group
        )
        os.close(read)
        assert process.stdout is not None
        process.stdout.readline()  # it watches: told to stop from now on, it stops the server
        process.stdout.close()
        self._watchdog = (process, write)

    def start(self, *, data_from: Path | None = None) -> None:
        """Start on a new cluster, or with `data_from` on a copy of a cluster kept by
        `keep` (self.password must then be the one it was made with)."""
        # /tmp explicitly when root: the server's user must be able to reach the directory.
        self.base = Path(
            tempfile.mkdtemp(prefix="bbc-pg-", dir="/tmp" if self.user is not None else None)
        )
        if self.user is not None:
            os.chown(self.base, self.user.pw_uid, self.user.pw_gid)
        data = self.base / "data"
        if data_from is not None:
            # cp -a keeps the owner and modes the server insists on.
            subprocess.run(["cp", "-a", str(data_from), str(data)], check=True)
        else:
            self._initdb(data)
        log = self.base / "server.log"
        for _ in range(START_ATTEMPTS):  # another process may grab the port first
            self.port = _free_port()
            options = (
                f"-c listen_addresses=127.0.0.1 -p {self.port} "
                f"-c unix_socket_directories={self.base} {SERVER_OPTIONS}"
            )
            started = self._cmd(
                "pg_ctl", "-D", str(data), "-l", str(log), "-w", "-t", "60",
                "-o", options, "start", check=False,
            )  # fmt: skip
            if started.returncode == 0:
                self._watch()
                return
        tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        raise RuntimeError(f"PostgreSQL did not start: {started.stderr.strip()}\n{tail}")

    def _initdb(self, data: Path) -> None:
        assert self.base is not None
        pwfile = self.base / "pwfile"
        pwfile.write_text(self.password + "\n")
        if self.user is not None:
            os.chown(pwfile, self.user.pw_uid, self.user.pw_gid)
        self._cmd(
            "initdb",
            "-D", str(data),
            "-U", SUPERUSER,
            "--pwfile", str(pwfile),
            "--auth", "scram-sha-256",
            "--encoding", "UTF8",
            "--locale", "C",  # byte-order collation, like SQLite's default
            "--no-sync",
        )  # fmt: skip
        pwfile.unlink()

    def keep(self, target: Path) -> None:
        """Stop the server cleanly and move its data directory to `target`, to start
        copies of it later (`start(data_from=target)`); the rest is deleted."""
        assert self.base is not None
        data = self.base / "data"
        self._cmd("pg_ctl", "-D", str(data), "-m", "fast", "-w", "stop")
        shutil.move(str(data), str(target))
        self.stop()

    def stop(self) -> None:
        if self.base is None:
            return
        data = self.base / "data"
        try:
            if (data / "postmaster.pid").exists():
                stopped = self._cmd("pg_ctl", "-D", str(data), "-m", "fast", "-w", "stop")
                if stopped.returncode != 0:
                    self._cmd("pg_ctl", "-D", str(data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.base, ignore_errors=True)
            self.base = None
            if self._watchdog is not None:  # its pipe closed: it finds nothing left to do
                process, write = self._watchdog
                os.close(write)
                process.wait(timeout=60)
                self._watchdog = None

    # ------------------------------------------------------------ databases

    def url(self, database: str, *, driver: str = "postgresql+psycopg") -> str:
        return f"{driver}://{SUPERUSER}:{self.password}@127.0.0.1:{self.port}/{database}"

    def _admin(self, sql: str) -> None:
        import psycopg

        conninfo = self.url("postgres", driver="postgresql")
        with psycopg.connect(conninfo, autocommit=True, connect_timeout=10) as conn:
            conn.execute(sql)  # type: ignore[arg-type]

    def create_database(self) -> str:
        """A new, empty database; returns its name."""
        self._count += 1
        name = f"bbc_test_{self._count}"
        self._admin(f'CREATE DATABASE "{name}"')
        return name

    def drop_database(self, name: str) -> None:
        self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _run(
    bindir: Path, base: Path, user: pwd.struct_passwd | None, tool: str, *args: str
) -> subprocess.CompletedProcess[str]:
    """A PostgreSQL tool run as the server's user, in `base`, without the caller's PG*
    environment."""
    kwargs: dict[str, Any] = {}
    if user is not None:
        kwargs.update(user=user.pw_uid, group=user.pw_gid, extra_groups=[])
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env.update(LC_ALL="C", LANG="C", HOME=str(base), TZ="UTC")
    return subprocess.run(
        [str(bindir / tool), *args],
        cwd=base,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        **kwargs,
    )


def watch(fd: int, base: Path, bindir: Path, user: pwd.struct_passwd | None) -> None:
    """Wait until the pipe's other end is closed (its process stopped the server, or
    died) or this process is told to stop, then stop a server still running in `base`
    and delete `base`."""
    # A signal only wakes the wait (through a second pipe), never raises: one raised
    # between the "watching" line and the wait would end this process with nothing done.
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_write, False)
    signal.set_wakeup_fd(wake_write)
    for sig in STOP_SIGNALS:
        signal.signal(sig, lambda signum, frame: None)
    print("watching", flush=True)
    select.select([fd, wake_read], [], [])
    for sig in STOP_SIGNALS:
        signal.signal(sig, signal.SIG_IGN)  # the clean-up, once begun, is finished
    data = base / "data"
    if (data / "postmaster.pid").exists():
        _run(bindir, base, user, "pg_ctl", "-D", str(data), "-m", "immediate", "-w", "stop")
    shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__" and sys.argv[1:2] == ["watch"]:
    fd, base, bindir, *uid = sys.argv[2:]
    owner = pwd.getpwuid(int(uid[0])) if uid else None
    watch(int(fd), Path(base), Path(bindir), owner)
