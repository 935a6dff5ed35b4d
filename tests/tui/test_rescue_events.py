"""A worker that dies holding jobs: another worker's rescue pass takes them back, and the
dashboard, reading only the backend, says whose jobs they were and when."""

from __future__ import annotations

import asyncio

import pytest
from helpers import envelope, eventually
from tui_support import Env, loaded, screen_text, until

from gello_cli.tui.app import MonitorApp
from gello_queue import Worker
from gello_queue.worker.maintenance import keep_worker_name

DEAD_ID = "0190f1c2-dead-7000-8000-000000014517"


@pytest.mark.timeout(90)
async def test_a_rescue_shows_on_the_workers_screen_and_overview_with_the_workers_name(
    app: MonitorApp, env: Env
) -> None:
    driver = env.driver
    # A worker that started (keeping its name, as every worker does), leased three jobs
    # and died: its heartbeat is gone by the time another worker rescues them.
    await keep_worker_name(driver, DEAD_ID, "vm:14517/emails-1")
    await driver.push([envelope(queue="mail") for _ in range(3)])
    await eventually(
        lambda: driver.reserve(["mail"], 3, lease_s=1.0, worker_id=DEAD_ID),
        lambda r: len(r) == 3,
    )
    rescuer = Worker(["elsewhere"], connection=env.queue, name="rescuer", lease_s=2.0)
    running = asyncio.create_task(rescuer.start())
    try:
        async with app.run_test(size=(140, 40)) as pilot:
            await loaded(pilot)
            await pilot.press("5")
            expected = "3 jobs of vm:14517/emails-1 rescued at "

            def shown() -> bool:
                app.wake()  # the app is not live: a refresh reads the backend again
                return expected in screen_text(app)

            await until(pilot, shown, timeout_s=30)
            assert "Recent rescues" in screen_text(app)
            await pilot.press("1")
            await until(pilot, lambda: expected in screen_text(app))
    finally:
        rescuer.stop()
        await asyncio.wait_for(running, 30)
    assert (await driver.counts())["mail"].pending == 3  # back in their queue
