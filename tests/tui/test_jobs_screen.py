"""The Jobs screen on real backends: the filter language applied by the backend with the
true count in the header, pages past the first 200 rows, marks, cancelling the matching
jobs and running every matching scheduled job now."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from seed import env as envelope
from textual.command import CommandPalette
from textual.widgets import Label
from tui_support import Env, loaded, screen_text, until

from gello_cli.tui.app import MonitorApp
from gello_cli.tui.format import count
from gello_cli.tui.screens.dialogs import ConfirmScreen, ProgressScreen
from gello_cli.tui.screens.failed import FailedScreen
from gello_cli.tui.screens.jobs import JobsScreen
from gello_cli.tui.table import KeyedTable
from gello_queue import FailedJob, JobState
from gello_queue.inspection import FailedFilter, Inspector

DASH = "\N{EN DASH}"


def rows(app: MonitorApp) -> list[str]:
    t = app.screen.query_one("#jobs", KeyedTable)
    return [t.coordinate_to_cell_key((i, 0)).row_key.value or "" for i in range(t.row_count)]


def title(app: MonitorApp) -> str:
    return str(app.screen.query_one("#jobs-title", Label).render())


def notes(app: MonitorApp) -> list[str]:
    return [n.message for n in app._notifications]


async def open_jobs(pilot, app: MonitorApp, query: str = "") -> None:  # type: ignore[no-untyped-def]
    await loaded(pilot)
    await pilot.press("3")
    await until(pilot, lambda: isinstance(app.screen, JobsScreen) and bool(rows(app)))
    if query:
        await pilot.press("slash", *query, "enter")


async def push_old_and_new(env: Env) -> list[str]:
    """230 ``NightlySync`` jobs dispatched two hours ago, 5 just now, 3 of another name."""
    now = time.time()
    old = [
        envelope(f"job-sync-old-{i:03d}", "sync", "NightlySync", now - 7200 + i, now - 7200 + i)
        for i in range(230)
    ]
    new = [envelope(f"job-sync-new-{i}", "sync", "NightlySync", now - 5 + i) for i in range(5)]
    other = [envelope(f"job-other-{i}", "sync", "Other", now - 7000) for i in range(3)]
    await env.driver.push([*old, *new, *other])
    return [e.id for e in old]


@pytest.mark.timeout(120)
async def test_name_and_age_filter_count_every_match_and_page(app: MonitorApp, env: Env) -> None:
    old = await push_old_and_new(env)
    async with app.run_test(size=(140, 30)) as pilot:
        await open_jobs(pilot, app, "name:nightlysync age:>1h")
        await until(pilot, lambda: f"rows 1{DASH}200 of 230" in title(app))
        assert title(app).startswith(f"Pending: rows 1{DASH}200 of 230")
        assert "filter: name:nightlysync age:>1h" in title(app)
        assert rows(app) == old[:200]
        await pilot.press("greater_than_sign")
        await until(pilot, lambda: f"rows 201{DASH}230 of 230" in title(app))
        assert rows(app) == old[200:]
        assert title(app).endswith("(< previous page)")
        await pilot.press("less_than_sign")
        await until(pilot, lambda: f"rows 1{DASH}200 of 230" in title(app))
        assert rows(app)[0] == old[0]
        # The young ones alone: one page, the plain count.
        screen = app.screen
        assert isinstance(screen, JobsScreen)
        screen.filter_text = "name:nightlysync age:<1h"
        app.wake()
        await until(pilot, lambda: title(app).startswith("Pending: 5  filter:"))
        assert rows(app) == [f"job-sync-new-{i}" for i in range(5)]


async def test_a_bad_age_is_one_error_line_and_the_filter_stays_open(
    app: MonitorApp, env: Env
) -> None:
    async with app.run_test(size=(120, 30)) as pilot:
        await open_jobs(pilot, app)
        before = title(app)
        await pilot.press("slash", *"age:>abc", "enter")
        await until(pilot, lambda: any("not an age: '>abc'" in n for n in notes(app)))
        assert app.screen.has_class("-filtering")
        screen = app.screen
        assert isinstance(screen, JobsScreen)
        assert screen.filter_text == ""
        assert title(app) == before


@pytest.mark.timeout(120)
async def test_marked_then_matching_jobs_are_cancelled_in_the_backend(
    app: MonitorApp, env: Env
) -> None:
    now = time.time()
    doomed = [envelope(f"job-purge-{i}", "sync", "PurgeCache", now - 60 + i) for i in range(5)]
    keep = envelope("job-keep-0", "sync", "KeepMe", now - 30)
    await env.driver.push([*doomed, keep])
    async with app.run_test(size=(140, 30)) as pilot:
        await open_jobs(pilot, app, "name:purgecache")
        await until(pilot, lambda: rows(app) == [e.id for e in doomed])
        # Mark the first two rows (space marks and moves down), then cancel them.
        await pilot.press("space", "space")
        await until(pilot, lambda: "marked: 2" in title(app))
        await pilot.press("C")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert app.screen.question == "Cancel 2 marked jobs?"  # type: ignore[attr-defined]
        await pilot.press("y")
        await until(pilot, lambda: rows(app) == [e.id for e in doomed[2:]])
        assert await env.driver.find(doomed[0].id) is None
        assert await env.driver.find(doomed[1].id) is None
        # No marks: every job the filter selects, with the true count.
        await pilot.press("C")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        question = "Cancel 3 pending jobs matching name:purgecache?"
        assert app.screen.question == question  # type: ignore[attr-defined]
        await pilot.press("y")
        await until(pilot, lambda: "Cancelled 3 jobs." in notes(app))
        await until(pilot, lambda: not rows(app))
        assert title(app).startswith("Pending: 0")
    for e in doomed:
        assert await env.driver.find(e.id) is None
    assert await env.driver.find(keep.id) is not None


@pytest.mark.timeout(120)
async def test_run_all_scheduled_now_makes_them_pending(app: MonitorApp, env: Env) -> None:
    later = time.time() + 3600
    due = [envelope(f"job-later-{i}", "sync", "LaterReport", later + i) for i in range(4)]
    other = envelope("job-later-other", "sync", "OtherReport", later)
    await env.driver.push([*due, other])
    async with app.run_test(size=(140, 30)) as pilot:
        await open_jobs(pilot, app)
        await pilot.press("right_square_bracket")
        await until(pilot, lambda: "job-later-0" in rows(app))
        await pilot.press("slash", *"name:laterreport", "enter")
        await until(pilot, lambda: rows(app) == [e.id for e in due])
        assert title(app).startswith("Scheduled: 4  filter: name:laterreport")
        await pilot.press("N")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        question = "Run 4 scheduled jobs matching name:laterreport now?"
        assert app.screen.question == question  # type: ignore[attr-defined]
        await pilot.press("y")
        await until(pilot, lambda: "Promoted 4 jobs." in notes(app))
        await until(pilot, lambda: not isinstance(app.screen, ProgressScreen))
        await until(pilot, lambda: not rows(app))
    for e in due:
        record = await env.driver.find(e.id)
        assert record is not None
        assert record.state is JobState.PENDING
    still = await env.driver.find(other.id)
    assert still is not None
    assert still.state is JobState.SCHEDULED
    inspector = Inspector(env.queue)
    assert (await inspector.tally_jobs(JobState.SCHEDULED, FailedFilter(name="report"))).count == 1


async def test_the_palette_offers_the_bulk_job_actions(mem_app: MonitorApp) -> None:
    app = mem_app
    async with app.run_test(size=(120, 36)) as pilot:
        await open_jobs(pilot, app)
        total = len(rows(app))
        await pilot.press("ctrl+p")
        await until(pilot, lambda: isinstance(app.screen, CommandPalette))
        await pilot.press(*"cancel matching", "enter")
        # The same question as C asks, with the true count.
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert app.screen.question == f"Cancel {total} pending jobs?"  # type: ignore[attr-defined]
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, JobsScreen))
        assert len(rows(app)) == total


async def test_the_failed_screen_takes_the_same_ages(app: MonitorApp, env: Env) -> None:
    now = time.time()
    old = [
        FailedJob(
            id=f"job-old-fail-{i}",
            queue="sync",
            name="NightlySync",
            body=envelope(f"job-old-fail-{i}", "sync", "NightlySync", now).encode().decode(),
            exception="TimeoutError",
            message="the mirror did not answer",
            traceback="",
            failed_at=now - 7200 - i,
            attempts=3,
        )
        for i in range(4)
    ]
    await env.driver.failed_import(old)
    async with app.run_test(size=(140, 30)) as pilot:
        await loaded(pilot)
        await pilot.press("4")
        await until(pilot, lambda: isinstance(app.screen, FailedScreen))
        await pilot.press("slash", *"age:>1h", "enter")
        await until(
            pilot, lambda: "filter: age:>1h → rows 1\N{EN DASH}4 of 4 match" in failed_title(app)
        )
        await pilot.press("slash", *"age:>1x", "enter")
        await until(pilot, lambda: any("not an age: '>1x'" in n for n in notes(app)))
        assert "filter: age:>1h → rows 1\N{EN DASH}4 of 4 match" in failed_title(app)


def failed_title(app: MonitorApp) -> str:
    return str(app.screen.query_one("#failed-title", Label).render())


@pytest.mark.timeout(120)
async def test_esc_stops_cancel_matching_between_steps(app: MonitorApp, env: Env) -> None:
    now = time.time()
    await env.driver.push(
        [envelope(f"job-bulk-{i:04d}", "bulk", "BulkJob", now - 600 + i / 10) for i in range(2_500)]
    )
    gate = threading.Event()
    inspector = app.backend.inspector
    real = inspector.cancel_matching_steps

    async def held(*args: Any, **kw: Any) -> AsyncIterator[int]:
        async for done in real(*args, **kw):
            yield done
            await asyncio.to_thread(gate.wait, 10)  # before the next step starts

    inspector.cancel_matching_steps = held  # type: ignore[method-assign]
    try:
        async with app.run_test(size=(140, 30)) as pilot:
            await open_jobs(pilot, app, "queue:bulk name:bulkjob")
            await until(pilot, lambda: f"of {count(2_500)}" in title(app))
            await pilot.press("C")
            await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
            question = f"Cancel {count(2_500)} pending jobs in 'bulk' matching name:bulkjob?"
            assert app.screen.question == question  # type: ignore[attr-defined]
            await pilot.press("y")
            await until(pilot, lambda: isinstance(app.screen, ProgressScreen))
            await until(
                pilot, lambda: f"Cancelled {count(1_000)} / {count(2_500)}" in screen_text(app)
            )
            await pilot.press("escape")
            stopped = f"Stopped: cancelled {count(1_000)} of {count(2_500)}"
            await until(pilot, lambda: any(stopped in n for n in notes(app)))
    finally:
        gate.set()
    # What was cancelled stays cancelled; the rest still waits: nothing else is lost.
    assert (await env.driver.counts())["bulk"].pending == 1_500
