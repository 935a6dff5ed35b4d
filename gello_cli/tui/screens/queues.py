"""Queues: sizes, wait, rates and workers per queue; pause/resume, clear, retry failed."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Static

from gello_cli.tui.format import count
from gello_cli.tui.screens.base import MonitorScreen
from gello_cli.tui.screens.common import QUEUE_COLUMNS, hints, queue_row
from gello_cli.tui.table import KeyedTable
from gello_cli.tui.widgets import palette
from gello_queue.inspection import FailedFilter, Inspector, Snapshot


class QueuesScreen(MonitorScreen):
    mode = "queues"
    filterable = True
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open", "Jobs"),
        Binding("t", "toggle_pause", "Pause/resume"),
        Binding("C", "clear_queue", "Clear"),
        Binding("R", "retry_queue", "Retry failed"),
        Binding("slash", "filter", "Filter"),
        Binding("s", "sort", "Sort"),
    ]

    def body(self) -> ComposeResult:
        with Vertical(id="body"):
            yield KeyedTable(QUEUE_COLUMNS, id="queues")
            yield Static("", id="hints", classes="hint")

    def filter_hint(self) -> str:
        return "filter queues by name (enter applies, esc clears)"

    @property
    def table(self) -> KeyedTable:
        return self.query_one("#queues", KeyedTable)

    def show(self, snap: Snapshot, listing: Any) -> None:
        colors = palette(self.app)
        needle = self.filter_text.lower()
        self.table.sync(
            [queue_row(q, colors) for q in snap.all_stats() if needle in q.name.lower()]
        )
        self.query_one("#hints", Static).update(hints(snap, self.monitor.worker_hint))

    def action_sort(self) -> None:
        self.table.sort_by()

    def on_data_table_row_selected(self, event: KeyedTable.RowSelected) -> None:
        event.stop()
        self.action_open()

    def action_open(self) -> None:
        if self.table.cursor_key is not None:
            self.monitor.open_queue(self.table.cursor_key)

    def action_toggle_pause(self) -> None:
        name = self.table.cursor_key
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
        name = self.table.cursor_key
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
        name = self.table.cursor_key
        if name is None:
            return
        match = FailedFilter(queue=name)
        self.monitor.confirm_bulk(
            match,
            lambda n: f"Retry {n} failed jobs of '{name}'?",
            lambda i: i.retry_matching_steps(match),
            "Retried",
        )
