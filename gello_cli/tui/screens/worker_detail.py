"""One worker, pushed over the Workers screen: what it is, what it runs now and for how
long, and the commands an operator sends it."""

from __future__ import annotations

import time
from typing import ClassVar

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Footer, Static

from gello_cli.tui.format import count, duration, short_id, size
from gello_cli.tui.screens.base import WRITE_ACTIONS
from gello_cli.tui.screens.pushed import PushedScreen
from gello_cli.tui.screens.worker_control import send, toggle_command
from gello_cli.tui.table import Cell, KeyedTable, cell, num
from gello_queue import GelloError, WorkerRecord
from gello_queue.inspection import JobDetail, WorkerCommand, redact_url, worker_label

JOB_COLUMNS = [
    ("id", "Job"),
    ("name", "Name"),
    ("queue", "Queue"),
    ("attempt", "Attempt"),
    ("runtime", "Running for"),
]


class WorkerScreen(PushedScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("t", "toggle_worker", "Pause/resume"),
        Binding("Q", "quiet_worker", "Quiet"),
        Binding("S", "stop_worker", "Stop"),
        Binding("enter", "open_job", "Job", show=False),
    ]
    DEFAULT_CSS = """
    WorkerScreen #worker-title { background: $panel; padding: 0 1; text-style: bold; }
    WorkerScreen #worker-facts { padding: 0 1; height: auto; }
    """

    def __init__(self, worker_id: str, label: str) -> None:
        super().__init__()
        self.worker_id = worker_id
        self.label = label
        self.record: WorkerRecord | None = None

    def compose(self) -> ComposeResult:
        yield Static(f"Worker {self.label}", id="worker-title")
        with Vertical():
            yield Static("Loading…", id="worker-facts")
            yield KeyedTable(JOB_COLUMNS, id="worker-jobs")
        yield Footer()

    def load(self) -> None:
        self.run_worker(self._load(), exclusive=True, group="worker")

    async def _load(self) -> None:
        wanted = self.worker_id
        facts = self.query_one("#worker-facts", Static)
        try:
            record, jobs = await self.monitor.backend.call(lambda i: i.worker(wanted))
        except GelloError as exc:
            self.record = None
            facts.update(f"{redact_url(str(exc))}\nIt may have stopped: Esc goes back.")
        except Exception as exc:  # a lost connection: say so, keep the screen
            facts.update(f"cannot load: {redact_url(str(exc))}")
        else:
            self.record = record
            now = self.monitor.now()
            facts.update(render_facts(record, now))
            since = record.running_since
            self.query_one(KeyedTable).sync([job_row(j, since.get(j.id), now) for j in jobs])
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action not in WRITE_ACTIONS:
            return True
        if self.record is None:
            return False
        return None if self.monitor.read_only else True

    def action_toggle_worker(self) -> None:
        if self.record is not None:
            send(self, self.record, toggle_command(self.record))

    def action_quiet_worker(self) -> None:
        if self.record is not None:
            send(self, self.record, WorkerCommand.QUIET)

    def action_stop_worker(self) -> None:
        if self.record is not None:
            send(self, self.record, WorkerCommand.STOP)

    def action_open_job(self) -> None:
        key = self.query_one(KeyedTable).cursor_key
        if key is not None:
            self.monitor.open_job(key)


def render_facts(w: WorkerRecord, now: float) -> Table:
    """The worker's heartbeat, as a two-column grid."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(w.started_at))
    for name, value in (
        ("worker", worker_label(w)),
        ("id", w.id),
        ("state", w.state),
        ("queues", ", ".join(w.queues)),
        ("busy", f"{len(w.current_jobs)} of {w.concurrency}"),
        ("processed", count(w.processed)),
        ("failed", count(w.failed)),
        ("memory", size(w.memory_bytes)),
        ("up", f"{duration(now - w.started_at)} (since {started})"),
        ("heartbeat", f"{duration(now - w.last_seen)} ago"),
    ):
        grid.add_row(name, value)
    return grid


def job_row(job: JobDetail, taken: float | None, now: float) -> tuple[str, list[Cell]]:
    """A running job's row: how long since its worker took it."""
    running = None if taken is None else max(now - taken, 0.0)
    return (
        job.id,
        [
            cell(short_id(job.id)),
            cell(job.name),
            cell(job.queue),
            num(str(job.attempts), job.attempts),
            num(duration(running), running or 0.0),
        ],
    )
