"""Every dashboard action against real backends: what the screen shows, what the backend holds."""

from __future__ import annotations

import time

from seed import env as envelope
from seed import fail_jobs
from textual.widgets import Input, Label
from tui_support import Env, loaded, screen_text, until, until_async

from gello_cli.tui.app import MonitorApp
from gello_cli.tui.screens.detail import DetailScreen
from gello_cli.tui.screens.dialogs import ConfirmScreen
from gello_cli.tui.screens.failed import FailedScreen
from gello_cli.tui.screens.jobs import JobsScreen
from gello_cli.tui.screens.queues import QueuesScreen
from gello_cli.tui.table import KeyedTable
from gello_queue import JobState
from gello_queue.inspection import FailedFilter, Inspector


def table(app: MonitorApp, selector: str) -> KeyedTable:
    return app.screen.query_one(selector, KeyedTable)


def rows(app: MonitorApp, selector: str) -> list[str]:
    t = table(app, selector)
    return [t.coordinate_to_cell_key((i, 0)).row_key.value or "" for i in range(t.row_count)]


def notes(app: MonitorApp) -> list[str]:
    """Notifications shown; each arrives as a message, after what posted it (wait on it)."""
    return [n.message for n in app._notifications]


async def open_failed(pilot, app: MonitorApp) -> None:  # type: ignore[no-untyped-def]
    await loaded(pilot)
    await pilot.press("4")
    await until(
        pilot, lambda: isinstance(app.screen, FailedScreen) and len(rows(app, "#failed")) == 7
    )


async def test_retry_the_cursor_row(app: MonitorApp, env: Env) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        await open_failed(pilot, app)
        first = rows(app, "#failed")[0]
        await pilot.press("r")
        await until(pilot, lambda: first not in rows(app, "#failed"))
        await until(pilot, lambda: any("Retried 1 job" in n for n in notes(app)))
    assert await env.driver.failed_find(first) is None
    record = await env.driver.find(first)
    assert record is not None
    assert record.state is JobState.PENDING


async def test_marked_rows_are_retried_together(app: MonitorApp, env: Env) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        await open_failed(pilot, app)
        picked = rows(app, "#failed")[:2]
        await pilot.press("space", "space")
        assert table(app, "#failed").marked == set(picked)
        await pilot.press("r")
        await until(pilot, lambda: len(rows(app, "#failed")) == 5)
        await until(pilot, lambda: any("Retried 2 jobs" in n for n in notes(app)))
    assert await env.driver.failed_count() == 5
    for job_id in picked:
        assert (await env.driver.find(job_id)) is not None


async def test_retry_all_matching_asks_with_the_number(app: MonitorApp, env: Env) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        await open_failed(pilot, app)
        await pilot.press("slash", *"exc:timeout", "enter")
        await until(pilot, lambda: len(rows(app, "#failed")) == 5)
        await pilot.press("R")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert isinstance(app.screen, ConfirmScreen)
        assert app.screen.question == "Retry 5 failed jobs matching exc:timeout?"
        await pilot.press("y")
        await until(pilot, lambda: not rows(app, "#failed"))
        await until(pilot, lambda: any("Retried 5 jobs" in n for n in notes(app)))
    assert await env.driver.failed_count("emails") == 0
    assert await env.driver.failed_count("webhooks") == 2
    counts = await env.driver.counts()
    assert counts["emails"].pending == 12 + 5


async def test_purge_matching_can_be_declined_then_done(app: MonitorApp, env: Env) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        await open_failed(pilot, app)
        await pilot.press("X")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert isinstance(app.screen, ConfirmScreen)
        assert app.screen.question == "Purge 7 failed jobs?"
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, FailedScreen))
        assert await env.driver.failed_count() == 7
        await pilot.press("slash")
        app.screen.query_one("#filter", Input).value = "queue:webhooks"
        await pilot.press("enter")
        await until(pilot, lambda: len(rows(app, "#failed")) == 2)
        await pilot.press("X")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert app.screen.question == "Purge 2 failed jobs from 'webhooks'?"  # type: ignore[attr-defined]
        await pilot.press("y")
        await until(pilot, lambda: not rows(app, "#failed"))
        # esc clears the filter: the other queue's failures come back
        await pilot.press("escape")
        await until(pilot, lambda: len(rows(app, "#failed")) == 5)
    assert await env.driver.failed_count() == 5
    assert await env.driver.failed_count("webhooks") == 0


async def test_forget_one(app: MonitorApp, env: Env) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        await open_failed(pilot, app)
        await pilot.press("down")
        gone = rows(app, "#failed")[1]
        await pilot.press("x")
        await until(pilot, lambda: gone not in rows(app, "#failed"))
    assert await env.driver.failed_find(gone) is None
    assert await env.driver.find(gone) is None


async def test_detail_shows_traceback_and_redacts_secrets(app: MonitorApp, env: Env) -> None:
    async with app.run_test(size=(100, 40)) as pilot:
        await open_failed(pilot, app)
        job_id = rows(app, "#failed")[0]
        await pilot.press("enter")
        await until(
            pilot, lambda: isinstance(app.screen, DetailScreen) and app.screen.detail is not None
        )
        text = screen_text(app)
        assert job_id in text
        failed = await env.driver.failed_find(job_id)
        assert failed is not None
        assert failed.exception in text
        assert "Traceback" in text
        assert "sk-live-123" not in text
        assert "***" in text
        assert "ada@example.com" in text
        await pilot.press("r")
        await until_async(pilot, lambda: _pending(env, job_id))
        await until(pilot, lambda: "pending" in screen_text(app))
        await pilot.press("escape")
        assert isinstance(app.screen, FailedScreen)


async def _pending(env: Env, job_id: str) -> bool:
    record = await env.driver.find(job_id)
    return record is not None and record.state is JobState.PENDING


async def test_pause_resume_and_clear_a_queue(app: MonitorApp, env: Env) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot)
        await pilot.press("2")
        await until(
            pilot,
            lambda: (
                isinstance(app.screen, QueuesScreen)
                and rows(app, "#queues") == ["emails", "reports", "webhooks"]
            ),
        )
        await pilot.press("t")
        await until_async(pilot, lambda: _paused(env, "emails", True))
        await until(pilot, lambda: "paused" in screen_text(app))
        await pilot.press("t")
        await until_async(pilot, lambda: _paused(env, "emails", False))
        await pilot.press("C")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert app.screen.question == "Clear 16 pending and scheduled jobs from 'emails'?"  # type: ignore[attr-defined]
        await pilot.press("y")
        await until(pilot, lambda: any("Cleared 16 jobs" in n for n in notes(app)))
    counts = await env.driver.counts()
    assert counts["emails"].pending == counts["emails"].scheduled == 0
    assert counts["emails"].failed == 5


async def _paused(env: Env, queue: str, expected: bool) -> bool:
    return (queue in await env.driver.paused()) is expected


async def test_retry_a_queues_failed_jobs(app: MonitorApp, env: Env) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot)
        await pilot.press("2")
        await until(
            pilot, lambda: isinstance(app.screen, QueuesScreen) and len(rows(app, "#queues")) == 3
        )
        await pilot.press("down", "down", "R")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert app.screen.question == "Retry 2 failed jobs of 'webhooks'?"  # type: ignore[attr-defined]
        await pilot.press("y")
        await until(pilot, lambda: any("Retried 2 jobs" in n for n in notes(app)))
    assert await env.driver.failed_count("webhooks") == 0
    assert (await env.driver.counts())["webhooks"].pending == 2


async def test_run_a_scheduled_job_now_and_cancel_a_pending_one(app: MonitorApp, env: Env) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot)
        await pilot.press("3")
        await until(
            pilot, lambda: isinstance(app.screen, JobsScreen) and len(rows(app, "#jobs")) == 15
        )
        victim = rows(app, "#jobs")[0]
        await pilot.press("c")
        await until(pilot, lambda: victim not in rows(app, "#jobs"))
        assert await env.driver.find(victim) is None
        await pilot.press("right_square_bracket")
        await until(pilot, lambda: len(rows(app, "#jobs")) == 4)
        scheduled = rows(app, "#jobs")[0]
        await pilot.press("n")
        await until(pilot, lambda: scheduled not in rows(app, "#jobs"))
        assert await _pending(env, scheduled)
        await pilot.press("right_square_bracket")
        await until(pilot, lambda: rows(app, "#jobs") == ["job-running-00"])
        # a running job cannot be cancelled: the key is disabled on this tab
        assert app.screen.check_action("cancel", ()) is False


async def test_cancelling_a_job_that_is_gone_says_so(app: MonitorApp, env: Env) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot)
        await pilot.press("3")
        await until(
            pilot, lambda: isinstance(app.screen, JobsScreen) and len(rows(app, "#jobs")) == 15
        )
        victim = rows(app, "#jobs")[0]
        assert await env.driver.cancel(victim)
        await pilot.press("c")
        await until(pilot, lambda: any("no pending or scheduled job" in n for n in notes(app)))


async def test_group_failures_then_act_on_one_group(app: MonitorApp, env: Env) -> None:
    async with app.run_test(size=(120, 30)) as pilot:
        await open_failed(pilot, app)
        await pilot.press("g")
        await until(pilot, lambda: len(rows(app, "#groups")) == 2)
        screen = app.screen
        assert isinstance(screen, FailedScreen)
        biggest = rows(app, "#groups")[0]
        assert "2 groups over 7 failed jobs" in screen_text(app)
        await pilot.press("enter")  # drill in: the group's jobs
        await until(pilot, lambda: not screen.grouped and len(rows(app, "#failed")) == 5)
        assert screen.filter_text == f"fp:{biggest}"
        await pilot.press("g")
        await until(pilot, lambda: rows(app, "#groups") == [biggest])
        await pilot.press("X")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert app.screen.question == f"Purge 5 failed jobs matching fp:{biggest}?"  # type: ignore[attr-defined]
        await pilot.press("y")
        await until(pilot, lambda: not rows(app, "#groups"))
    assert await env.driver.failed_count("emails") == 0
    assert await env.driver.failed_count("webhooks") == 2


async def test_a_new_queue_takes_its_sorted_place_and_keys_act_on_the_row_seen(
    app: MonitorApp, env: Env
) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot)
        await pilot.press("2")
        await until(
            pilot,
            lambda: (
                isinstance(app.screen, QueuesScreen)
                and rows(app, "#queues") == ["emails", "reports", "webhooks"]
            ),
        )
        await pilot.press("down")
        assert table(app, "#queues").cursor_key == "reports"
        await env.driver.push([envelope("job-archive-00", "archive", "Archive", time.time())])
        app.wake()
        await until(
            pilot, lambda: rows(app, "#queues") == ["archive", "emails", "reports", "webhooks"]
        )
        assert table(app, "#queues").cursor_key == "reports"
        await pilot.press("t")
        await until_async(pilot, lambda: _paused(env, "reports", True))
    assert await env.driver.paused() == {"reports"}


async def test_a_new_failure_shows_first(app: MonitorApp, env: Env) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        await open_failed(pilot, app)
        before = rows(app, "#failed")
        await fail_jobs(
            env.driver,
            [envelope("job-failed-new", "media", "Resize", time.time())],
            "TimeoutError",
            "smtp.example.com did not answer in 10s",
        )
        app.wake()
        await until(pilot, lambda: len(rows(app, "#failed")) == 8)
        assert rows(app, "#failed") == ["job-failed-new", *before]


async def test_a_drained_queue_stays_listed(app: MonitorApp, env: Env) -> None:
    inspector = Inspector(env.queue)
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot)
        await pilot.press("2")
        await until(
            pilot,
            lambda: (
                isinstance(app.screen, QueuesScreen)
                and rows(app, "#queues") == ["emails", "reports", "webhooks"]
            ),
        )
        await inspector.clear("emails")
        await inspector.purge_matching(FailedFilter(queue="emails"))
        before = app.ticks
        app.wake()
        await until(pilot, lambda: app.ticks > before)
        await until(pilot, lambda: app.snapshot is not None and app.snapshot.pending() == 3)
        assert rows(app, "#queues") == ["emails", "reports", "webhooks"]
        emails = next(line for line in screen_text(app).splitlines() if "emails" in line)
        assert emails.split()[1:5] == ["0", "0", "0", "0"]  # pending, sched, running, failed


def jobs_title(app: MonitorApp) -> str:
    return str(app.screen.query_one("#jobs-title", Label).render())


async def test_the_jobs_filter_applies_name_exc_and_text_to_every_job(
    app: MonitorApp, env: Env
) -> None:
    later = time.time() + 1
    bulk = [envelope(f"job-bulk-{i:03d}", "bulk", "Bulk", later - 300 + i) for i in range(210)]
    await env.driver.push([*bulk, envelope("job-needle-00", "bulk", "Needle", later)])
    async with app.run_test(size=(120, 30)) as pilot:
        await loaded(pilot)
        await pilot.press("3")
        await until(pilot, lambda: isinstance(app.screen, JobsScreen) and rows(app, "#jobs"))
        await pilot.press("slash", *"name:BuildReport", "enter")
        await until(pilot, lambda: rows(app, "#jobs") == [f"job-report-{i:02d}" for i in range(3)])
        assert jobs_title(app) == "Pending: 3  filter: name:BuildReport"
        # free text finds a job past the first page fetched
        await pilot.press("slash")
        app.screen.query_one("#filter", Input).value = "needle"
        await pilot.press("enter")
        await until(pilot, lambda: rows(app, "#jobs") == ["job-needle-00"])
        assert jobs_title(app) == "Pending: 1  filter: needle"
        await pilot.press("slash")
        app.screen.query_one("#filter", Input).value = "queue:bulk name:bulk"
        await pilot.press("enter")
        await until(pilot, lambda: "Pending: rows 1\N{EN DASH}200 of 210" in jobs_title(app))
        assert rows(app, "#jobs")[0] == "job-bulk-000"
        # exc: selects failures: no queued job matches
        await pilot.press("slash")
        app.screen.query_one("#filter", Input).value = "exc:Timeout"
        await pilot.press("enter")
        await until(pilot, lambda: not rows(app, "#jobs"))
        assert jobs_title(app) == "Pending: 0  filter: exc:Timeout"


async def test_the_filtered_failed_header_counts_every_match(app: MonitorApp, env: Env) -> None:
    now = time.time()
    more = [envelope(f"job-media-{i:03d}", "media", "Resize", now) for i in range(105)]
    await fail_jobs(env.driver, more, "TimeoutError", "the resizer did not answer in 10s")
    async with app.run_test(size=(120, 30)) as pilot:
        await loaded(pilot)
        await pilot.press("4")
        await until(pilot, lambda: isinstance(app.screen, FailedScreen) and rows(app, "#failed"))
        await pilot.press("slash", *"exc:timeout", "enter")
        title = lambda: str(app.screen.query_one("#failed-title", Label).render())  # noqa: E731
        await until(pilot, lambda: "filter" in title())
        assert (
            title() == "Failed jobs: 112  filter: exc:timeout → rows 1\N{EN DASH}100 of 110 match"
        )
        assert len(rows(app, "#failed")) == 100
        await pilot.press("slash")
        app.screen.query_one("#filter", Input).value = "queue:webhooks"
        await pilot.press("enter")
        await until(pilot, lambda: "webhooks" in title())
        assert title() == "Failed jobs: 2  filter: queue:webhooks → rows 1\N{EN DASH}2 of 2 match"


async def test_completed_jobs_appear_in_the_completed_tab(app: MonitorApp, env: Env) -> None:
    from gello_queue.ports import CompletedJob, JobHistory

    assert isinstance(env.driver, JobHistory)
    now = await env.driver.now()
    done = [
        CompletedJob(f"done-{i}", "emails", "SendInvoice", 1 + i % 2, "web-1", 0.2, 0.05, now - i)
        for i in range(3)
    ]
    # What a worker's ack records with history on.
    await env.driver.ack_recording([], done, 1000)
    async with app.run_test(size=(120, 30)) as pilot:
        await loaded(pilot)
        await pilot.press("3")
        await until(pilot, lambda: isinstance(app.screen, JobsScreen))
        for _ in range(3):  # pending → scheduled → running → completed
            await pilot.press("right_square_bracket")
        await until(pilot, lambda: rows(app, "#completed") == ["done-0", "done-1", "done-2"])
        text = screen_text(app)
        assert "Completed: 3 kept" in text
        assert "SendInvoice" in text
        assert "web-1" in text
        assert "50 ms" in text  # the run time
        # A completed job is gone from its queue: it cannot be cancelled or run again.
        assert app.screen.check_action("cancel", ()) is False
        assert app.screen.check_action("run_now", ()) is False
