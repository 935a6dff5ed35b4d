"""The real `gello` command in subprocesses: dispatch, work, fail, retry, status."""

from __future__ import annotations

import json
import signal

from cli_harness import Cli
from helpers import wait_for


def test_dispatch_work_fail_retry_and_complete(cli: Cli) -> None:
    for key in ("a", "b"):
        cli.run("queue:dispatch", "Ledger", "--payload", json.dumps({"key": key}))
    broken = cli.run("queue:dispatch", "Toggle", "--payload", '{"key": "t"}').stdout.strip()
    cli.run("queue:work", "--stop-when-empty", "--sleep", "0.05")
    assert sorted(cli.runs()) == ["a", "b"]

    failed = json.loads(cli.run("queue:failed", "--json").stdout)
    assert [(f["id"], f["name"], f["attempts"]) for f in failed] == [(broken, "Toggle", 2)]
    assert failed[0]["message"] == "feature flag missing"
    assert "Toggle" in cli.run("queue:failed").stdout

    (cli.cwd / "flag").touch()  # the fix is deployed
    assert "Retried 1 job(s)." in cli.run("queue:retry-all").stdout
    status = json.loads(cli.run("queue:status", "--json").stdout)
    assert status["queues"]["default"]["pending"] == 1
    assert status["queues"]["default"]["failed"] == 0
    cli.run("queue:work", "--stop-when-empty", "--sleep", "0.05")
    assert sorted(cli.runs()) == ["a", "b", "t"]
    assert json.loads(cli.run("queue:failed", "--json").stdout) == []


def test_retry_forget_flush_and_prune_by_id(cli: Cli) -> None:
    ids = [
        cli.run("queue:dispatch", "Toggle", "--payload", json.dumps({"key": k})).stdout.strip()
        for k in ("x", "y", "z")
    ]
    cli.run("queue:work", "--stop-when-empty", "--sleep", "0.05")
    assert "Retried 1 job(s)." in cli.run("queue:retry", ids[0]).stdout
    missing = cli.run("queue:retry", "no-such-id", check=False)
    assert missing.returncode == 1
    assert "not found" in missing.stdout
    assert "Forgot" in cli.run("queue:forget", ids[1]).stdout
    assert cli.run("queue:forget", ids[1], check=False).returncode == 1
    assert "Pruned 0" in cli.run("queue:prune-failed", "--hours", "1").stdout
    assert "Deleted 1 failed job(s)." in cli.run("queue:flush", "--force").stdout
    assert "Cleared 1 jobs" in cli.run("queue:clear", "default", "--force").stdout


def test_bad_input_is_one_line_and_non_zero(cli: Cli) -> None:
    out = cli.run("queue:dispatch", "Ledger", "--payload", "{nope", check=False)
    assert out.returncode == 1
    assert out.stderr.strip().startswith("error: --payload is not valid JSON")
    assert len(out.stderr.strip().splitlines()) == 1
    out = cli.run("queue:dispatch", "Ledger", "--payload", '{"key": 5}', check=False)
    assert "Ledger payload is invalid: key" in out.stderr
    out = cli.run("queue:dispatch", "Nope", check=False)
    assert "no job named 'Nope'" in out.stderr
    env_before = dict(cli.env)
    cli.env["QUEUE_DRIVER"] = "kafka"
    out = cli.run("queue:status", check=False)
    assert out.returncode == 1
    assert out.stderr.startswith("error: invalid setting: QUEUE_DRIVER")
    cli.env = env_before
    out = cli.run("queue:work", "--app", "missing_module", check=False)
    assert out.returncode == 1
    assert "cannot import app module 'missing_module'" in out.stderr
    out = cli.run("queue:work", "--concurrency", "0", check=False)
    assert out.returncode == 2  # Typer's usage error


def test_status_lists_a_live_worker_and_restart_stops_it(cli: Cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    worker = cli.spawn(
        "queue:work", "--name", "w-one", "--queue", "high,default", "--sleep", "0.05"
    )
    try:
        seen = wait_for(lambda: json.loads(cli.run("queue:status", "--json").stdout)["workers"])
        assert seen[0]["name"] == "w-one"
        assert seen[0]["queues"] == ["high", "default"]
        assert "w-one" in cli.run("queue:status").stdout
        cli.run("queue:restart")
        assert worker.wait(timeout=30) == 0
    finally:
        worker.kill()
    assert json.loads(cli.run("queue:status", "--json").stdout)["workers"] == []


def test_pause_and_resume_a_queue(cli: Cli) -> None:
    cli.run("queue:pause", "default")
    cli.run("queue:dispatch", "Ledger", "--payload", '{"key": "p"}')
    worker = cli.spawn("queue:work", "--sleep", "0.05")
    try:
        status = json.loads(cli.run("queue:status", "--json").stdout)
        assert status["queues"]["default"]["paused"] is True
        wait_for(lambda: json.loads(cli.run("queue:status", "--json").stdout)["workers"])
        assert cli.runs() == []
        cli.run("queue:resume", "default")
        wait_for(lambda: cli.runs() == ["p"])
    finally:
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0


def test_once_and_max_jobs(cli: Cli) -> None:
    for key in "abc":
        cli.run("queue:dispatch", "Ledger", "--payload", json.dumps({"key": key}))
    cli.run("queue:work", "--once")
    assert len(cli.runs()) == 1
    cli.run("queue:work", "--max-jobs", "2", "--sleep", "0.05")
    assert len(cli.runs()) == 3


def test_demo_runs_on_a_fresh_machine(cli: Cli) -> None:
    out = cli.run("demo", timeout=60)
    assert "ChargeCard" in out.stdout
    assert "payments" in out.stdout
    assert "Retry the failed job" in out.stdout
