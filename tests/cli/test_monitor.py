"""`gello queue:monitor --once / --json / --max` and start-up errors, as subprocesses."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cli_harness import Cli

from gello_queue.drivers.sqlite import SqliteDriver

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tui"))
from seed import seed


@pytest.fixture
def seeded(cli: Cli) -> Cli:
    async def main() -> None:
        driver = SqliteDriver(cli.env["DATABASE_URL"].removeprefix("sqlite:///"))
        await driver.open()
        try:
            await seed(driver, time.time())
        finally:
            await driver.close()

    asyncio.run(main())
    return cli


def test_once_prints_the_overview(seeded: Cli) -> None:
    out = seeded.run("queue:monitor", "--once").stdout
    assert "jobs/min" in out
    assert "pending 15" in out
    assert "(emails)" in out
    assert "emails" in out
    assert "webhooks" in out
    assert "worker-a" in out


def test_json_for_scripts(seeded: Cli) -> None:
    data = json.loads(seeded.run("queue:monitor", "--once", "--json").stdout)
    assert data["pending"] == 15
    assert data["queues"]["emails"]["pending"] == 12
    assert data["queues"]["emails"]["scheduled"] == 4
    assert data["queues"]["webhooks"]["failed"] == 2
    assert data["max_wait"]["queue"] == "emails"
    assert data["failed_last_hour"] == 12
    assert {w["name"] for w in data["workers"]} == {"worker-a", "worker-b"}
    assert data["over_max"] == []


def test_queue_option_watches_some_queues(seeded: Cli) -> None:
    data = json.loads(seeded.run("queue:monitor", "--json", "--queue", "reports,missing").stdout)
    assert sorted(data["queues"]) == ["missing", "reports"]
    assert data["pending"] == 3
    assert {w["name"] for w in data["workers"]} == {"worker-a", "worker-b"}


def test_max_sets_the_exit_code(seeded: Cli) -> None:
    over = seeded.run("queue:monitor", "--max", "10", check=False)
    assert over.returncode == 1
    assert over.stderr.strip() == "queue 'emails' holds 12 pending jobs (max 10)"
    assert seeded.run("queue:monitor", "--max", "12").returncode == 0
    watched = seeded.run("queue:monitor", "--max", "10", "--queue", "reports", "--json")
    assert json.loads(watched.stdout)["over_max"] == []


def test_unreachable_server_is_one_line_and_exit_1(cli: Cli) -> None:
    cli.env["QUEUE_URL"] = "redis://:s3cret@127.0.0.1:1/0"
    for args in (["queue:monitor"], ["queue:monitor", "--once"]):
        out = cli.run(*args, check=False, timeout=30)
        assert out.returncode == 1, out
        lines = out.stderr.strip().splitlines()
        assert len(lines) == 1, out.stderr
        assert lines[0].startswith("error: "), out.stderr
        assert "s3cret" not in out.stderr
        assert out.stdout == ""


def test_help_does_not_import_textual() -> None:
    code = (
        "import sys\n"
        "from gello_cli.app import app\n"
        "try:\n    app(['--help'])\nexcept SystemExit:\n    pass\n"
        "assert 'textual' not in sys.modules, 'gello --help imported textual'\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "queue:monitor" in out.stdout
