"""`gello queue:work --processes 2..4 --balance auto`: processes move to the queue with
the work, a few at a time, and back once it is done."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest
from app_jobs import Ledger
from cli_harness import Cli
from helpers import wait_for

from gello_queue import Queue


def processes_per_queue(cli: Cli) -> dict[str, int]:
    status = json.loads(cli.run("queue:status", "--json").stdout)
    per_queue: dict[str, int] = {}
    for worker in status["workers"]:
        if worker["state"] in ("running", "paused"):
            for queue in worker["queues"]:
                per_queue[queue] = per_queue.get(queue, 0) + 1
    return per_queue


@pytest.mark.timeout(180)
def test_processes_follow_the_work_between_queues(cli: Cli, tmp_path: Path) -> None:
    queue = Queue(cli.env["DATABASE_URL"])
    queue.bulk_blocking([Ledger.make(key=f"b{i}", seconds=0.3).on_queue("busy") for i in range(60)])
    queue.close_blocking()
    log = tmp_path / "supervisor.log"
    sup = cli.spawn(
        "queue:work", "--processes", "2..4", "--balance", "auto", "--queue", "busy,idle",
        "--balance-cooldown", "0.5", "--sleep", "0.05", "--name", "pool", "--log-format", "json",
        log=log,
    )  # fmt: skip
    try:
        # One process per queue to start with, then busy grows one per decision to 3 (the
        # pool's 4 less idle's minimum of 1).
        wait_for(lambda: processes_per_queue(cli).get("busy", 0) == 3, timeout_s=60)
        assert processes_per_queue(cli)["idle"] == 1
        wait_for(lambda: len(cli.runs()) == 60, timeout_s=90)
        # No work left: busy shrinks back to its share of the pool's minimum.
        wait_for(lambda: processes_per_queue(cli) == {"busy": 1, "idle": 1}, timeout_s=60)
        sup.send_signal(signal.SIGTERM)
        assert sup.wait(timeout=30) == 0
    finally:
        sup.kill()
    decisions = [
        json.loads(line)
        for line in log.read_text().splitlines()
        if line.startswith("{") and '"balanced"' in line
    ]
    steps = [d["processes"]["busy"] for d in decisions]
    assert steps[:2] == ["1->2", "2->3"], steps
    assert steps[-1] in ("2->1", "3->2"), steps
    assert sorted(cli.runs()) == sorted(f"b{i}" for i in range(60))
    # Every dashboard sees the decisions too: kept among the operational events.
    events = json.loads(cli.run("queue:status", "--json").stdout)["events"]
    balanced = [e for e in events if e["kind"] == "balanced"]
    assert balanced, events
    assert balanced[0]["detail"].startswith("busy ")
    assert "->1 (0s of work)" in balanced[0]["detail"]  # the newest: busy shrinking back


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["--processes", "2..8"], "--processes 2..8: a range needs --balance auto"),
        (["--processes", "2..8", "--balance", "auto"], "name them, e.g. --queue emails,reports"),
        (["--processes", "8..2", "--balance", "auto", "--queue", "a"], "1 <= MIN <= MAX"),
        (["--processes", "1..4", "--balance", "auto", "--queue", "a,b,c", "--min-processes", "2"],
         "3 queues at --min-processes 2 need 6 processes"),
        (["--balance", "auto", "--queue", "a"], "--balance auto needs --processes MIN..MAX"),
        (["--processes", "2", "--balance", "sometimes"], "--balance must be off or auto"),
        (["--processes", "1..2", "--balance", "auto", "--queue", "a", "--once"],
         "--balance auto runs until stopped"),
    ],
)  # fmt: skip
def test_balancing_options_that_cannot_work_get_one_line(
    cli: Cli, args: list[str], error: str
) -> None:
    out = cli.run("queue:work", *args, check=False)
    assert out.returncode != 0
    assert error in out.stderr
    assert "Traceback" not in out.stderr
