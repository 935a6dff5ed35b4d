"""``gello queue:jobs --tag``: the waiting, scheduled, running, failed and completed jobs
carrying a tag, with how many in each state; ``queue:recent --tag``."""

from __future__ import annotations

import json

from cli_harness import Cli


def charge(cli: Cli, customer: int, key: str, *more: str) -> str:
    payload = json.dumps({"customer_id": customer, "key": key})
    return cli.run("queue:dispatch", "ChargeCustomer", "--payload", payload, *more).stdout.strip()


def test_jobs_by_tag_in_every_state(cli: Cli) -> None:
    done = charge(cli, 42, "ok")
    declined = charge(cli, 42, "decline")
    charge(cli, 7, "other")
    cli.run("queue:work", "--stop-when-empty")
    scheduled = charge(cli, 42, "later", "--delay", "3600")
    pending = charge(cli, 42, "now")
    charge(cli, 7, "not-mine")

    found = json.loads(cli.run("queue:jobs", "--tag", "customer:42", "--json").stdout)
    assert [j["id"] for j in found["pending"]["jobs"]] == [pending]
    assert [j["id"] for j in found["scheduled"]["jobs"]] == [scheduled]
    assert found["reserved"]["count"] == 0
    assert [j["id"] for j in found["failed"]["jobs"]] == [declined]
    assert [j["id"] for j in found["completed"]["jobs"]] == [done]
    assert found["completed"]["count"] == 1
    assert all(found[s]["complete"] for s in found)

    billing = json.loads(cli.run("queue:jobs", "--tag", "billing", "--json").stdout)
    assert billing["pending"]["count"] == 2
    narrowed = cli.run("queue:jobs", "--tag", "billing", "--filter", "age:<1h", "--json")
    assert json.loads(narrowed.stdout)["pending"]["count"] == 2

    text = cli.run("queue:jobs", "--tag", "customer:42").stdout
    assert "pending: 1 (showing 1)" in text
    assert "failed: 1 (showing 1)" in text
    assert "reserved: none" in text
    assert "completed: 1 (showing 1)" in text
    assert pending in text

    recent = json.loads(cli.run("queue:recent", "--tag", "customer:42", "--json").stdout)
    assert [(r["id"], r["tags"]) for r in recent] == [(done, ["billing", "customer:42"])]
    assert json.loads(cli.run("queue:recent", "--tag", "customer:4", "--json").stdout) == []


def test_completed_jobs_say_when_history_is_off(cli: Cli) -> None:
    cli.env["QUEUE_KEEP_COMPLETED"] = "0"
    charge(cli, 42, "ok")
    cli.run("queue:work", "--stop-when-empty")
    found = json.loads(cli.run("queue:jobs", "--tag", "customer:42", "--json").stdout)
    assert found["completed"]["count"] == 0


def test_a_bad_filter_or_limit_is_one_line(cli: Cli) -> None:
    out = cli.run("queue:jobs", "--filter", "age:>soon", check=False)
    assert out.returncode != 0
    assert "not an age" in out.stderr
    assert "Traceback" not in out.stderr
    out = cli.run("queue:jobs", "--limit", "0", check=False)
    assert "--limit must be 1 to 1000" in out.stderr


def test_monitored_tags_with_their_counts(cli: Cli) -> None:
    assert "No monitored tags" in cli.run("queue:tags").stdout
    assert cli.run("queue:tags", "--monitor", "customer:42").stdout.strip() == (
        "customer:42: now monitored"
    )
    assert "already monitored" in cli.run("queue:tags", "--monitor", "customer:42").stdout
    done = charge(cli, 42, "ok")
    charge(cli, 42, "decline")
    plain = charge(cli, 7, "other")
    cli.run("queue:work", "--stop-when-empty")
    charge(cli, 42, "later", "--delay", "3600")

    (row,) = json.loads(cli.run("queue:tags", "--json").stdout)
    assert row == {
        "tag": "customer:42",
        "completed": 1,
        "failed": 1,
        "waiting": 1,
        "complete": True,
    }
    assert "customer:42" in cli.run("queue:tags").stdout
    recent = {r["id"]: r for r in json.loads(cli.run("queue:recent", "--json").stdout)}
    assert set(recent) == {done, plain}

    out = cli.run("queue:tags", "--unmonitor", "customer:42").stdout
    assert out.strip() == "customer:42: no longer monitored"
    assert json.loads(cli.run("queue:tags", "--json").stdout) == []
    bad = cli.run("queue:tags", "--monitor", " ", check=False)
    assert bad.returncode != 0
    assert "a tag must be a non-empty string" in bad.stderr
    assert "Traceback" not in bad.stderr
