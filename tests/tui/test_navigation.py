"""Keys that do not change the backend: screens, live/pause, interval, sort, filter, help,
palette, read-only, drill-in, and staying up when the connection drops."""

from __future__ import annotations

import asyncio
import time

from seed import T0, seed
from seed import env as envelope
from textual.command import CommandPalette
from textual.widgets import HelpPanel
from tui_support import loaded, screen_text, until

from gello_cli.tui.app import MonitorApp
from gello_cli.tui.backend import Backend
from gello_cli.tui.chart import ThroughputChart
from gello_cli.tui.screens.detail import DetailScreen
from gello_cli.tui.screens.dialogs import ConfirmScreen
from gello_cli.tui.screens.failed import FailedScreen
from gello_cli.tui.screens.jobs import JobsScreen
from gello_cli.tui.screens.overview import OverviewScreen
from gello_cli.tui.screens.queues import QueuesScreen
from gello_cli.tui.table import KeyedTable
from gello_cli.tui.widgets import palette
from gello_queue import Progress, Queue
from gello_queue.drivers.memory import MemoryDriver, MemoryStore


def keys(app: MonitorApp, selector: str) -> list[str]:
    t = app.screen.query_one(selector, KeyedTable)
    return [t.coordinate_to_cell_key((i, 0)).row_key.value or "" for i in range(t.row_count)]


async def test_live_pause_and_interval(mem_app: MonitorApp) -> None:
    app = mem_app
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot)
        assert "PAUSED every 2s" in screen_text(app)
        await pilot.press("p")
        assert app.live
        await until(pilot, lambda: "LIVE every 2s" in screen_text(app))
        await pilot.press("plus", "plus")
        assert app.interval == 10
        await pilot.press("minus", "minus", "minus", "minus", "minus", "minus")
        assert app.interval == 0.5
        ticks = app.ticks
        await until(pilot, lambda: app.ticks >= ticks + 2)  # live refresh keeps going
        await pilot.press("p")
        assert not app.live


async def test_sort_keeps_the_cursor_on_its_row(mem_app: MonitorApp) -> None:
    app = mem_app
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot)
        await pilot.press("2")
        await until(
            pilot, lambda: isinstance(app.screen, QueuesScreen) and len(keys(app, "#queues")) == 3
        )
        table = app.screen.query_one("#queues", KeyedTable)
        await pilot.press("down")
        assert table.cursor_key == "reports"
        await pilot.press("s", "s")  # by queue, then by pending
        assert table.sort_column == "pending"
        assert keys(app, "#queues") == ["webhooks", "reports", "emails"]
        assert table.cursor_key == "reports"
        table.sort_by("pending")  # the same column again: reversed
        assert keys(app, "#queues") == ["emails", "reports", "webhooks"]
        assert table.cursor_key == "reports"
        before = app.ticks
        app.wake()
        await until(pilot, lambda: app.ticks > before)  # a refresh keeps order and cursor
        assert keys(app, "#queues") == ["emails", "reports", "webhooks"]
        assert table.cursor_key == "reports"


async def test_drill_in_and_back(mem_app: MonitorApp) -> None:
    app = mem_app
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot)
        await pilot.press("2")
        await until(
            pilot, lambda: isinstance(app.screen, QueuesScreen) and len(keys(app, "#queues")) == 3
        )
        await pilot.press("down", "enter")  # reports → its jobs
        await until(
            pilot,
            lambda: (
                isinstance(app.screen, JobsScreen)
                and keys(app, "#jobs") == [f"job-report-{i:02d}" for i in range(3)]
            ),
        )
        await pilot.press("enter")
        await until(
            pilot, lambda: isinstance(app.screen, DetailScreen) and app.screen.detail is not None
        )
        assert "BuildReport" in screen_text(app)
        await pilot.press("escape")
        assert isinstance(app.screen, JobsScreen)
        await pilot.press("escape")  # clears the queue filter
        await until(pilot, lambda: len(keys(app, "#jobs")) == 15)
        await pilot.press("escape")  # back to the overview
        assert isinstance(app.screen, OverviewScreen)
        await pilot.press("enter")  # the first queue of the overview
        await until(
            pilot,
            lambda: isinstance(app.screen, JobsScreen) and app.screen.filter_text == "queue:emails",
        )


async def test_overview_opens_a_recent_failure(mem_app: MonitorApp) -> None:
    app = mem_app
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await pilot.press("tab")
        assert app.focused is not None
        assert app.focused.id == "recent"
        await pilot.press("enter")
        await until(
            pilot, lambda: isinstance(app.screen, DetailScreen) and app.screen.detail is not None
        )
        assert app.screen.job_id == "job-failed-04"  # type: ignore[attr-defined]


async def test_help_and_command_palette(mem_app: MonitorApp) -> None:
    app = mem_app
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot)
        await pilot.press("question_mark")
        await until(pilot, lambda: bool(app.screen.query(HelpPanel)))
        await pilot.press("question_mark")
        await until(pilot, lambda: not app.screen.query(HelpPanel))
        await pilot.press("ctrl+p")
        await until(pilot, lambda: isinstance(app.screen, CommandPalette))
        await pilot.press(*"show failed", "enter")
        await until(pilot, lambda: isinstance(app.screen, FailedScreen))


async def test_read_only_disables_every_action(mem_app: MonitorApp) -> None:
    app = mem_app
    app.read_only = True
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot)
        await pilot.press("4")
        await until(
            pilot, lambda: isinstance(app.screen, FailedScreen) and len(keys(app, "#failed")) == 7
        )
        await pilot.press("r", "R", "x", "X")
        await pilot.press("2", "t", "C")
        await pilot.press("3", "c")
        await pilot.pause(0.2)
        assert not app._notifications
        for action in ("retry", "purge", "clear_queue", "cancel"):
            assert app.screen.check_action(action, ()) is None
        assert "READ-ONLY" in screen_text(app)
        snap = await app.backend.call(lambda i: i.snapshot())
        assert snap.queues["emails"].failed == 5
        assert snap.queues["emails"].pending == 12
        assert not snap.paused


async def test_a_lost_connection_is_a_banner_then_it_recovers(mem_app: MonitorApp) -> None:
    app = mem_app
    app.interval = 0.2  # the backoff starts from the interval
    good = app.backend
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot)
        dead = Backend(Queue("redis://:hunter2@127.0.0.1:1/0"))
        try:
            app.backend = dead
            app.wake()
            await until(pilot, lambda: app.error is not None)
            # The banner is shown by a class change, which the next refresh lays out.
            await until(pilot, lambda: "Connection lost" in screen_text(app))
            text = screen_text(app)
            assert "OFFLINE" in text
            assert "hunter2" not in text
            assert "emails" in text  # the last data stays on screen
            assert app.current_view().has_class("-offline")  # type: ignore[union-attr]
            app.backend = good
            await until(pilot, lambda: app.error is None, timeout_s=15)  # backoff retries
            # A notification arrives as a message, processed after the fetch that posted it.
            await until(
                pilot, lambda: any("Connection restored" in n.message for n in app._notifications)
            )
            assert "Connection lost" not in screen_text(app)
        finally:
            await asyncio.to_thread(dead.close)


async def test_empty_backend_explains_itself(tmp_path: object) -> None:
    backend = Backend(Queue("memory://empty-nav"))
    app = MonitorApp(backend, url="memory://empty-nav", live=False)
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            await loaded(pilot)
            assert "No jobs in any queue yet" in screen_text(app)
            await pilot.press("5")
            await until(
                pilot,
                lambda: (
                    "No live workers: start one with `gello queue:work --app" in screen_text(app)
                ),
            )
    finally:
        await asyncio.to_thread(backend.close)


async def test_filters_on_queues_and_workers(mem_app: MonitorApp) -> None:
    app = mem_app
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot)
        await pilot.press("2", "slash", *"hook", "enter")
        await until(pilot, lambda: keys(app, "#queues") == ["webhooks"])
        await pilot.press("5", "slash", *"worker-b", "enter")
        await until(pilot, lambda: keys(app, "#workers") == ["w-2"])
        assert "missed its heartbeats" in screen_text(app)
        await pilot.press("slash", "escape")  # closes the filter bar, keeps the filter
        assert keys(app, "#workers") == ["w-2"]
        await pilot.press("escape")
        await until(pilot, lambda: len(keys(app, "#workers")) == 2)


async def test_watched_queues_only(mem_app: MonitorApp) -> None:
    app = mem_app
    app.watched = ["webhooks"]
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot)
        await pilot.press("4")
        await until(
            pilot,
            lambda: (
                isinstance(app.screen, FailedScreen)
                and keys(app, "#failed") == ["job-broken-01", "job-broken-00"]
            ),
        )
        await pilot.press("R")
        await until(pilot, lambda: "Retry 2 failed jobs from 'webhooks'?" in screen_text(app))
        await pilot.press("n")


def running_cell(app: MonitorApp) -> str:
    return str(app.screen.query_one("#jobs", KeyedTable).get_cell("job-running-00", "extra").text)


async def test_the_running_tab_names_workers_as_the_workers_screen_does(
    mem_app: MonitorApp,
) -> None:
    app = mem_app
    async with app.run_test(size=(140, 30)) as pilot:
        await loaded(pilot)
        await pilot.press("5")
        await until(pilot, lambda: "w-1" in keys(app, "#workers"))
        assert "host-1:4100/worker-a" in screen_text(app)
        await pilot.press("3", "right_square_bracket", "right_square_bracket")
        await until(pilot, lambda: keys(app, "#jobs") == ["job-running-00"])
        assert running_cell(app).startswith("host-1:4100/worker-a lease ")
        assert "host-1:4100/worker-a" in screen_text(app)


async def test_an_expired_lease_is_marked() -> None:
    store = MemoryStore(clock=lambda: T0)
    driver = MemoryDriver(store)
    await seed(driver, T0)
    await driver.push([envelope("job-stuck-00", "media", "Resize", T0 - 100)])
    store.clock = lambda: T0 - 100
    await driver.reserve(["media"], 1, lease_s=30, worker_id="w-1")
    store.clock = lambda: T0
    backend = Backend(Queue("memory://lease", factory=lambda: driver))
    app = MonitorApp(backend, url="memory://lease", clock=lambda: T0, live=False)
    try:
        async with app.run_test(size=(140, 30)) as pilot:
            await loaded(pilot)
            await pilot.press("3", "right_square_bracket", "right_square_bracket")
            await until(pilot, lambda: "job-stuck-00" in keys(app, "#jobs"))
            table = app.screen.query_one("#jobs", KeyedTable)
            stuck = table.get_cell("job-stuck-00", "extra")
            assert stuck.text == "host-1:4100/worker-a lease expired 1m 10s ago"
            assert stuck.style == palette(app)["warning"]
            assert table.get_cell("job-running-00", "extra").text.endswith(" lease in 30s")
            assert "lease expired 1m 10s ago" in screen_text(app)
    finally:
        await asyncio.to_thread(backend.close)


async def test_running_jobs_show_the_progress_they_reported() -> None:
    store = MemoryStore(clock=lambda: T0)
    driver = MemoryDriver(store)
    await seed(driver, T0)
    await driver.push([envelope("job-quiet-00", "media", "Resize", T0 - 4)])
    await driver.reserve(["media"], 1, lease_s=30, worker_id="w-1")
    await driver.progress_put("job-running-00", Progress(0.4, "resizing 4/10", T0 - 1), 60)
    backend = Backend(Queue("memory://progress", factory=lambda: driver))
    app = MonitorApp(backend, url="memory://progress", clock=lambda: T0, live=False)
    try:
        async with app.run_test(size=(160, 30)) as pilot:
            await loaded(pilot)
            await pilot.press("3", "right_square_bracket", "right_square_bracket")
            await until(pilot, lambda: "job-quiet-00" in keys(app, "#jobs"))
            table = app.screen.query_one("#jobs", KeyedTable)
            shown = table.get_cell("job-running-00", "extra").text
            assert shown.startswith("40% resizing 4/10 | host-1:4100/worker-a lease ")
            # A job that reported nothing shows its worker and lease only.
            assert table.get_cell("job-quiet-00", "extra").text.startswith("host-1:4100/")
            assert "40% resizing 4/10" in screen_text(app)
    finally:
        await asyncio.to_thread(backend.close)


async def test_a_worker_whose_heartbeat_is_overdue_is_dead(mem_app: MonitorApp) -> None:
    app = mem_app  # worker-b last beat 40s ago, with 30s leases
    async with app.run_test(size=(140, 30)) as pilot:
        await loaded(pilot)
        assert "1/4 (1)" in screen_text(app)  # Workers busy: live workers only
        await pilot.press("5")
        await until(pilot, lambda: keys(app, "#workers") == ["w-1", "w-2"])
        table = app.screen.query_one("#workers", KeyedTable)
        assert str(table.get_cell("w-2", "state").text) == "dead"
        assert str(table.get_cell("w-1", "state").text) == "running"
        assert "Workers: 1 live, 1 dead, 1/4 slots busy" in screen_text(app)


async def test_offline_retries_back_off_to_five_seconds_and_a_screen_switch_retries_now(
    mem_app: MonitorApp,
) -> None:
    app = mem_app
    app.interval = 2.0
    good = app.backend
    async with app.run_test(size=(120, 30)) as pilot:
        await loaded(pilot)
        dead = Backend(Queue("redis://127.0.0.1:1/0"))
        try:
            app.backend = dead
            app.wake()
            await until(pilot, lambda: "Connection lost" in screen_text(app))
            app.failures = 12  # a long outage: the backoff has reached its cap
            assert app.retry_delay() == 5.0
            app.render_status()
            await until(pilot, lambda: "at most 5s apart" in screen_text(app))
            assert "switch screens to retry now" in screen_text(app)
            app.backend = good
            started = time.monotonic()
            await pilot.press("2")  # the Queues screen: a refresh at once, not in 5 s
            await until(pilot, lambda: app.error is None, timeout_s=10)
            assert time.monotonic() - started < 4.0
        finally:
            await asyncio.to_thread(dead.close)


async def test_the_throughput_chart_grows_with_the_terminal_and_has_a_time_axis() -> None:
    heights = {}
    for size in ((80, 24), (200, 50)):
        store = MemoryStore(clock=lambda: T0)
        await seed(MemoryDriver(store), T0)
        backend = Backend(Queue("memory://chart", factory=lambda s=store: MemoryDriver(s)))
        app = MonitorApp(backend, url="memory://chart", clock=lambda: T0, live=False)
        try:
            async with app.run_test(size=size) as pilot:
                await loaded(pilot)
                chart = app.screen.query_one(ThroughputChart)
                heights[size] = chart.size.height
                text = screen_text(app)
                assert "now" in text
                assert "30m ago" in text
        finally:
            await asyncio.to_thread(backend.close)
    assert heights[(80, 24)] >= 5
    # The tall terminal's rows go to the chart, not to blank space under the queue table.
    assert heights[(200, 50)] >= heights[(80, 24)] + 20


async def test_o_flips_the_order_and_the_header_says_which(mem_app: MonitorApp) -> None:
    app = mem_app
    async with app.run_test(size=(140, 36)) as pilot:
        await loaded(pilot)
        await pilot.press("2")
        await until(pilot, lambda: isinstance(app.screen, QueuesScreen))
        table = app.screen.query_one(KeyedTable)
        await until(pilot, lambda: table.row_count == 3)
        keys = lambda: [str(r.key.value) for r in table.ordered_rows]  # noqa: E731
        assert keys() == ["emails", "reports", "webhooks"]  # by name, ascending
        assert "Queue ▲" in screen_text(app)
        await pilot.press("o")
        assert keys() == ["webhooks", "reports", "emails"]
        assert "Queue ▼" in screen_text(app)
        await pilot.press("s")  # the next column, ascending: pending
        assert keys()[0] == "webhooks"
        assert "Pending ▲" in screen_text(app)
        await pilot.press("o")
        assert keys()[0] == "emails"
        assert "Pending ▼" in screen_text(app)


async def test_the_palette_offers_the_screens_actions(mem_app: MonitorApp) -> None:
    app = mem_app
    async with app.run_test(size=(120, 36)) as pilot:
        await loaded(pilot)
        await pilot.press("4")
        await until(pilot, lambda: isinstance(app.screen, FailedScreen))
        await until(pilot, lambda: len(keys(app, "#failed")) == 7)
        await pilot.press("ctrl+p")
        await until(pilot, lambda: isinstance(app.screen, CommandPalette))
        await pilot.press(*"retry all", "enter")
        # The same question as R asks, with the number it would retry.
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert "7" in app.screen.question  # type: ignore[attr-defined]
