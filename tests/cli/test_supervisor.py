"""`gello queue:work --processes N`: one command, N workers, crashed ones restarted."""

from __future__ import annotations

import json
import os
import signal
import subprocess

from cli_harness import Cli
from helpers import wait_for


def worker_names(cli: Cli) -> list[str]:
    status = json.loads(cli.run("queue:status", "--json").stdout)
    return sorted(str(w["name"]) for w in status["workers"])


def children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


def test_supervisor_restarts_a_killed_worker_and_stops_them_all(cli: Cli) -> None:
    sup = cli.spawn("queue:work", "--processes", "2", "--sleep", "0.05", "--name", "pool")
    try:
        wait_for(lambda: worker_names(cli) == ["pool-0", "pool-1"])
        before = children(sup.pid)
        assert len(before) == 2
        os.kill(before[0], signal.SIGKILL)  # a crash: the supervisor starts a replacement
        wait_for(lambda: len(now := children(sup.pid)) == 2 and before[0] not in now)
        for i in range(6):
            cli.run("queue:dispatch", "Ledger", "--payload", json.dumps({"key": f"s{i}"}))
        wait_for(lambda: len(cli.runs()) == 6)
        sup.send_signal(signal.SIGTERM)
        assert sup.wait(timeout=30) == 0
        assert children(sup.pid) == []
    finally:
        sup.kill()


def test_bounded_supervised_runs_end_when_the_work_is_done(cli: Cli) -> None:
    for i in range(10):
        cli.run("queue:dispatch", "Ledger", "--payload", json.dumps({"key": f"b{i}"}))
    cli.run("queue:work", "--processes", "2", "--stop-when-empty", "--sleep", "0.05")
    assert sorted(cli.runs()) == sorted(f"b{i}" for i in range(10))
