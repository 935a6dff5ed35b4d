"""Servers a test owns: a loopback port nothing listens on, and Redis or PostgreSQL
started on a port of their own so a test may stop them without touching the shared ones.

The password in the URLs these give is ``SECRET``: outage errors must never show it.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from helpers import wait_for

SECRET = "s3cret-Pw"


def free_port() -> int:
    """A loopback port free now: nothing listens on it once this returns."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def _need(program: str) -> str:
    found = shutil.which(program)
    if found is None:
        raise AssertionError(f"{program} is not installed: run scripts/services.sh")
    return found


@contextmanager
def own_redis(data: Path) -> Iterator[tuple[str, Stopper]]:
    """A Redis server with password ``SECRET`` on a port of its own: its URL, and a
    function that stops it (and waits until the port no longer answers)."""
    port = free_port()
    subprocess.run(
        [_need("redis-server"), "--port", str(port), "--bind", "127.0.0.1",
         "--daemonize", "yes", "--dir", str(data), "--save", "", "--appendonly", "no",
         "--requirepass", SECRET],
        check=True,
    )  # fmt: skip
    wait_for(lambda: _answers(port))
    stopper = Stopper(
        port,
        ["redis-cli", "-p", str(port), "--no-auth-warning", "-a", SECRET, "shutdown", "nosave"],
    )
    try:
        yield f"redis://:{SECRET}@127.0.0.1:{port}/0", stopper
    finally:
        stopper()


@contextmanager
def own_postgres() -> Iterator[tuple[str, Stopper]]:
    """A PostgreSQL server on a port of its own (a fresh cluster, trust authentication;
    the URL still carries ``SECRET`` so a leak would show): its URL and a function that
    stops it immediately, as a crash would look to clients."""
    initdb, pg_ctl = _need("initdb"), _need("pg_ctl")
    port = free_port()
    # PostgreSQL refuses to run as root: run it as the postgres account then, in a
    # directory that account can reach (pytest's are private to the user).
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    home = Path(tempfile.mkdtemp(prefix="gello-pg-"))
    home.chmod(0o755)
    data = home / "data"
    data.mkdir(mode=0o700)
    if as_user:
        shutil.chown(data, "postgres", "postgres")
    stopper = Stopper(port, [*as_user, pg_ctl, "-D", str(data), "-m", "immediate", "stop"])
    try:
        subprocess.run(
            [*as_user, initdb, "-D", str(data), "-U", "postgres", "-A", "trust", "--no-sync"],
            check=True,
            capture_output=True,
        )
        options = f"-p {port} -k {data} -c listen_addresses=127.0.0.1 -c fsync=off"
        subprocess.run(
            [*as_user, pg_ctl, "-D", str(data), "-o", options, "-l", str(data / "log"),
             "-w", "start"],
            check=True,
            capture_output=True,
        )  # fmt: skip
        yield f"postgresql://postgres:{SECRET}@127.0.0.1:{port}/postgres", stopper
    finally:
        stopper()
        shutil.rmtree(home, ignore_errors=True)


class Stopper:
    """Stops a server once; returns when its port no longer answers."""

    def __init__(self, port: int, command: list[str]) -> None:
        self.port, self.command, self.stopped = port, command, False

    def __call__(self) -> None:
        if self.stopped:
            return
        self.stopped = True
        subprocess.run(self.command, capture_output=True, check=False)
        wait_for(lambda: not _answers(self.port))
