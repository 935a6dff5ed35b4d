"""`gello queue:check` as CI runs it before a deploy: what the stored jobs would meet with
the code about to run, in words and in JSON, and an exit code that stops the deploy."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
import stranded
from backends.redis import REDIS_URL, delete_prefix, unique_prefix
from cli_harness import HERE, Cli
from helpers import envelope

from gello_queue.drivers.redis import RedisDriver
from gello_queue.drivers.sqlite import SqliteDriver
from gello_queue.ports import QueueDriver


def on_storage(driver: QueueDriver, fill: Any) -> Any:
    async def main() -> Any:
        await driver.open()
        try:
            return await fill(driver)
        finally:
            await driver.close()

    return asyncio.run(main())


@pytest.fixture(params=["sqlite", "redis"])
def storage(request: pytest.FixtureRequest, cli: Cli) -> Iterator[tuple[Cli, Any]]:
    """The command's connection, and a driver on the same storage for the test."""
    # The app module imports the jobs from tests/stranded.py.
    cli.env["PYTHONPATH"] = f"{HERE}:{HERE.parent}"
    if request.param == "sqlite":
        yield cli, lambda: SqliteDriver(cli.env["DATABASE_URL"].removeprefix("sqlite:///"))
        return
    prefix = unique_prefix()
    cli.env.update(QUEUE_URL=REDIS_URL, QUEUE_PREFIX=prefix)
    yield cli, lambda: RedisDriver(REDIS_URL, prefix=prefix)
    on_storage(RedisDriver(REDIS_URL, prefix=prefix), lambda d: delete_prefix(d, prefix))


def test_jobs_this_code_could_not_run_are_listed_and_fail_the_check(
    storage: tuple[Cli, Any],
) -> None:
    cli, driver = storage
    ids = on_storage(driver(), stranded.seed)
    cli.env["COLUMNS"] = "250"  # the table's rows whole, one per line
    out = cli.run("queue:check", "--app", "app_versions", check=False)
    assert out.returncode == 1, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "Checked 4 pending, 2 scheduled, 1 reserved and 2 failed jobs."
    rows = {
        tuple(cell.strip() for cell in line.split("│")[1:5])
        for line in lines
        if line.startswith("│")
    }
    assert ("Invoice", "invalid payload", "2", "2 pending") in rows
    assert ("Invoice", "newer version", "2", "1 reserved, 1 failed") in rows
    assert ("SendFax", "not registered", "2", "2 scheduled") in rows
    for sample in (ids["invalid"], ids["newer"], ids["renamed"]):
        assert sample in out.stdout
    assert "did you mean 'SendFaxes'?" in out.stdout
    assert lines[-1].startswith("6 job(s) would be stranded by this code")

    out = cli.run("queue:check", "--app", "app_versions", "--json", check=False)
    assert out.returncode == 1, out.stderr
    data = orjson.loads(out.stdout)
    assert data["ok"] is False
    assert data["checked"] == {"pending": 4, "scheduled": 2, "reserved": 1, "failed": 2}
    assert data["stranded_count"] == 6
    assert data["stranded"] == stranded.expected(ids)
    assert data["unchecked"] == []


def test_storage_this_code_can_run_passes_the_check(storage: tuple[Cli, Any]) -> None:
    cli, driver = storage

    async def fill(d: QueueDriver) -> None:
        await d.push(
            [
                envelope(name="Invoice", payload={"amount": 5}),  # upcast from version 1
                envelope(name="SendFaxes", payload={"number": "1"}),
            ]
        )

    on_storage(driver(), fill)
    out = cli.run("queue:check", "--app", "app_versions")
    assert out.stdout.splitlines() == [
        "Checked 2 pending, 0 scheduled, 0 reserved and 0 failed jobs.",
        "Every job checked can run with this code.",
    ]
    data = orjson.loads(cli.run("queue:check", "--app", "app_versions", "--json").stdout)
    assert (data["ok"], data["stranded_count"], data["stranded"]) == (True, 0, [])


def test_without_an_app_module_nothing_is_checked(cli: Cli) -> None:
    cli.env.pop("GELLO_APP")
    out = cli.run("queue:check", check=False)
    assert out.returncode == 1
    [line] = out.stderr.splitlines()
    assert line.startswith("error: no app module names the jobs to check against")


def test_a_failed_import_checks_payloads_as_a_worker_reads_them_upcast_first() -> None:
    from gello_cli.commands.failed_io import FORMAT, validate

    def line(env: Any) -> bytes:
        fields = {"exception": "X", "message": "m", "traceback": "", "failed_at": 1.0}
        return orjson.dumps(
            {"format": FORMAT, "id": env.id, "queue": env.queue, "name": env.name,
             "body": env.encode().decode(), "attempts": 1, **fields}
        )  # fmt: skip

    old = envelope(name="Invoice", payload={"amount": 5})
    newer = envelope(name="Invoice", payload={"cents": 1, "currency": "EUR"}, payload_version=3)
    records, problems = validate([line(old), line(newer)], stranded.registry())
    assert [r["id"] for r in records] == [old.id]
    assert problems == [
        "line 2: Invoice cannot run here: payload version 3 of Invoice is newer than this"
        " code's version 2: it waits for a worker running the newer code"
    ]
