"""``gello queue:batches`` and ``queue:batch``: each batch's state says whether any of
its jobs failed, as the dashboard's Batches screen does."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace

from cli_harness import Cli

from gello_queue import BatchRecord, Queue


def test_a_running_batch_with_a_failure_says_so(cli: Cli) -> None:
    async def seed() -> None:
        queue = Queue(cli.env["DATABASE_URL"])
        try:
            driver = await queue.driver()
            await driver.batch_push(BatchRecord("b-import", "import", 3), [])
            await driver.batch_mark("b-import", "j1", False)
            await driver.batch_mark("b-import", "j2", True)
            await driver.batch_push(BatchRecord("b-done", "report", 1), [])
            await driver.batch_mark("b-done", "j3", False)
        finally:
            await queue.close()

    asyncio.run(seed())
    rows = {r["id"]: r for r in json.loads(cli.run("queue:batches", "--json").stdout)}
    running = rows["b-import"]
    assert (running["state"], running["has_failures"], running["status"]) == (
        "running",
        True,
        "running with failures",
    )
    assert (running["pending"], running["processed"], running["failed"]) == (1, 1, 1)
    done = rows["b-done"]
    assert (done["state"], done["has_failures"], done["status"]) == ("finished", False, "finished")
    wide = replace(cli, env={**cli.env, "COLUMNS": "200"})  # no cell wrapped
    assert "running with failures" in wide.run("queue:batches").stdout
    detail = json.loads(cli.run("queue:batch", "b-import", "--json").stdout)
    assert detail["failed_ids"] == ["j2"]
    assert "status: running with failures" in cli.run("queue:batch", "b-import").stdout
