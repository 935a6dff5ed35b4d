"""Queues: sizes, wait, rates, workers, and wait and run percentiles per queue; the same
per job class (``c``); pause/resume, clear, retry failed."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Static

from gello_cli.tui.format import count, latency, percent, rate
from gello_cli.tui.screens.base import MonitorScreen
from gello_cli.tui.screens.common import QUEUE_COLUMNS, hints, queue_row
from gello_cli.tui.table import Cell, KeyedTable, cell, num
from gello_cli.tui.widgets import palette
from gello_queue import NotSupportedError
from gello_queue.inspection import (
    FailedFilter,
    Inspector,
    Snapshot,
    TimingReport,
    TimingStatsRow,
)

STATS_WINDOW_S = 3600
"""The percentiles cover the last hour, as the status line's failures do."""
TIMING_COLUMNS = [
    ("wait_p50", "Wait p50"),
    ("wait_p95", "p95"),
    ("run_p50", "Run p50"),
    ("run_p95", "p95"),
]
CLASS_COLUMNS = [
    ("queue", "Queue"),
    ("job", "Job class"),
    ("rate", "Jobs/m"),
    ("fail", "Failed"),
    *TIMING_COLUMNS,
    ("run_p99", "p99"),
]
SEP = "\x1f"
"""Between queue and job class in a row key of the per-class table."""


def timing_cells(row: TimingStatsRow | None) -> list[Cell]:
    """p50 and p95 of wait and run (``-`` with no job in the window)."""
    values = (
        [] if row is None else [row.wait_p(0.5), row.wait_p(0.95), row.run_p(0.5), row.run_p(0.95)]
    )
    values += [None] * (4 - len(values))
    return [num(latency(v), -1.0 if v is None else v) for v in values]


class QueuesScreen(MonitorScreen):
    mode = "queues"
    filterable = True
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open", "Jobs"),
        Binding("t", "toggle_pause", "Pause/resume"),
        Binding("C", "clear_queue", "Clear"),
        Binding("R", "retry_queue", "Retry failed"),
        Binding("c", "by_class", "By class"),
        Binding("slash", "filter", "Filter"),
        Binding("s", "sort", "Sort"),
    ]
    DEFAULT_CSS = """
    QueuesScreen #classes { display: none; }
    QueuesScreen.-by-class #classes { display: block; }
    QueuesScreen.-by-class #queues { display: none; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.by_class = False

    def body(self) -> ComposeResult:
        with Vertical(id="body"):
            yield KeyedTable([*QUEUE_COLUMNS, *TIMING_COLUMNS], id="queues")
            yield KeyedTable(CLASS_COLUMNS, id="classes")
            yield Static("", id="hints", classes="hint")

    def filter_hint(self) -> str:
        return "filter queues by name (enter applies, esc clears)"

    @property
    def table(self) -> KeyedTable:
        return self.query_one("#queues", KeyedTable)

    @property
    def class_table(self) -> KeyedTable:
        return self.query_one("#classes", KeyedTable)

    @property
    def shown_table(self) -> KeyedTable:
        return self.class_table if self.by_class else self.table

    @property
    def selected_queue(self) -> str | None:
        """The queue of the row under the cursor, in either table."""
        key = self.shown_table.cursor_key
        return None if key is None else key.split(SEP, 1)[0]

    def focus_main(self) -> None:
        self.shown_table.focus()

    async def fetch(self) -> Any:
        try:
            return await self.monitor.backend.call(lambda i: i.stats(window_s=STATS_WINDOW_S))
        except NotSupportedError:
            return None  # a driver that keeps no timings: the columns show "-"

    def show(self, snap: Snapshot, listing: Any) -> None:
        colors = palette(self.app)
        needle = self.filter_text.lower()
        report = listing if isinstance(listing, TimingReport) else None
        shown = [q for q in snap.all_stats() if needle in q.name.lower()]
        self.table.sync(
            [
                (key, [*cells, *timing_cells(report.queue(q.name) if report else None)])
                for q in shown
                for key, cells in [queue_row(q, colors, self.monitor.waits)]
            ]
        )
        names = {q.name for q in shown}
        jobs = [] if report is None else [r for r in report.jobs if r.queue in names]
        self.class_table.sync([self._class_row(r, colors) for r in jobs])
        self.query_one("#hints", Static).update(hints(snap, self.monitor.worker_hint))

    @staticmethod
    def _class_row(r: TimingStatsRow, colors: dict[str, str]) -> tuple[str, list[Cell]]:
        failed = r.failure_rate or 0.0
        return f"{r.queue}{SEP}{r.job}", [
            cell(r.queue),
            cell(r.job or ""),
            num(rate(r.per_minute), r.per_minute),
            num(percent(r.failure_rate), failed, colors["error"] if r.failed else ""),
            *timing_cells(r),
            num(latency(r.run_p(0.99)), r.run_p(0.99) or -1.0),
        ]

    def sorted_table(self) -> KeyedTable:
        return self.shown_table

    def action_by_class(self) -> None:
        """Show the percentiles per job class instead of per queue (and back)."""
        self.by_class = not self.by_class
        self.set_class(self.by_class, "-by-class")
        self.focus_main()
        self.monitor.wake()

    def on_data_table_row_selected(self, event: KeyedTable.RowSelected) -> None:
        event.stop()
        self.action_open()

    def action_open(self) -> None:
        if self.selected_queue is not None:
            self.monitor.open_queue(self.selected_queue)

    def action_toggle_pause(self) -> None:
        name = self.selected_queue
        snap = self.monitor.snapshot
        if name is None or snap is None:
            return
        if name in snap.paused:

            async def resume(i: Inspector) -> int:
                await i.resume(name)
                return 0

            self.monitor.act(resume, lambda _: f"Resumed '{name}': workers take its jobs again.")
        else:

            async def pause(i: Inspector) -> int:
                await i.pause(name)
                return 0

            self.monitor.act(pause, lambda _: f"Paused '{name}': workers skip it.")

    def action_clear_queue(self) -> None:
        name = self.selected_queue
        if name is None:
            return

        async def waiting(i: Inspector) -> int:
            c = (await i.snapshot()).queues.get(name)
            return 0 if c is None else c.pending + c.scheduled

        self.monitor.confirm_act(
            waiting,
            lambda n: f"Clear {count(n)} pending and scheduled jobs from '{name}'?",
            lambda i: i.clear(name),
            lambda n: f"Cleared {count(n)} jobs from '{name}'.",
        )

    def action_retry_queue(self) -> None:
        name = self.selected_queue
        if name is None:
            return
        match = FailedFilter(queue=name)
        self.monitor.confirm_bulk(
            lambda i: i.tally_failed(match),
            lambda n: f"Retry {n} failed jobs of '{name}'?",
            lambda i: i.retry_matching_steps(match),
            "Retried",
        )
