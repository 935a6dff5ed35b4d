"""The Batches screen and one batch's screen against real backends: what they show, and
what cancel and retry-failed leave in the backend."""

from __future__ import annotations

import time

from seed import env as envelope
from seed import seed_batches
from textual.widgets import Label
from tui_support import Env, loaded, screen_text, until

from gello_cli.tui.app import MonitorApp
from gello_cli.tui.screens.batch_detail import BatchScreen
from gello_cli.tui.screens.batches import BatchesScreen
from gello_cli.tui.screens.detail import DetailScreen
from gello_cli.tui.screens.dialogs import ConfirmScreen
from gello_cli.tui.table import KeyedTable
from gello_queue import BatchRecord, JobState


def batches_table(app: MonitorApp) -> KeyedTable:
    return app.screen.query_one("#batches", KeyedTable)


def keys(t: KeyedTable) -> list[str]:
    return [t.coordinate_to_cell_key((i, 0)).row_key.value or "" for i in range(t.row_count)]


def texts(t: KeyedTable, key: str) -> list[str]:
    return [c.text for c in t.get_row(key)]


def notes(app: MonitorApp) -> list[str]:
    return [n.message for n in app._notifications]


async def open_batches(pilot, app: MonitorApp) -> KeyedTable:  # type: ignore[no-untyped-def]
    await loaded(pilot)
    await pilot.press("6")
    await until(
        pilot,
        lambda: isinstance(app.screen, BatchesScreen) and len(keys(batches_table(app))) == 3,
    )
    return batches_table(app)


async def to_row(pilot, table: KeyedTable, key: str) -> None:  # type: ignore[no-untyped-def]
    table.move_cursor(row=table.get_row_index(key), animate=False)
    await pilot.pause()
    assert table.cursor_key == key


async def test_a_batch_with_failures_shows_its_counts_and_progress(
    app: MonitorApp, env: Env
) -> None:
    await seed_batches(env.driver, time.time())
    async with app.run_test(size=(140, 30)) as pilot:
        table = await open_batches(pilot, app)
        # name, progress, pending, failed, state ... total
        row = texts(table, "batch-import")
        assert row[:5] == ["import-users", "██████▒▒░░  80%", "2", "2", "running"]
        assert row[-2:] == ["10", "batch-import"]
        assert texts(table, "batch-nightly")[1:3] == ["██████████ 100%", "0"]
        assert texts(table, "batch-resize")[4] == "cancelled"
        title = str(app.screen.query_one("#batches-title", Label).render())
        assert title == "Batches: 3  1 running · 1 finished · 1 cancelled · 1 with failures"
        # enter opens the batch: its failed jobs with their exception, then pending ones
        await to_row(pilot, table, "batch-import")
        await pilot.press("enter")
        await until(
            pilot, lambda: isinstance(app.screen, BatchScreen) and app.screen.detail is not None
        )
        jobs = app.screen.query_one("#batch-jobs", KeyedTable)
        # failed first, the newest failure on top; then the pending ones, oldest first
        assert keys(jobs) == [f"batch-import-{i:02d}" for i in (7, 6, 8, 9)]
        assert texts(jobs, "batch-import-07")[3] == "failed"
        assert texts(jobs, "batch-import-07")[5] == "ValueError: row 7 has no email"
        assert texts(jobs, "batch-import-09")[3] == "pending"
        shown = screen_text(app)
        assert "running with failures" in shown
        assert "6 succeeded · 2 failed · 2 pending, of 10" in shown
        # enter on a failed job opens the job's own screen
        await to_row(pilot, jobs, "batch-import-07")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, DetailScreen))
        assert isinstance(app.screen, DetailScreen)
        assert app.screen.job_id == "batch-import-07"


async def test_cancel_asks_then_cancels_the_batch_in_the_backend(app: MonitorApp, env: Env) -> None:
    await seed_batches(env.driver, time.time())
    async with app.run_test(size=(140, 30)) as pilot:
        table = await open_batches(pilot, app)
        await to_row(pilot, table, "batch-import")
        await pilot.press("C")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert isinstance(app.screen, ConfirmScreen)
        assert app.screen.question == (
            "Cancel batch 'import-users'? Its 2 jobs not yet run will be skipped."
        )
        await pilot.press("y")
        await until(pilot, lambda: any("Cancelled batch 'import-users'" in n for n in notes(app)))
        await until(pilot, lambda: texts(batches_table(app), "batch-import")[4] == "cancelled")
        # a cancelled batch has nothing left to cancel: said, not asked
        await pilot.press("C")
        await until(pilot, lambda: any("cancelled or finished already" in n for n in notes(app)))
        assert not isinstance(app.screen, ConfirmScreen)
    found = await env.driver.batch_find("batch-import")
    assert found is not None
    assert found.cancelled


async def test_retry_failed_puts_the_batch_failed_jobs_back(app: MonitorApp, env: Env) -> None:
    await seed_batches(env.driver, time.time())
    async with app.run_test(size=(140, 30)) as pilot:
        table = await open_batches(pilot, app)
        await to_row(pilot, table, "batch-import")
        await pilot.press("enter")
        await until(
            pilot, lambda: isinstance(app.screen, BatchScreen) and app.screen.detail is not None
        )
        await pilot.press("R")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert isinstance(app.screen, ConfirmScreen)
        assert app.screen.question == "Retry 2 jobs of batch 'import-users' that failed?"
        await pilot.press("y")
        await until(pilot, lambda: any("Retried 2 jobs of batch" in n for n in notes(app)))
        # the batch's screen reloads: its failed jobs are pending again
        screen = app.screen
        assert isinstance(screen, BatchScreen)
        jobs = screen.query_one("#batch-jobs", KeyedTable)
        await until(pilot, lambda: texts(jobs, "batch-import-06")[3] == "pending")
        assert "6 succeeded · 2 failed · 2 pending" in screen_text(app)
    for job_id in ("batch-import-06", "batch-import-07"):
        assert await env.driver.failed_find(job_id) is None
        record = await env.driver.find(job_id)
        assert record is not None
        assert record.state is JobState.PENDING


async def test_actions_target_the_batch_under_the_cursor_by_key(app: MonitorApp, env: Env) -> None:
    await seed_batches(env.driver, time.time())
    async with app.run_test(size=(140, 30)) as pilot:
        table = await open_batches(pilot, app)
        await to_row(pilot, table, "batch-import")
        # A newer batch takes the top row: the rows under the cursor move down.
        new = [envelope("batch-new-00", "imports", "ImportRows", time.time(), batch_id="b-new")]
        await env.driver.batch_push(BatchRecord("b-new", "newest", 1), new)
        app.wake()
        await until(pilot, lambda: "b-new" in keys(batches_table(app)))
        assert keys(batches_table(app))[0] == "b-new"
        assert batches_table(app).cursor_key == "batch-import"
        await pilot.press("R")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert isinstance(app.screen, ConfirmScreen)
        assert "batch 'import-users'" in app.screen.question
        await pilot.press("n")
    assert await env.driver.failed_find("batch-import-06") is not None


async def test_the_palette_offers_the_batch_actions(app: MonitorApp, env: Env) -> None:
    await seed_batches(env.driver, time.time())
    async with app.run_test(size=(140, 30)) as pilot:
        await open_batches(pilot, app)
        offered = {c.title for c in app.screen_actions(app.screen)}
        assert {"Cancel batch", "Retry failed", "Filter"} <= offered
        assert "Show Batches" in {c.title for c in app.get_system_commands(app.screen)}


async def test_read_only_greys_out_cancel_and_retry(env: Env) -> None:
    await seed_batches(env.driver, time.time())
    backend = env.backend()
    app = MonitorApp(backend, url=env.queue.url, interval=0.5, live=False, read_only=True)
    try:
        async with app.run_test(size=(140, 30)) as pilot:
            await open_batches(pilot, app)
            await pilot.press("C")
            await pilot.pause(0.2)
            assert not isinstance(app.screen, ConfirmScreen)
            offered = {c.title for c in app.screen_actions(app.screen)}
            assert "Cancel batch" not in offered
            assert "Retry failed" not in offered
    finally:
        backend.close()
    found = await env.driver.batch_find("batch-import")
    assert found is not None
    assert not found.cancelled


async def test_a_batch_that_is_gone_says_so(app: MonitorApp, env: Env) -> None:
    await seed_batches(env.driver, time.time())
    async with app.run_test(size=(140, 30)) as pilot:
        await open_batches(pilot, app)
        app.push_screen(BatchScreen("no-such-batch"))
        await until(pilot, lambda: "no batch 'no-such-batch'" in screen_text(app))


async def test_retry_of_a_batch_without_failures_says_so(app: MonitorApp, env: Env) -> None:
    await seed_batches(env.driver, time.time())
    async with app.run_test(size=(140, 30)) as pilot:
        table = await open_batches(pilot, app)
        await to_row(pilot, table, "batch-nightly")
        await pilot.press("R")
        await until(pilot, lambda: any("has no failed job to retry" in n for n in notes(app)))
        assert not isinstance(app.screen, ConfirmScreen)


async def test_no_batches_says_how_one_starts(mem_app: MonitorApp) -> None:
    async with mem_app.run_test(size=(100, 24)) as pilot:
        await loaded(pilot)
        await pilot.press("6")
        await until(pilot, lambda: mem_app.listings.get("batches") == [])
        await until(
            pilot, lambda: "No batches yet: Batch([...]).dispatch()" in screen_text(mem_app)
        )
