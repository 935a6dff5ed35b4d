"""The Tags screen against real backends: the monitored tags with their jobs counted, a
tag's jobs, monitoring a new tag and stopping (asked first), as the backend then holds."""

from __future__ import annotations

import time

from seed import seed_tags
from textual.widgets import Input
from tui_support import Env, loaded, until

from gello_cli.tui.app import MonitorApp
from gello_cli.tui.screens.dialogs import ConfirmScreen
from gello_cli.tui.screens.tags import TagInputScreen, TagScreen, TagsScreen
from gello_cli.tui.table import KeyedTable
from gello_queue.inspection import Inspector


def table(app: MonitorApp, name: str) -> KeyedTable:
    return app.screen.query_one(f"#{name}", KeyedTable)


def keys(t: KeyedTable) -> list[str]:
    return [t.coordinate_to_cell_key((i, 0)).row_key.value or "" for i in range(t.row_count)]


def texts(t: KeyedTable, key: str) -> list[str]:
    return [c.text for c in t.get_row(key)]


async def open_tags(pilot, app: MonitorApp, count: int) -> KeyedTable:  # type: ignore[no-untyped-def]
    await loaded(pilot)
    await pilot.press("7")
    await until(
        pilot,
        lambda: isinstance(app.screen, TagsScreen) and len(keys(table(app, "tags"))) == count,
    )
    return table(app, "tags")


async def test_a_monitored_tag_with_its_counts_and_jobs(app: MonitorApp, env: Env) -> None:
    await seed_tags(env.driver, time.time())
    async with app.run_test(size=(120, 30)) as pilot:
        tags = await open_tags(pilot, app, 1)
        assert texts(tags, "customer:42") == ["customer:42", "1", "1", "1"]
        await pilot.press("enter")
        await until(
            pilot, lambda: isinstance(app.screen, TagScreen) and app.screen.rows is not None
        )
        jobs = table(app, "tag-jobs")
        assert keys(jobs) == ["job-tagged-fail", "job-tagged-wait", "job-tagged-done"]
        assert [texts(jobs, k)[3] for k in keys(jobs)] == ["failed", "pending", "completed"]
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, TagsScreen))


async def test_monitor_a_tag_then_stop_after_a_confirmation(app: MonitorApp, env: Env) -> None:
    async with app.run_test(size=(120, 30)) as pilot:
        await open_tags(pilot, app, 0)
        await pilot.press("m")
        await until(pilot, lambda: isinstance(app.screen, TagInputScreen))
        app.screen.query_one("#tag", Input).value = "customer:7"
        await pilot.press("enter")
        tags = await open_tags(pilot, app, 1)
        assert await Inspector(env.queue).monitored_tags() == ["customer:7"]
        assert texts(tags, "customer:7")[1:] == ["0", "0", "0"]

        await pilot.press("U")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert isinstance(app.screen, ConfirmScreen)
        assert app.screen.question == "Stop monitoring customer:7? Its kept jobs then age out."
        await pilot.press("y")
        await until(pilot, lambda: keys(table(app, "tags")) == [])
    assert await Inspector(env.queue).monitored_tags() == []


async def test_a_read_only_dashboard_cannot_change_the_tags(env: Env) -> None:
    backend = env.backend()
    app = MonitorApp(backend, url=env.queue.url, interval=0.5, live=False, read_only=True)
    try:
        async with app.run_test(size=(120, 30)) as pilot:
            await open_tags(pilot, app, 0)
            await pilot.press("m")
            await pilot.pause()
            assert not isinstance(app.screen, TagInputScreen)
    finally:
        backend.close()
