"""Screens as pictures: fixed clock, seeded memory store, live refresh paused.

Update after an intended change with ``pytest tests/tui --snapshot-update`` and look at
the SVGs in ``__snapshots__``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from seed import T0, seed_tags
from textual.pilot import Pilot
from tui_support import loaded, until

from gello_cli.tui.app import MonitorApp
from gello_cli.tui.screens.base import MonitorScreen
from gello_cli.tui.screens.batch_detail import BatchScreen
from gello_cli.tui.screens.detail import DetailScreen
from gello_cli.tui.screens.dialogs import ConfirmScreen
from gello_cli.tui.screens.tags import TagScreen
from gello_cli.tui.screens.worker_detail import WorkerScreen
from gello_queue.drivers.memory import MemoryDriver
from gello_queue.inspection import EventKind, OpsEvent

SIZES = {"narrow": (80, 24), "wide": (140, 40)}
Make = Callable[..., MonitorApp]


def showing(
    keys: list[str], ready: Callable[[MonitorApp], bool] | None = None
) -> Callable[[Pilot[Any]], Any]:
    """Load, press ``keys`` waiting for each refresh, then wait for ``ready``."""

    async def run(pilot: Pilot[Any]) -> None:
        app = pilot.app
        assert isinstance(app, MonitorApp)
        await loaded(pilot)
        for key in keys:
            before = app.ticks
            await pilot.press(key)
            if key.isdigit():
                await until(pilot, lambda b=before: app.ticks > b)
        if ready is not None:
            await until(pilot, lambda: ready(app))
        await pilot.pause()
        await pilot.wait_for_scheduled_animations()

    return run


SCREENS = {
    "overview": [],
    "queues": ["2"],
    "jobs": ["3"],
    "scheduled": ["3", "right_square_bracket"],
    "failed": ["4"],
    "workers": ["5"],
}


@pytest.mark.parametrize("size", sorted(SIZES))
@pytest.mark.parametrize("screen", sorted(SCREENS))
def test_screen(snap_compare: Any, fixed_app: Make, screen: str, size: str) -> None:
    keys = SCREENS[screen]
    ready = None
    if screen == "scheduled":
        ready = lambda app: app.listings.get("jobs", (None,))[0] == "scheduled"  # noqa: E731
    assert snap_compare(fixed_app(), run_before=showing(keys, ready), terminal_size=SIZES[size])


@pytest.mark.parametrize("size", [(80, 24), (200, 50)], ids=["80x24", "200x50"])
def test_worker_detail(snap_compare: Any, fixed_app: Make, size: tuple[int, int]) -> None:
    def ready(app: MonitorApp) -> bool:
        return isinstance(app.screen, WorkerScreen) and app.screen.record is not None

    assert snap_compare(fixed_app(), run_before=showing(["5", "enter"], ready), terminal_size=size)


@pytest.mark.parametrize("size", [(80, 24), (200, 50)], ids=["80x24", "200x50"])
def test_batches(snap_compare: Any, fixed_app: Make, size: tuple[int, int]) -> None:
    def ready(app: MonitorApp) -> bool:
        return bool(app.listings.get("batches"))

    app = fixed_app(batches=True)
    assert snap_compare(app, run_before=showing(["6"], ready), terminal_size=size)


@pytest.mark.parametrize("size", [(80, 24), (200, 50)], ids=["80x24", "200x50"])
def test_batch_detail(snap_compare: Any, fixed_app: Make, size: tuple[int, int]) -> None:
    def ready(app: MonitorApp) -> bool:
        return isinstance(app.screen, BatchScreen) and app.screen.detail is not None

    # The newest batch is on top: import-users, running with two failures.
    app = fixed_app(batches=True)
    assert snap_compare(app, run_before=showing(["6", "enter"], ready), terminal_size=size)


def test_tags(snap_compare: Any, fixed_app: Make) -> None:
    def ready(app: MonitorApp) -> bool:
        return bool(app.listings.get("tags"))

    app = fixed_app(seed_tags)
    assert snap_compare(app, run_before=showing(["7"], ready), terminal_size=(80, 24))


def test_tag_jobs(snap_compare: Any, fixed_app: Make) -> None:
    def ready(app: MonitorApp) -> bool:
        return isinstance(app.screen, TagScreen) and app.screen.rows is not None

    app = fixed_app(seed_tags)
    assert snap_compare(app, run_before=showing(["7", "enter"], ready), terminal_size=(80, 24))


def test_job_detail(snap_compare: Any, fixed_app: Make) -> None:
    def ready(app: MonitorApp) -> bool:
        return isinstance(app.screen, DetailScreen) and app.screen.detail is not None

    assert snap_compare(
        fixed_app(), run_before=showing(["4", "enter"], ready), terminal_size=(100, 40)
    )


def test_confirm_dialog(snap_compare: Any, fixed_app: Make) -> None:
    ready = lambda app: isinstance(app.screen, ConfirmScreen)  # noqa: E731
    assert snap_compare(fixed_app(), run_before=showing(["4", "X"], ready), terminal_size=(80, 24))


def test_read_only_footer(snap_compare: Any, fixed_app: Make) -> None:
    assert snap_compare(
        fixed_app(read_only=True), run_before=showing(["4"]), terminal_size=(100, 24)
    )


def test_filter_bar(snap_compare: Any, fixed_app: Make) -> None:
    keys = ["4", "slash", *"exc:http"]
    assert snap_compare(fixed_app(), run_before=showing(keys), terminal_size=(80, 24))


@pytest.mark.parametrize("theme", ["dark", "light", "ansi"])
def test_theme(snap_compare: Any, fixed_app: Make, theme: str) -> None:
    assert snap_compare(fixed_app(theme=theme), run_before=showing([]), terminal_size=(100, 30))


def test_offline_banner_keeps_the_last_data(snap_compare: Any, fixed_app: Make) -> None:
    async def run(pilot: Pilot[Any]) -> None:
        app = pilot.app
        assert isinstance(app, MonitorApp)
        await loaded(pilot)
        app.went_offline(
            ConnectionError("Error 111 connecting to redis://:hunter2@cache.internal:6379/0")
        )
        await pilot.pause()
        view = app.current_view()
        assert isinstance(view, MonitorScreen)
        assert view.has_class("-offline")

    assert snap_compare(fixed_app(), run_before=run, terminal_size=(80, 24))


def test_failures_grouped(snap_compare: Any, fixed_app: Make) -> None:
    def ready(app: MonitorApp) -> bool:
        listing = app.listings.get("failed")
        return listing is not None and listing[1] is True

    assert snap_compare(fixed_app(), run_before=showing(["4", "g"], ready), terminal_size=(100, 24))


@pytest.fixture
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Wall-clock times shown in UTC, whatever the machine's zone."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


async def rescued(driver: MemoryDriver) -> None:
    """A worker died holding three jobs, one on its last attempt; another took them back."""
    jobs = ("job-r1", "job-r2", "job-r3")
    await driver.events_add(
        [OpsEvent(EventKind.RESCUE, T0 - 75, "host-2:4200/worker-c", jobs, jobs[2:], "x")]
    )


@pytest.mark.parametrize("screen", ["overview", "workers"])
def test_recent_rescues(snap_compare: Any, fixed_app: Make, utc: None, screen: str) -> None:
    app = fixed_app(prepare=rescued)
    assert snap_compare(app, run_before=showing(SCREENS[screen]), terminal_size=SIZES["wide"])
