"""Batches: progress, pending and failed counts, when each was created and finished;
cancel one, retry its failed jobs, open it to see its jobs."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Label

from gello_cli.tui.format import clock_time, count
from gello_cli.tui.screens.base import MonitorScreen
from gello_cli.tui.screens.batch_actions import cancel_batch, retry_batch
from gello_cli.tui.screens.batch_detail import BatchScreen, progress_bar, state_cell
from gello_cli.tui.table import Cell, KeyedTable, cell, num
from gello_cli.tui.widgets import palette
from gello_queue import BatchRecord
from gello_queue.inspection import BatchState, Snapshot, batch_state

LISTED = 100
"""Newest batches listed."""
COLUMNS = [
    ("name", "Batch"),
    ("progress", "Progress"),
    ("pending", "Pending"),
    ("failed", "Failed"),
    ("state", "State"),
    ("created", "Created"),
    ("finished", "Finished"),
    ("total", "Total"),
    ("id", "Id"),
]


class BatchesScreen(MonitorScreen):
    mode = "batches"
    filterable = True
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open", "Jobs"),
        Binding("C", "cancel_batch", "Cancel batch"),
        Binding("R", "retry_batch", "Retry failed"),
        Binding("slash", "filter", "Filter"),
        Binding("s", "sort", "Sort"),
    ]

    def body(self) -> ComposeResult:
        with Vertical(id="body"):
            yield Label("", id="batches-title", classes="title")
            yield KeyedTable(COLUMNS, id="batches", order=("created", "id"), descending=True)

    def filter_hint(self) -> str:
        return "filter batches by name or id (enter applies, esc clears)"

    @property
    def table(self) -> KeyedTable:
        return self.query_one("#batches", KeyedTable)

    def focus_main(self) -> None:
        self.table.focus()

    async def fetch(self) -> Any:
        return await self.monitor.backend.call(lambda i: i.batches(limit=LISTED))

    def show(self, snap: Snapshot, listing: Any) -> None:
        if listing is None:
            return
        needle = self.filter_text.lower()
        batches: list[BatchRecord] = [b for b in listing if needle in f"{b.name} {b.id}".lower()]
        self.query_one("#batches-title", Label).update(title(listing, batches, self.filter_text))
        colors = palette(self.app)
        self.table.sync([(b.id, row(b, snap.taken_at, colors)) for b in batches])

    def selected(self) -> BatchRecord | None:
        """The batch under the cursor, by its key (rows may have moved since)."""
        key = self.table.cursor_key
        listing = self.monitor.listings.get(self.mode) or []
        return next((b for b in listing if b.id == key), None)

    def on_data_table_row_selected(self, event: KeyedTable.RowSelected) -> None:
        event.stop()
        self.action_open()

    def action_open(self) -> None:
        found = self.selected()
        if found is not None:
            self.app.push_screen(BatchScreen(found.id, found.name))

    def action_cancel_batch(self) -> None:
        found = self.selected()
        if found is not None:
            cancel_batch(self.monitor, found.id, found.name)

    def action_retry_batch(self) -> None:
        found = self.selected()
        if found is not None:
            retry_batch(self.monitor, found.id, found.name)


def title(listing: list[BatchRecord], shown: list[BatchRecord], filter_text: str) -> str:
    """How many batches, by state; what the filter keeps."""
    if not listing:
        return "No batches yet: Batch([...]).dispatch() starts one; its progress shows here."
    states = [batch_state(b) for b in listing]
    text = f"Batches: {count(len(listing))}"
    if len(listing) >= LISTED:
        text += f" (the newest {LISTED})"
    by_state = [f"{states.count(s)} {s.value}" for s in BatchState if states.count(s)]
    failing = sum(1 for b in listing if b.failed)
    if failing:
        by_state.append(f"{failing} with failures")
    if by_state:
        text += "  " + " · ".join(by_state)
    if filter_text:
        text += f"  filter: {filter_text!r} → {count(len(shown))} shown"
    return text


def row(b: BatchRecord, now: float, colors: dict[str, str]) -> list[Cell]:
    """A batch's cells, its id last (the name tells batches apart at a glance)."""
    finished = b.finished_at
    return [
        cell(b.name or "-"),
        progress_bar(b, colors),
        num(count(b.pending), b.pending),
        num(count(b.failed), b.failed, colors["error"] if b.failed else ""),
        state_cell(b, colors),
        cell(clock_time(b.created_at, now), b.created_at),
        cell(clock_time(finished, now), -1.0 if finished is None else finished),
        num(count(b.total), b.total),
        cell(b.id, style=colors["muted"]),
    ]
