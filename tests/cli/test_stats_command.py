"""`gello queue:stats` on a real database after a real worker ran known jobs."""

from __future__ import annotations

import json

from cli_harness import Cli

from gello_queue.core.timing import bucket_of


def test_stats_show_run_times_counts_and_failure_rate_per_queue_and_class(cli: Cli) -> None:
    for key in ("a", "b", "c"):
        cli.run("queue:dispatch", "Ledger", "--payload", json.dumps({"key": key, "seconds": 0.2}))
    cli.run("queue:dispatch", "Toggle", "--payload", '{"key": "t"}')  # fails both tries
    cli.run("queue:work", "--stop-when-empty", "--sleep", "0.05")

    report = json.loads(cli.run("queue:stats", "--since", "15m", "--json").stdout)
    assert report["window_s"] == 900
    [default] = report["queues"]
    assert (default["queue"], default["processed"], default["failed"]) == ("default", 3, 1)
    assert default["failure_rate"] == 0.25
    jobs = {j["job"]: j for j in report["jobs"]}
    assert (jobs["Ledger"]["processed"], jobs["Ledger"]["failed"]) == (3, 0)
    assert (jobs["Toggle"]["processed"], jobs["Toggle"]["failed"]) == (0, 1)
    assert jobs["Toggle"]["failure_rate"] == 1.0
    # A 200 ms sleep: never shorter, and not taken for anything much longer.
    assert bucket_of(0.2) <= bucket_of(jobs["Ledger"]["run_p50_s"]) < bucket_of(0.4)
    assert jobs["Ledger"]["wait_p50_s"] >= 0

    table = cli.run("queue:stats").stdout
    assert "Per queue, last 1h" in table
    assert "Per job class, last 1h" in table
    assert "Ledger" in table
    assert "25% (1/4)" in table
    assert "Toggle" in table


def test_stats_of_an_idle_backend_and_a_bad_window(cli: Cli) -> None:
    assert "No job ran in the last 1h." in cli.run("queue:stats").stdout
    assert json.loads(cli.run("queue:stats", "--json").stdout)["queues"] == []
    bad = cli.run("queue:stats", "--since", "yesterday", check=False)
    assert bad.returncode == 1
    assert bad.stderr.strip().splitlines() == [
        "error: --since: not a duration: 'yesterday' (use e.g. 90s, 15m, 1h or 2d)"
    ]
