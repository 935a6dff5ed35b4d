"""The Queues screen's wait and run percentiles, per queue and per job class (``c``),
read from what workers stored on a real backend (SQLite file, Redis prefix)."""

from __future__ import annotations

from seed import TIMINGS
from tui_support import loaded, screen_text, until

from gello_cli.output import latency
from gello_cli.tui.app import MonitorApp
from gello_cli.tui.screens.jobs import JobsScreen
from gello_cli.tui.screens.queues import QueuesScreen
from gello_cli.tui.table import KeyedTable
from gello_queue.core.timing import bucket_of, value_of


def shown(seconds: float) -> str:
    """How the screen prints a percentile whose true value is ``seconds``."""
    return latency(value_of(bucket_of(seconds)))


def row_text(app: MonitorApp, table: str, key: str) -> list[str]:
    t = app.screen.query_one(table, KeyedTable)
    return [c.text for c in t.get_row(key)]


async def test_queues_show_wait_and_run_percentiles_and_classes_on_their_own(
    app: MonitorApp,
) -> None:
    async with app.run_test(size=(160, 40)) as pilot:
        await loaded(pilot)
        await pilot.press("2")
        await until(
            pilot,
            lambda: (
                isinstance(app.screen, QueuesScreen)
                and app.screen.query_one("#queues", KeyedTable).row_count == 3
                and row_text(app, "#queues", "emails")[-1] != "-"
            ),
        )
        # emails: waits 30 x 0.4 s and 12 x 2.5 s; runs 36 x 0.12 s and 6 x 0.9 s.
        assert row_text(app, "#queues", "emails")[-4:] == [
            shown(0.4),
            shown(2.5),
            shown(0.12),
            shown(0.9),
        ]
        assert row_text(app, "#queues", "reports")[-4:] == [
            shown(1.5),
            shown(20.0),
            shown(6.0),
            shown(45.0),
        ]
        assert row_text(app, "#queues", "webhooks")[-4:] == ["-", "-", "-", "-"]  # no job ran
        assert "Wait p50" in screen_text(app)

        await pilot.press("c")
        await until(pilot, lambda: "Job class" in screen_text(app))
        classes = app.screen.query_one("#classes", KeyedTable)
        await until(pilot, lambda: classes.row_count == len(TIMINGS))
        invoice = row_text(app, "#classes", "emails\x1fSendInvoice")
        assert invoice[:2] == ["emails", "SendInvoice"]
        assert invoice[3] == "4.76%"  # 2 failed of 42
        assert invoice[4:] == [shown(0.4), shown(2.5), shown(0.12), shown(0.9), shown(0.9)]
        text = screen_text(app)
        assert "BuildReport" in text
        assert "Pending" not in text  # the per-queue table is hidden

        await pilot.press("down", "enter")  # the class's queue: reports
        await until(
            pilot,
            lambda: (
                isinstance(app.screen, JobsScreen) and app.screen.filter_text == "queue:reports"
            ),
        )
