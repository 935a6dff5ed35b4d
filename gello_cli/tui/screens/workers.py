"""Workers: host:pid, queues, busy/concurrency, counters, uptime, memory, heartbeat, and
the recent rescues of dead workers' jobs."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Label, Static

from gello_cli.tui.format import count, duration, size
from gello_cli.tui.screens.base import MonitorScreen
from gello_cli.tui.screens.worker_control import send, toggle_command
from gello_cli.tui.screens.worker_detail import WorkerScreen
from gello_cli.tui.table import KeyedTable, cell, num
from gello_cli.tui.widgets import palette
from gello_queue import WorkerRecord
from gello_queue.inspection import (
    EventKind,
    Snapshot,
    WorkerCommand,
    event_line,
    heartbeat_age,
    is_stale,
    rescue_in,
    worker_label,
)

COLUMNS = [
    ("worker", "Worker (host:pid/name)"),
    ("queues", "Queues"),
    ("state", "State"),
    ("busy", "Busy"),
    ("processed", "Done"),
    ("failed", "Failed"),
    ("uptime", "Up"),
    ("memory", "Mem"),
    ("heartbeat", "Beat"),
]


class WorkersScreen(MonitorScreen):
    mode = "workers"
    filterable = True
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open", "Detail"),
        Binding("t", "toggle_worker", "Pause/resume"),
        Binding("Q", "quiet_worker", "Quiet"),
        Binding("S", "stop_worker", "Stop"),
        Binding("slash", "filter", "Filter"),
        Binding("s", "sort", "Sort"),
    ]

    def body(self) -> ComposeResult:
        with Vertical(id="body"):
            yield Label("", id="workers-title", classes="title")
            yield KeyedTable(COLUMNS, id="workers")
            yield Static("", id="hints", classes="hint")
            yield Static("", id="events", classes="hint")

    def filter_hint(self) -> str:
        return "filter workers by host, name or queue (enter applies, esc clears)"

    @property
    def table(self) -> KeyedTable:
        return self.query_one("#workers", KeyedTable)

    def selected(self) -> WorkerRecord | None:
        """The worker under the cursor, by key: a refresh that moved rows cannot
        redirect a command to another worker."""
        snap, key = self.monitor.snapshot, self.table.cursor_key
        if snap is None or key is None:
            return None
        return next((w for w in snap.workers if w.id == key), None)

    def on_data_table_row_selected(self, event: KeyedTable.RowSelected) -> None:
        event.stop()
        self.action_open()

    def action_open(self) -> None:
        worker = self.selected()
        if worker is not None:
            self.app.push_screen(WorkerScreen(worker.id, worker_label(worker)))

    def action_toggle_worker(self) -> None:
        worker = self.selected()
        if worker is not None:
            send(self, worker, toggle_command(worker))

    def action_quiet_worker(self) -> None:
        worker = self.selected()
        if worker is not None:
            send(self, worker, WorkerCommand.QUIET)

    def action_stop_worker(self) -> None:
        worker = self.selected()
        if worker is not None:
            send(self, worker, WorkerCommand.STOP)

    def show(self, snap: Snapshot, listing: Any) -> None:
        colors = palette(self.app)
        lease = self.monitor.lease_s
        needle = self.filter_text.lower()
        rows = []
        stale_notes = []
        for w in snap.workers:
            where = f"{w.host}:{w.pid}"
            if needle and needle not in f"{where} {w.name} {','.join(w.queues)}".lower():
                continue
            age = heartbeat_age(w, snap.taken_at)
            stale = is_stale(w, snap.taken_at, lease)
            if stale:
                due = rescue_in(w, snap.taken_at, lease)
                when = f"in {duration(due)} if it stays silent" if due else "at the next pass"
                stale_notes.append(
                    f"{where} missed its heartbeats: its {len(w.current_jobs)} running jobs "
                    f"are rescued {when}."
                )
            if stale:  # its heartbeat is overdue: dead, whatever it last said
                state = cell("dead", style=f"bold {colors['error']}")
            else:
                state = cell(w.state, style=colors["warning"] if w.state != "running" else "")
            busy = len(w.current_jobs)
            rows.append(
                (
                    w.id,
                    (
                        cell(worker_label(w)),
                        cell(",".join(w.queues)),
                        state,
                        num(f"{busy}/{w.concurrency}", busy / max(w.concurrency, 1)),
                        num(count(w.processed), w.processed),
                        num(count(w.failed), w.failed, colors["error"] if w.failed else ""),
                        num(
                            duration(snap.taken_at - w.started_at) if w.started_at else "-",
                            w.started_at,
                        ),
                        num(size(w.memory_bytes), w.memory_bytes),
                        num(
                            duration(age) + (" !" if stale else ""),
                            age,
                            f"bold {colors['warning']}" if stale else "",
                        ),
                    ),
                )
            )
        busy, total = snap.busy(lease)
        live = len(snap.live_workers(lease))
        dead = len(snap.workers) - live
        self.query_one("#workers-title", Label).update(
            f"Workers: {live} live"
            + (f", {dead} dead" if dead else "")
            + f", {busy}/{total} slots busy"
        )
        self.table.sync(rows)
        hint = "\n".join(stale_notes[:3])
        if not snap.workers:
            hint = f"No live workers: start one with `{self.monitor.worker_hint.command()}`."
        self.query_one("#hints", Static).update(hint)
        events = self.query_one("#events", Static)
        events.display = bool(snap.events)
        rescues = [e for e in snap.events if e.kind == EventKind.RESCUE]
        others = [e for e in snap.events if e.kind != EventKind.RESCUE]
        blocks = []
        if rescues:
            blocks.append(
                "Recent rescues (their workers stopped answering):\n"
                + "\n".join(f"  {event_line(e)}" for e in rescues)
            )
        if others:  # balancing decisions of --balance auto supervisors
            blocks.append("Recent events:\n" + "\n".join(f"  {event_line(e)}" for e in others))
        events.update("\n".join(blocks))
