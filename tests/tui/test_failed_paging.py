"""Paging on the Failed screen: rows past the first page, reached by the failed store's
cursor, with the true count of what the filter selects; the cursor keeps its row."""

from __future__ import annotations

import time

from seed import env as envelope
from seed import fail_jobs
from textual.widgets import Label
from tui_support import Env, loaded, until

from gello_cli.tui.app import MonitorApp
from gello_cli.tui.screens.failed import FailedScreen
from gello_cli.tui.table import KeyedTable

MORE = 250
"""Failures added to the 7 seeded: three pages of 100."""


def failed_rows(app: MonitorApp) -> list[str]:
    t = app.screen.query_one("#failed", KeyedTable)
    return [t.coordinate_to_cell_key((i, 0)).row_key.value or "" for i in range(t.row_count)]


def title(app: MonitorApp) -> str:
    return str(app.screen.query_one("#failed-title", Label).render())


async def add_failures(env: Env, queue: str, n: int, prefix: str) -> None:
    now = time.time()
    envs = [envelope(f"{prefix}-{i:03d}", queue, "Resize", now) for i in range(n)]
    await fail_jobs(env.driver, envs, "TimeoutError", "the resizer did not answer in 10s")


async def test_paging_reaches_rows_past_the_first_page_with_true_counts(
    app: MonitorApp, env: Env
) -> None:
    await add_failures(env, "media", MORE, "job-media")
    async with app.run_test(size=(120, 30)) as pilot:
        await loaded(pilot)
        await pilot.press("4")
        await until(pilot, lambda: isinstance(app.screen, FailedScreen) and failed_rows(app))
        await until(pilot, lambda: "rows 1\N{EN DASH}100 of 257" in title(app))
        pages = [failed_rows(app)]
        await pilot.press("greater_than_sign")
        await until(pilot, lambda: "rows 101\N{EN DASH}200 of 257" in title(app))
        pages.append(failed_rows(app))
        await pilot.press("greater_than_sign")
        await until(pilot, lambda: "rows 201\N{EN DASH}257 of 257" in title(app))
        pages.append(failed_rows(app))
        assert [len(p) for p in pages] == [100, 100, 57]
        seen = [job for page in pages for job in page]
        assert len(set(seen)) == 257  # every failed job once, none skipped or repeated
        # the last page: no next page to go to
        screen = app.screen
        assert isinstance(screen, FailedScreen)
        assert screen.check_action("next_page", ()) is None  # greyed in the footer
        await pilot.press("greater_than_sign")
        await pilot.pause(0.2)
        assert "rows 201\N{EN DASH}257" in title(app)
        await pilot.press("less_than_sign")
        await until(pilot, lambda: "rows 101\N{EN DASH}200 of 257" in title(app))
        assert failed_rows(app) == pages[1]
        # a filter counts in the backend and starts again at its first page
        await pilot.press("slash", *"queue:media", "enter")
        await until(pilot, lambda: "rows 1\N{EN DASH}100 of 250 match" in title(app))
        await pilot.press("greater_than_sign", "greater_than_sign")
        await until(pilot, lambda: "rows 201\N{EN DASH}250 of 250 match" in title(app))
        assert set(failed_rows(app)) <= {f"job-media-{i:03d}" for i in range(MORE)}


async def test_the_cursor_keeps_its_row_on_a_later_page_as_failures_arrive(
    app: MonitorApp, env: Env
) -> None:
    await add_failures(env, "media", MORE, "job-media")
    async with app.run_test(size=(120, 30)) as pilot:
        await loaded(pilot)
        await pilot.press("4")
        await until(pilot, lambda: "rows 1\N{EN DASH}100 of 257" in title(app))
        await pilot.press("greater_than_sign")
        await until(pilot, lambda: "rows 101\N{EN DASH}200 of 257" in title(app))
        await pilot.press("down", "down", "down")
        table = app.screen.query_one("#failed", KeyedTable)
        held = table.cursor_key
        assert held is not None
        assert held == failed_rows(app)[3]
        # New failures are the newest: they land on the first page, not under the cursor.
        await add_failures(env, "thumbs", 5, "job-thumb")
        before = app.ticks
        app.wake()
        await until(pilot, lambda: app.ticks > before and "of 262" in title(app))
        assert table.cursor_key == held
        assert not any(k.startswith("job-thumb") for k in failed_rows(app))
        # r acts on the row under the cursor, whatever moved: that job, by key
        await pilot.press("r")
        await until(pilot, lambda: held not in failed_rows(app))
    assert await env.driver.failed_find(held) is None
    assert await env.driver.find(held) is not None
