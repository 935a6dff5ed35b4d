"""A worker killed mid-job loses nothing; a stopped one finishes or releases its jobs."""

from __future__ import annotations

import json
import signal
import socket
import sqlite3

from cli_harness import Cli
from helpers import wait_for


def test_sigkill_mid_job_loses_nothing(cli: Cli) -> None:
    cli.run("queue:dispatch", "Ledger", "--payload", '{"key": "slow", "seconds": 30}')
    victim = cli.spawn("queue:work", "--sleep", "0.05")
    wait_for(lambda: cli.runs("start") == ["slow"])
    victim.kill()  # SIGKILL: no cleanup, the lease stays behind
    victim.wait(timeout=10)
    status = json.loads(cli.run("queue:status", "--json").stdout)
    assert status["queues"]["default"]["reserved"] == 1

    # A healthy worker rescues the job once its 2 s lease runs out, and runs it again.
    sqlite3.connect(cli.env["DATABASE_URL"].removeprefix("sqlite:///")).execute(
        "UPDATE gello_jobs SET body = json_set(body, '$.payload.seconds', 0)"
    ).connection.commit()
    rescuer = cli.spawn("queue:work", "--sleep", "0.05")
    try:
        wait_for(lambda: cli.runs("done") == ["slow"], timeout_s=30)
    finally:
        rescuer.send_signal(signal.SIGTERM)
        assert rescuer.wait(timeout=30) == 0
    assert cli.runs("start") == ["slow", "slow"]
    status = json.loads(cli.run("queue:status", "--json").stdout)
    assert status["queues"].get("default", {"reserved": 0, "pending": 0})["reserved"] == 0
    # The rescue is told, naming the killed worker as the Workers screen does.
    victim_label = f"{socket.gethostname()}:{victim.pid}/"
    [event] = status["events"]
    assert (event["kind"], len(event["jobs"]), event["failed"]) == ("rescue", 1, [])
    assert event["worker"].startswith(victim_label)
    assert f"1 job of {victim_label}" in cli.run("queue:status").stdout


def test_sigterm_lets_running_jobs_finish(cli: Cli) -> None:
    for i in range(4):
        cli.run("queue:dispatch", "Ledger", "--payload", json.dumps({"key": f"j{i}", "seconds": 1}))
    worker = cli.spawn("queue:work", "--concurrency", "4", "--sleep", "0.05")
    wait_for(lambda: len(cli.runs("start")) == 4)
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=30) == 0
    assert sorted(cli.runs("done")) == ["j0", "j1", "j2", "j3"]
    # The drained queue stays listed (its throughput knows it), with nothing left in it.
    queues = json.loads(cli.run("queue:status", "--json").stdout)["queues"]
    assert all(
        (q["pending"], q["scheduled"], q["reserved"], q["failed"]) == (0, 0, 0, 0)
        for q in queues.values()
    )


def test_sigterm_past_the_grace_period_releases_jobs_back(cli: Cli) -> None:
    for i in range(3):
        cli.run(
            "queue:dispatch", "Ledger", "--payload", json.dumps({"key": f"k{i}", "seconds": 60})
        )
    worker = cli.spawn("queue:work", "--concurrency", "3", "--grace", "0.2", "--sleep", "0.05")
    wait_for(lambda: len(cli.runs("start")) == 3)
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=30) == 0
    queues = json.loads(cli.run("queue:status", "--json").stdout)["queues"]
    assert (queues["default"]["pending"], queues["default"]["reserved"]) == (3, 0)
    db = sqlite3.connect(cli.env["DATABASE_URL"].removeprefix("sqlite:///"))
    assert {r[0] for r in db.execute("SELECT attempts FROM gello_jobs")} == {0}


def test_poison_messages_go_to_the_failed_store_and_the_worker_goes_on(cli: Cli) -> None:
    cli.run("queue:dispatch", "Ledger", "--payload", '{"key": "before"}')
    cli.run("queue:status")  # creates the schema
    db = sqlite3.connect(cli.env["DATABASE_URL"].removeprefix("sqlite:///"))
    rows = {
        "raw": "\x80\x04garbage",
        "json": "{not json",
        "unknown": json.dumps(
            {"v": 1, "id": "unknown", "name": "Nope", "queue": "default", "payload": {}}
        ),
        "invalid": json.dumps(
            {"v": 1, "id": "invalid", "name": "Ledger", "queue": "default", "payload": {"key": 1}}
        ),
    }
    for job_id, body in rows.items():
        db.execute(
            "INSERT INTO gello_jobs (id, queue, priority, available_at, created_at, attempts,"
            " max_attempts, body) VALUES (?, 'default', 0, 0, 0, 0, 3, ?)",
            (job_id, body),
        )
    db.commit()
    cli.run("queue:dispatch", "Ledger", "--payload", '{"key": "after"}')
    cli.run("queue:work", "--stop-when-empty", "--sleep", "0.05")
    assert sorted(cli.runs()) == ["after", "before"]
    failed = {f["id"]: f for f in json.loads(cli.run("queue:failed", "--json").stdout)}
    assert set(failed) == set(rows)
    assert failed["raw"]["message"].startswith("not a gello envelope: not valid JSON")
    assert failed["json"]["message"].startswith("not a gello envelope: not valid JSON")
    assert "no job named 'Nope'" in failed["unknown"]["message"]
    assert failed["invalid"]["message"].startswith("payload is invalid: key")
    stored = db.execute("SELECT body FROM gello_failed_jobs WHERE id = 'json'").fetchone()[0]
    assert stored == "{not json"  # the raw value is kept
