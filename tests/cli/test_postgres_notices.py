"""A PostgreSQL server without autovacuum is said once per worker start and by the status
commands, not by every command (each printed the JSON warning)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_harness import Cli


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def as_postgres(command: str) -> None:
    subprocess.run(["su", "postgres", "-s", "/bin/sh", "-c", command], check=True, timeout=60)


@pytest.fixture
def no_autovacuum() -> Iterator[str]:
    """A PostgreSQL server of this test's own, on a free loopback port, autovacuum off
    (run as the postgres user, in a directory it can reach: pytest's are private)."""
    home = Path(tempfile.mkdtemp(prefix="gello-pg-"))
    shutil.chown(home, "postgres")
    data, port = home / "data", free_port()
    as_postgres(f"initdb -D {data} -A trust -U postgres >/dev/null")
    options = f"-p {port} -k {home} -c listen_addresses=127.0.0.1 -c autovacuum=off"
    as_postgres(f"pg_ctl -D {data} -o '{options}' -l {home}/log -w start >/dev/null")
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        as_postgres(f"pg_ctl -D {data} -m immediate stop >/dev/null")
        shutil.rmtree(home, ignore_errors=True)


def test_autovacuum_off_is_said_by_workers_and_status_only(cli: Cli, no_autovacuum: str) -> None:
    cli.env["QUEUE_URL"] = no_autovacuum
    cli.run("queue:migrate")
    for args in (
        ("queue:dispatch", "Ledger", "--payload", '{"key": "k"}'),
        ("queue:failed",),
        ("queue:retry-all",),
    ):
        assert "autovacuum" not in cli.run(*args).stderr, args
    status = cli.run("queue:status")
    assert "postgres_autovacuum_off" not in status.stderr
    assert "warning: autovacuum is off on the PostgreSQL server" in status.stdout
    health = cli.run("queue:health", "--backend-only")
    assert "warning: autovacuum is off on the PostgreSQL server" in health.stdout
    worker = cli.run("queue:work", "--stop-when-empty", "--sleep", "0.05")
    assert worker.stderr.count("postgres_autovacuum_off") == 1
    assert cli.runs() == ["k"]
