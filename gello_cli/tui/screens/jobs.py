"""Jobs by state: pending, scheduled and running tabs (running jobs with the progress they
last reported); run a scheduled job now, cancel one."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Label, Tab, Tabs

from gello_cli.tui.format import clock_time, count, duration, short_id
from gello_cli.tui.screens.base import MonitorScreen
from gello_cli.tui.table import Cell, KeyedTable, cell, num
from gello_cli.tui.widgets import palette
from gello_queue import GelloError, JobRecord, JobState, Progress
from gello_queue.inspection import FailedFilter, Matches, Snapshot, detail_of_record, worker_label

PAGE = 200
STATES = (JobState.PENDING, JobState.SCHEDULED, JobState.RESERVED)
COLUMNS = [
    ("id", "Id"),
    ("job", "Job"),
    ("queue", "Queue"),
    ("attempts", "Tries"),
    ("priority", "Prio"),
    ("when", "When"),
    ("extra", "Worker / lease"),
]


class JobsScreen(MonitorScreen):
    mode = "jobs"
    filterable = True
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open", "Detail"),
        Binding("left_square_bracket", "tab(-1)", "Prev tab", show=False),
        Binding("right_square_bracket", "tab(1)", "Next tab"),
        Binding("n", "run_now", "Run now"),
        Binding("c", "cancel", "Cancel job"),
        Binding("slash", "filter", "Filter"),
        Binding("s", "sort", "Sort"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.state = JobState.PENDING

    def body(self) -> ComposeResult:
        with Vertical(id="body"):
            yield Tabs(
                Tab("Pending", id="pending"),
                Tab("Scheduled", id="scheduled"),
                Tab("Running", id="reserved"),
            )
            yield Label("", id="jobs-title", classes="title")
            yield KeyedTable(COLUMNS, id="jobs", order=("when", "id"))

    def filter_hint(self) -> str:
        return (
            "filter: queue:NAME name:JOB and/or text in id or job name (enter applies, esc clears)"
        )

    def focus_main(self) -> None:
        self.table.focus()

    @property
    def table(self) -> KeyedTable:
        return self.query_one("#jobs", KeyedTable)

    def on_tabs_tab_activated(self, event: Tabs.TabActivated) -> None:
        if event.tab.id is not None and event.tab.id != self.state:
            self.state = JobState(event.tab.id)
            self.refresh_bindings()
            self.table.sync([])
            self.monitor.listings.pop(self.mode, None)
            self.monitor.wake()
            self.table.focus()

    def action_tab(self, step: int) -> None:
        at = (STATES.index(self.state) + step) % len(STATES)
        self.query_one(Tabs).active = STATES[at].value

    def set_queue(self, queue: str) -> None:
        """Drill in from the queue table."""
        self.filter_text = f"queue:{queue}"

    async def fetch(self) -> Any:
        match = FailedFilter.parse(self.filter_text)
        state = self.state
        queues = self.monitor.watched
        found: list[JobRecord] | Matches[JobRecord]
        try:
            if match.only_queue and queues is None:
                found = await self.monitor.backend.call(
                    lambda i: i.jobs(match.queue, state, limit=PAGE)
                )
            else:
                # A filter beyond the queue is applied in the backend, counting every match.
                found = await self.monitor.backend.call(
                    lambda i: i.jobs_matching(state, match, queues=queues, limit=PAGE)
                )
            progress: dict[str, Progress] = {}
            if state is JobState.RESERVED:
                ids = [r.id for r in (found.jobs if isinstance(found, Matches) else found)]
                progress = await self.monitor.backend.call(lambda i: i.progress(ids))
        except GelloError as exc:  # e.g. a driver that cannot list jobs
            return (state, str(exc), {})
        return (state, found, progress)

    def show(self, snap: Snapshot, listing: Any) -> None:
        if listing is None or listing[0] != self.state:
            return
        state, rows, progress = listing
        title = self.query_one("#jobs-title", Label)
        if isinstance(rows, str):
            title.update(rows)
            self.table.sync([])
            return
        if isinstance(rows, Matches):
            shown, total, more = rows.jobs, rows.count, "" if rows.complete else "+"
        else:
            queue = FailedFilter.parse(self.filter_text).queue
            shown, more = rows, ""
            total = sum(
                getattr(c, state.value) for q, c in snap.queues.items() if queue in (None, q)
            )
        label = {"pending": "Pending", "scheduled": "Scheduled", "reserved": "Running"}[state.value]
        text = f"{label}: {count(total)}{more}"
        if len(shown) < total:
            text += f" (showing {count(len(shown))}, oldest first)"
        if self.filter_text:
            text += f"  filter: {self.filter_text}"
        title.update(text)
        colors = palette(self.app)
        names = {w.id: worker_label(w) for w in snap.workers}
        self.table.sync(
            [(r.id, self._row(r, snap.taken_at, names, colors, progress.get(r.id))) for r in shown]
        )

    def _row(
        self,
        r: JobRecord,
        now: float,
        workers: dict[str, str],
        colors: dict[str, str],
        progress: Progress | None = None,
    ) -> tuple[Cell, ...]:
        d = detail_of_record(r)
        extra_style = colors["muted"]
        if r.state is JobState.RESERVED:
            # Named as on the Workers screen; a worker no longer heard from has no name.
            worker = workers.get(r.reserved_by or "", "an unknown worker")
            lease = r.lease_expires_at
            if lease is not None and lease <= now:
                # Its worker went silent: the job waits for a rescue pass to run again.
                extra = f"{worker} lease expired {duration(now - lease)} ago"
                extra_style = colors["warning"]
            else:
                extra = f"{worker} lease {clock_time(lease, now)}"
            if progress is not None:
                # First: how far it got is what a running row is looked at for.
                extra = f"{progress_text(progress)} | {extra}"
        else:
            extra = ""
        return (
            cell(short_id(r.id), r.id),
            cell(d.name),
            cell(r.queue),
            num(f"{r.attempts}/{d.max_attempts or '?'}", r.attempts),
            num(str(r.priority), r.priority),
            cell(clock_time(r.available_at, now), r.available_at),
            cell(extra, style=extra_style),
        )

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        allowed = super().check_action(action, parameters)
        if action == "run_now":
            return allowed if self.state is JobState.SCHEDULED else False
        if action == "cancel":
            return allowed if self.state is not JobState.RESERVED else False
        return allowed

    def action_sort(self) -> None:
        self.table.sort_by()

    def on_data_table_row_selected(self, event: KeyedTable.RowSelected) -> None:
        event.stop()
        self.action_open()

    def action_open(self) -> None:
        if self.table.cursor_key is not None:
            self.monitor.open_job(self.table.cursor_key)

    def action_run_now(self) -> None:
        job_id = self.table.cursor_key
        if job_id is not None:
            self.monitor.act(
                lambda i: i.run_now(job_id), lambda _: f"Job {short_id(job_id)} runs now."
            )

    def action_cancel(self) -> None:
        job_id = self.table.cursor_key
        if job_id is not None:
            self.monitor.act(
                lambda i: i.cancel(job_id), lambda _: f"Cancelled job {short_id(job_id)}."
            )


def progress_text(progress: Progress) -> str:
    """``40% resizing 4/10``: the percent, then the message when there is one."""
    percent = f"{progress.percent:.0f}%"
    return f"{percent} {progress.message}" if progress.message else percent
