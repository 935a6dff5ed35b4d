"""The Workers screen commands one live worker through the backend (pause, resume, stop)
and opens its detail: what it runs now and for how long."""

from __future__ import annotations

import asyncio

import pytest
from pydantic import BaseModel
from textual.pilot import Pilot
from tui_support import Env, loaded, screen_text, until

from gello_cli.tui.app import MonitorApp
from gello_cli.tui.screens.dialogs import ConfirmScreen
from gello_cli.tui.screens.worker_detail import WorkerScreen
from gello_cli.tui.table import KeyedTable
from gello_queue import Job, Worker, WorkerState
from gello_queue.worker.states import ExitReason


class Stay(BaseModel):
    seconds: float


class StayAWhile(Job[Stay], register=False):
    async def handle(self, payload: Stay) -> None:
        await asyncio.sleep(payload.seconds)


async def cursor_on(pilot: Pilot[object], key: str) -> None:
    table = pilot.app.screen.query_one(KeyedTable)
    await until(pilot, lambda: key in [str(r.value) for r in table.rows])  # type: ignore[arg-type]
    table.move_cursor(row=table.get_row_index(key))
    await pilot.pause()


@pytest.mark.timeout(90)
async def test_pause_resume_detail_and_stop_from_the_workers_screen(
    app: MonitorApp, env: Env
) -> None:
    env.queue.registry.register(StayAWhile)
    worker = Worker(["ctl"], connection=env.queue, name="tui-ctl", sleep_s=0.05)
    running = asyncio.create_task(worker.start())
    try:
        async with app.run_test(size=(140, 36)) as pilot:
            await loaded(pilot)
            await pilot.press("5")
            await until(pilot, lambda: "tui-ctl" in screen_text(app), timeout_s=15)
            await cursor_on(pilot, worker.id)  # type: ignore[arg-type]

            await pilot.press("t")
            await until(pilot, lambda: worker.state is WorkerState.PAUSED)
            assert any("Sent pause to" in n.message for n in app._notifications)
            app.wake()  # a refresh (the app is not live) shows it paused; t resumes it
            await until(pilot, lambda: "paused" in screen_text(app))
            await pilot.press("t")
            await until(pilot, lambda: worker.state is WorkerState.RUNNING, timeout_s=15)

            await StayAWhile.dispatch(seconds=30, queue="ctl", connection=env.queue)
            await until(pilot, lambda: len(worker.active) == 1)
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, WorkerScreen))
            await pilot.press("p")  # live: the screen reloads until the worker names its job
            await until(pilot, lambda: "StayAWhile" in screen_text(app), timeout_s=15)
            text = screen_text(app)
            assert "1 of 1" in text
            assert "ctl" in text

            await pilot.press("S")
            await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
            dialog = app.screen
            assert isinstance(dialog, ConfirmScreen)
            assert "its 1 running jobs get its grace period" in dialog.question
            worker.grace_s = 0.1  # before the yes: the worker may stop within a tick
            await pilot.press("y")
            assert await asyncio.wait_for(running, 20) is ExitReason.STOPPED
        # Stopped past its grace period, the job went back to its queue: nothing lost.
        assert await env.queue.size("ctl") == 1
    finally:
        worker.stop_now()
        await asyncio.wait_for(running, 20)


class Linger(Job[Stay], register=False):
    async def handle(self, payload: Stay) -> None:
        await asyncio.sleep(payload.seconds)


@pytest.mark.timeout(90)
async def test_the_worker_screen_holds_still_while_the_dashboard_is_paused(
    app: MonitorApp, env: Env
) -> None:
    env.queue.registry.register(StayAWhile)
    env.queue.registry.register(Linger)
    worker = Worker(["hold"], connection=env.queue, name="tui-hold", concurrency=2, sleep_s=0.05)
    running = asyncio.create_task(worker.start())
    try:
        async with app.run_test(size=(140, 36)) as pilot:
            await loaded(pilot)
            app.interval = 0.5
            await StayAWhile.dispatch(seconds=30, queue="hold", connection=env.queue)
            await until(pilot, lambda: len(worker.active) == 1)
            await pilot.press("5")
            await until(pilot, lambda: "tui-hold" in screen_text(app), timeout_s=15)
            await cursor_on(pilot, worker.id)  # type: ignore[arg-type]
            await pilot.press("enter", "p")  # live until the worker screen shows its job
            await until(pilot, lambda: "StayAWhile" in screen_text(app), timeout_s=15)
            await pilot.press("p")
            assert not app.live

            await Linger.dispatch(seconds=30, queue="hold", connection=env.queue)
            await until(pilot, lambda: len(worker.active) == 2)
            # Paused: several of its intervals pass and the screen shows what it loaded.
            for _ in range(4):
                await asyncio.sleep(app.interval)
                await pilot.pause()
            assert "Linger" not in screen_text(app)
            await pilot.press("p")
            await until(pilot, lambda: "Linger" in screen_text(app), timeout_s=15)
    finally:
        worker.stop_now()
        await asyncio.wait_for(running, 20)
