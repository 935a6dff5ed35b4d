"""One batch, pushed over the Batches screen: its progress and times, and its jobs (the
failed ones with their exception, then those still queued); cancel it, retry its failed
jobs, open one job."""

from __future__ import annotations

import time
from typing import ClassVar

import orjson
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Footer, Label, Static

from gello_cli.tui.format import clock_time, count, short_id
from gello_cli.tui.screens.base import WRITE_ACTIONS
from gello_cli.tui.screens.batch_actions import cancel_batch, retry_batch
from gello_cli.tui.screens.pushed import PushedScreen
from gello_cli.tui.table import Cell, KeyedTable, bar, cell
from gello_cli.tui.widgets import palette
from gello_queue import BatchRecord, GelloError, JobState
from gello_queue.inspection import (
    BATCH_FAILED_SHOWN,
    BatchDetail,
    BatchState,
    JobDetail,
    batch_state,
    batch_status,
    redact_url,
)

JOB_COLUMNS = [
    ("id", "Job"),
    ("name", "Name"),
    ("queue", "Queue"),
    ("state", "State"),
    ("at", "When"),
    ("error", "Error"),
]
STATE_ORDER = {JobState.FAILED: 0, JobState.RESERVED: 1, JobState.PENDING: 2, JobState.SCHEDULED: 3}
"""Failed jobs first: they are why an operator opens a batch."""


def progress_bar(b: BatchRecord, colors: dict[str, str], width: int = 10) -> Cell:
    """The batch's progress: succeeded, failed and waiting shares, then the percent."""
    shares = (colors["success"], colors["error"], colors["muted"])
    return bar(b.processed, b.failed, b.total, shares, width)


def state_cell(b: BatchRecord, colors: dict[str, str]) -> Cell:
    """Running, finished or cancelled; red when any of its jobs failed."""
    state = batch_state(b)
    style = {
        BatchState.RUNNING: colors["accent"],
        BatchState.FINISHED: colors["success"],
        BatchState.CANCELLED: colors["warning"],
    }[state]
    return cell(state.value, style=colors["error"] if b.failed else style)


class BatchScreen(PushedScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("enter", "open_job", "Job"),
        Binding("C", "cancel_batch", "Cancel batch"),
        Binding("R", "retry_batch", "Retry failed"),
    ]
    DEFAULT_CSS = """
    BatchScreen #batch-title { background: $panel; padding: 0 1; text-style: bold; }
    BatchScreen #batch-facts { padding: 0 1; height: auto; }
    BatchScreen #batch-jobs-title { padding: 0 1; text-style: bold; height: 1; }
    """

    def __init__(self, batch_id: str, name: str = "") -> None:
        super().__init__()
        self.batch_id = batch_id
        self.label = name or batch_id
        self.detail: BatchDetail | None = None

    def compose(self) -> ComposeResult:
        yield Static(f"Batch {self.label}", id="batch-title")
        with Vertical():
            yield Static("Loading…", id="batch-facts")
            yield Label("", id="batch-jobs-title")
            yield KeyedTable(JOB_COLUMNS, id="batch-jobs", order=("state", "at", "id"))
        yield Footer()

    def load(self) -> None:
        self.run_worker(self._load(), exclusive=True, group="batch")

    async def _load(self) -> None:
        wanted = self.batch_id
        facts = self.query_one("#batch-facts", Static)
        try:
            detail = await self.monitor.backend.call(lambda i: i.batch(wanted))
        except GelloError as exc:
            self.detail = None
            facts.update(f"{redact_url(str(exc))}\nEsc goes back.")
        except Exception as exc:  # a lost connection: say so, keep the screen
            facts.update(f"cannot load: {redact_url(str(exc))}")
        else:
            self.detail = detail
            self.show(detail)
        self.refresh_bindings()

    def show(self, detail: BatchDetail) -> None:
        now = self.monitor.now()
        colors = palette(self.app)
        self.query_one("#batch-facts", Static).update(render_facts(detail.record, now, colors))
        self.query_one("#batch-jobs-title", Label).update(jobs_title(detail))
        table = self.query_one(KeyedTable)
        table.sync([job_row(j, now, colors) for j in detail.jobs])

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action not in WRITE_ACTIONS:
            return True
        if self.detail is None:
            return False
        return None if self.monitor.read_only else True

    def action_open_job(self) -> None:
        key = self.query_one(KeyedTable).cursor_key
        if key is not None:
            self.monitor.open_job(key)

    def on_data_table_row_selected(self, event: KeyedTable.RowSelected) -> None:
        event.stop()
        self.action_open_job()

    def action_cancel_batch(self) -> None:
        cancel_batch(self.monitor, self.batch_id, self.label, then=self.load)

    def action_retry_batch(self) -> None:
        retry_batch(self.monitor, self.batch_id, self.label, then=self.load)


def render_facts(b: BatchRecord, now: float, colors: dict[str, str]) -> Table:
    """The batch's record as a two-column grid, its progress as a wide bar."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()

    def when(ts: float | None) -> str:
        if ts is None:
            return "-"
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ts))
        return f"{stamp} UTC ({clock_time(ts, now)})"

    progress = Text.assemble(
        progress_bar(b, colors, width=30).__rich__(),
        f"  {count(b.processed)} succeeded · ",
        (f"{count(b.failed)} failed", colors["error"] if b.failed else ""),
        f" · {count(b.pending)} pending, of {count(b.total)}",
    )
    rows: list[tuple[str, str | Text]] = [
        ("id", b.id),
        ("name", b.name or "-"),
        ("state", Text(batch_status(b), style=state_cell(b, colors).style)),
        ("progress", progress),
        ("created", when(b.created_at)),
        ("finished", when(b.finished_at)),
    ]
    if b.cancelled_at is not None:
        rows.append(("cancelled", when(b.cancelled_at)))
    rows.append(("on failure", options_text(b.options)))
    for name, value in rows:
        grid.add_row(name, value)
    return grid


def options_text(options: str) -> str:
    """Whether a failure cancels the batch, and which callbacks it has."""
    try:
        opts = orjson.loads(options)
    except orjson.JSONDecodeError:
        opts = {}
    if not isinstance(opts, dict):
        opts = {}
    text = "goes on" if opts.get("allow_failures") else "the first failure cancels it"
    callbacks = [w for w in ("then", "catch", "finally") if opts.get(w)]
    return text + (f"; callbacks: {', '.join(callbacks)}" if callbacks else "")


def jobs_title(d: BatchDetail) -> str:
    """How many of its jobs are listed, and why others may not be."""
    failed = len(d.failed_jobs)
    queued = len(d.jobs) - failed
    text = f"Jobs listed: {count(failed)} failed, {count(queued)} queued"
    notes = []
    if d.unlisted_failed:
        notes.append(
            f"{count(d.unlisted_failed)} failed not listed (past the first {BATCH_FAILED_SHOWN},"
            " forgotten, or chain links that never ran)"
        )
    if not d.queued_complete:
        notes.append("queued jobs read in part: more may wait")
    return text + ("  (" + "; ".join(notes) + ")" if notes else "")


def job_row(j: JobDetail, now: float, colors: dict[str, str]) -> tuple[str, list[Cell]]:
    """A job of the batch: failed ones with when and why, queued ones with when they run."""
    failed = j.state is JobState.FAILED
    at = j.failed_at if failed else j.available_at
    error = redact_url(f"{j.exception}: {j.message}")[:160] if failed else ""
    state = "running" if j.state is JobState.RESERVED else j.state.value
    return (
        j.id,
        [
            cell(short_id(j.id), j.id),
            cell(j.name),
            cell(j.queue),
            cell(state, STATE_ORDER.get(j.state, 9), style=colors["error"] if failed else ""),
            cell(clock_time(at, now), -(at or 0.0) if failed else (at or 0.0)),
            cell(error, style=colors["error"]),
        ],
    )
