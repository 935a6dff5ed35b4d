"""``gello queue:recent``: what workers completed, newest first, as a table or JSON."""

from __future__ import annotations

import json

from cli_harness import Cli


def test_recent_lists_completed_jobs_newest_first(cli: Cli) -> None:
    ledger = [
        cli.run("queue:dispatch", "Ledger", "--payload", json.dumps({"key": k})).stdout.strip()
        for k in ("a", "b")
    ]
    (cli.cwd / "flag").touch()
    toggle = cli.run(
        "queue:dispatch", "Toggle", "--payload", '{"key": "t"}', "--queue", "other"
    ).stdout.strip()
    cli.run("queue:work", "--queue", "default,other", "--stop-when-empty", "--name", "w-7")

    rows = json.loads(cli.run("queue:recent", "--json").stdout)
    assert {r["id"] for r in rows} == {*ledger, toggle}
    assert [r["finished_at"] for r in rows] == sorted(
        (r["finished_at"] for r in rows), reverse=True
    )
    one = next(r for r in rows if r["id"] == toggle)
    assert (one["name"], one["queue"], one["attempts"], one["worker"]) == (
        "Toggle",
        "other",
        1,
        "w-7",
    )
    assert one["wait_s"] >= 0
    assert one["runtime_s"] >= 0
    assert "payload" not in one  # kept only with QUEUE_KEEP_COMPLETED_PAYLOADS

    only = json.loads(cli.run("queue:recent", "--json", "--name", "Ledger", "--limit", "1").stdout)
    assert [r["id"] for r in only] == [rows[[r["name"] for r in rows].index("Ledger")]["id"]]
    assert [
        r["id"] for r in json.loads(cli.run("queue:recent", "--json", "--queue", "other").stdout)
    ] == [toggle]

    table = cli.run("queue:recent").stdout
    for shown in ("Completed jobs", "Toggle", "w-7"):
        assert shown in table

    status = json.loads(cli.run("queue:status", "--json").stdout)
    assert status["storage"]["completed"] == {"kept": 3, "per_queue": {"default": 2, "other": 1}}
    assert status["storage"]["limits"]["completed_max_per_queue"] == 1000


def test_recent_with_history_off_says_none_kept(cli: Cli) -> None:
    cli.env["QUEUE_KEEP_COMPLETED"] = "0"
    cli.run("queue:dispatch", "Ledger", "--payload", '{"key": "a"}')
    cli.run("queue:work", "--stop-when-empty")
    assert cli.run("queue:recent").stdout.strip() == "No completed jobs kept."
    out = cli.run("queue:recent", "--limit", "0", check=False)
    assert out.returncode != 0
    assert "--limit must be 1 to 10000" in out.stderr
