"""`queue:retry-all` and `queue:flush` show how far they got on a terminal, step by step."""

from __future__ import annotations

import io
import time

import pytest
from helpers import envelope

from gello_cli.commands.failed import run_in_steps
from gello_queue import Queue
from gello_queue.inspection import FailedFilter, Inspector
from gello_queue.ports import FailedJob


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("action", ["retry", "purge"])
async def test_a_bulk_action_prints_its_progress_on_a_terminal(
    action: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    queue = Queue("memory://cli-progress-" + action)
    driver = await queue.driver()
    records = []
    for n in range(2_500):
        env = envelope("mail", name="Mailer")
        records.append(
            FailedJob(
                env.id, "mail", "Mailer", env.encode().decode(), "E", "m", "", time.time() - n, 1
            )
        )
    await driver.failed_import(records)
    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    inspector = Inspector(queue)
    match = FailedFilter(queue="mail")
    steps = (
        inspector.retry_matching_steps(match)
        if action == "retry"
        else inspector.purge_matching_steps(match)
    )
    try:
        assert await run_in_steps(inspector, steps, "Done", match) == 2_500
    finally:
        await queue.close()
    shown = terminal.getvalue()
    assert shown.split("\r")[1:] == [
        "Done 1,000 / 2,500",
        "Done 2,000 / 2,500",
        "Done 2,500 / 2,500\n",
    ]
