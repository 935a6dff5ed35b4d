"""The failed screen on a big failed store: every group, and bulk actions that show how
far they got and stop on Esc."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from seed import env as envelope
from test_actions import notes, rows
from textual.pilot import Pilot
from tui_support import Env, loaded, screen_text, until

from gello_cli.tui.app import MonitorApp
from gello_cli.tui.format import count
from gello_cli.tui.screens.dialogs import ConfirmScreen, ProgressScreen
from gello_cli.tui.screens.failed import FailedScreen
from gello_queue.inspection import FailedFilter
from gello_queue.ports import FailedJob, FailedQuery


def failures(n: int, queue: str, name: str, exception: str, start: float) -> list[FailedJob]:
    out = []
    for i in range(n):
        body = envelope(f"{queue}-{i:05d}", queue, name, start).encode().decode()
        at = start + i * 1e-3
        out.append(
            FailedJob(f"{queue}-{i:05d}", queue, name, body, exception, f"row {i}", "", at, 1)
        )
    return out


def gate_after_first_step(app: MonitorApp) -> threading.Event:
    """Hold a bulk retry after its first step until the event is set (the dashboard's
    backend runs on its own thread, so the wait blocks only that thread's action)."""
    gate = threading.Event()
    inspector = app.backend.inspector
    real = inspector.retry_matching_steps

    async def held(match: FailedFilter | None = None, **kw: Any) -> AsyncIterator[int]:
        async for done in real(match, **kw):
            yield done
            await asyncio.to_thread(gate.wait, 10)  # before the next step starts

    inspector.retry_matching_steps = held  # type: ignore[method-assign]
    return gate


async def open_failed(pilot: Pilot[Any], app: MonitorApp) -> None:
    await loaded(pilot)
    await pilot.press("4")
    await until(pilot, lambda: isinstance(app.screen, FailedScreen) and bool(rows(app, "#failed")))


@pytest.mark.timeout(120)
async def test_groups_show_every_fingerprint_of_a_big_store(app: MonitorApp, env: Env) -> None:
    now = time.time()
    # The oldest group lies wholly behind the newest 5,000 failures.
    await env.driver.failed_import(failures(1_000, "archive", "Archive", "OSError", now - 7200))
    await env.driver.failed_import(failures(5_000, "bulk", "Bulk", "ValueError", now - 3600))
    async with app.run_test(size=(140, 30)) as pilot:
        await open_failed(pilot, app)
        await pilot.press("g")
        await until(pilot, lambda: len(rows(app, "#groups")) == 4)
        assert f"4 groups over {count(6_007)} failed jobs" in screen_text(app)
        archive = [line for line in screen_text(app).splitlines() if "Archive" in line]
        assert len(archive) == 1
        assert count(1_000) in archive[0]


@pytest.mark.timeout(120)
async def test_a_filtered_retry_shows_progress_then_finishes(app: MonitorApp, env: Env) -> None:
    await env.driver.failed_import(failures(2_500, "bulk", "Bulk", "ValueError", time.time() - 60))
    gate = gate_after_first_step(app)
    async with app.run_test(size=(120, 30)) as pilot:
        await open_failed(pilot, app)
        screen = app.screen
        assert isinstance(screen, FailedScreen)
        screen.filter_text = "name:Bulk"
        await pilot.press("R")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert app.screen.question == f"Retry {count(2_500)} failed jobs matching name:Bulk?"  # type: ignore[attr-defined]
        await pilot.press("y")
        await until(pilot, lambda: isinstance(app.screen, ProgressScreen))
        await until(pilot, lambda: f"Retried {count(1_000)} / {count(2_500)}" in screen_text(app))
        gate.set()
        await until(pilot, lambda: f"Retried {count(2_500)} jobs." in notes(app))
        await until(pilot, lambda: not isinstance(app.screen, ProgressScreen))
    assert (await env.driver.failed_tally(FailedQuery(queue="bulk"))).count == 0
    assert (await env.driver.failed_tally(FailedQuery())).count == 7


@pytest.mark.timeout(120)
async def test_esc_stops_a_bulk_retry_between_steps(app: MonitorApp, env: Env) -> None:
    await env.driver.failed_import(failures(2_500, "bulk", "Bulk", "ValueError", time.time() - 60))
    gate = gate_after_first_step(app)
    try:
        async with app.run_test(size=(120, 30)) as pilot:
            await open_failed(pilot, app)
            screen = app.screen
            assert isinstance(screen, FailedScreen)
            screen.filter_text = "queue:bulk"
            await pilot.press("R")
            await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
            await pilot.press("y")
            await until(
                pilot, lambda: f"Retried {count(1_000)} / {count(2_500)}" in screen_text(app)
            )
            await pilot.press("escape")
            await until(
                pilot,
                lambda: any(
                    f"Stopped: retried {count(1_000)} of {count(2_500)}" in n for n in notes(app)
                ),
            )
    finally:
        gate.set()
    # What was retried stays retried; the rest is still failed: nothing lost.
    assert (await env.driver.failed_tally(FailedQuery(queue="bulk"))).count == 1_500
    assert (await env.driver.counts())["bulk"].pending == 1_000
