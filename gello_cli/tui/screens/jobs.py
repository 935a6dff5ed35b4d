"""Jobs by state: pending, scheduled and running tabs (running jobs with the progress they
last reported), and the completed-job history. The filter is applied by the backend,
pages of 200 rows go forward and back by cursor with the true count in the header; run a
scheduled job now, cancel the cursor's or the marked jobs, cancel every matching job, run
every matching scheduled job now."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Label, Tab, Tabs

from gello_cli.tui.format import clock_time, count, duration, short_id, span
from gello_cli.tui.screens.base import MonitorScreen
from gello_cli.tui.screens.common import query_error
from gello_cli.tui.table import Cell, KeyedTable, cell, num
from gello_cli.tui.widgets import palette
from gello_queue import GelloError, JobRecord, JobState, Progress
from gello_queue.inspection import FailedFilter, Matches, Snapshot, detail_of_record, worker_label

PAGE = 200
STATES = (JobState.PENDING, JobState.SCHEDULED, JobState.RESERVED)
COMPLETED = "completed"
"""The tab of the completed-job history (not a state a job is in: it is gone)."""
TABS = (*STATES, COMPLETED)
COLUMNS = [
    ("id", "Id"),
    ("job", "Job"),
    ("queue", "Queue"),
    ("attempts", "Tries"),
    ("priority", "Prio"),
    ("when", "When"),
    ("extra", "Worker / lease"),
]
COMPLETED_COLUMNS = [
    ("id", "Id"),
    ("job", "Job"),
    ("queue", "Queue"),
    ("attempts", "Tries"),
    ("worker", "Worker"),
    ("wait", "Wait"),
    ("runtime", "Run time"),
    ("finished", "Finished"),
]


class JobsScreen(MonitorScreen):
    mode = "jobs"
    filterable = True
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open", "Detail"),
        Binding("left_square_bracket", "tab(-1)", "Prev tab", show=False),
        Binding("right_square_bracket", "tab(1)", "Next tab"),
        Binding("space", "mark", "Mark", show=False),
        Binding("n", "run_now", "Run now"),
        Binding("c", "cancel", "Cancel job"),
        Binding("C", "cancel_matching", "Cancel matching", show=False),
        Binding("N", "run_all_now", "Run all scheduled now", show=False),
        Binding("greater_than_sign", "page(1)", "Next page"),
        Binding("less_than_sign", "page(-1)", "Prev page", show=False),
        Binding("slash", "filter", "Filter"),
        Binding("s", "sort", "Sort"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.tab: str = JobState.PENDING
        """The active tab: a ``JobState`` value, or ``COMPLETED``."""
        self.cursors: list[str | None] = [None]
        """The cursor of each page read so far (the first page's is None)."""
        self.page_no = 0
        self.next_cursor: str | None = None
        """The cursor after the page shown (None: it is the last)."""
        self._paged_for: tuple[str, str] = (self.tab, self.filter_text)

    def _page_key(self) -> tuple[str, str, int]:
        """What the listing shown must have been read for: tab, filter and page."""
        self._reset_pages_on_change()
        return (self.tab, self.filter_text, self.page_no)

    def _reset_pages_on_change(self) -> None:
        """Back to the first page (and no marks) when the tab or the filter changed."""
        now = (self.tab, self.filter_text)
        if now != self._paged_for:
            self._paged_for = now
            self.cursors, self.page_no, self.next_cursor = [None], 0, None
            self.query_one("#jobs", KeyedTable).clear_marks()

    @property
    def state(self) -> JobState | None:
        """The state the active tab lists; None on the completed tab."""
        return None if self.tab == COMPLETED else JobState(self.tab)

    def body(self) -> ComposeResult:
        with Vertical(id="body"):
            yield Tabs(
                Tab("Pending", id="pending"),
                Tab("Scheduled", id="scheduled"),
                Tab("Running", id="reserved"),
                Tab("Completed", id=COMPLETED),
            )
            yield Label("", id="jobs-title", classes="title")
            yield KeyedTable(COLUMNS, id="jobs", markable=True, order=("when", "id"))
            yield KeyedTable(
                COMPLETED_COLUMNS, id="completed", order=("finished", "id"), descending=True
            )

    def filter_hint(self) -> str:
        return (
            'filter: queue:NAME name:JOB age:>1h age:<10m "words in payloads"'
            " (enter applies, esc clears)"
        )

    def filter_error(self, text: str) -> str | None:
        return query_error(text)

    def focus_main(self) -> None:
        self.table.focus()

    def on_mount(self) -> None:
        self.query_one("#completed", KeyedTable).display = False

    @property
    def table(self) -> KeyedTable:
        """The table of the active tab."""
        return self.query_one("#completed" if self.tab == COMPLETED else "#jobs", KeyedTable)

    def on_tabs_tab_activated(self, event: Tabs.TabActivated) -> None:
        if event.tab.id is not None and event.tab.id != self.tab:
            self.tab = event.tab.id
            self.query_one("#jobs", KeyedTable).display = self.tab != COMPLETED
            self.query_one("#completed", KeyedTable).display = self.tab == COMPLETED
            self.refresh_bindings()
            self.table.sync([])
            self.monitor.listings.pop(self.mode, None)
            self.monitor.wake()
            self.table.focus()

    def action_tab(self, step: int) -> None:
        at = (TABS.index(self.tab) + step) % len(TABS)
        self.query_one(Tabs).active = TABS[at]

    def set_queue(self, queue: str) -> None:
        """Drill in from the queue table."""
        self.filter_text = f"queue:{queue}"

    async def fetch(self) -> Any:
        key = self._page_key()
        match = FailedFilter.parse(self.filter_text)
        state = self.state
        queues = self.monitor.watched
        if state is None:
            return (COMPLETED, await self._fetch_completed(match, queues), {}, key)
        cursor = self.cursors[self.page_no]
        try:
            # The backend applies the filter and counts every match (JobQueries).
            found: Matches[JobRecord] = await self.monitor.backend.call(
                lambda i: i.jobs_matching(state, match, queues=queues, limit=PAGE, cursor=cursor)
            )
            progress: dict[str, Progress] = {}
            if state is JobState.RESERVED:
                ids = [r.id for r in found.jobs]
                progress = await self.monitor.backend.call(lambda i: i.progress(ids))
        except GelloError as exc:  # e.g. a driver that cannot list jobs
            return (state, str(exc), {}, key)
        return (state, found, progress, key)

    async def _fetch_completed(self, match: FailedFilter, queues: Any) -> Any:
        """The newest completed jobs matching the filter (newest first), or why none can
        be shown (a driver that keeps no history)."""
        try:
            rows = await self.monitor.backend.call(
                lambda i: i.recent(queue=match.queue, limit=PAGE if match.only_queue else 10_000)
            )
        except GelloError as exc:
            return str(exc)
        shown = [
            c
            for c in rows
            if (queues is None or c.queue in queues)
            and _contains(c.name, match.name)
            and (_contains(c.id, match.text) or _contains(c.name, match.text))
        ]
        return shown[:PAGE]

    def show(self, snap: Snapshot, listing: Any) -> None:
        if listing is None or listing[0] != self.tab or listing[3] != self._page_key():
            return
        state, rows, progress, _ = listing
        title = self.query_one("#jobs-title", Label)
        if isinstance(rows, str):
            title.update(rows)
            self.table.sync([])
            return
        if state == COMPLETED:
            self._show_completed(rows, title, snap.taken_at)
            return
        self.next_cursor = rows.cursor
        title.update(self._title(state, rows))
        colors = palette(self.app)
        names = {w.id: worker_label(w) for w in snap.workers}
        self.table.sync(
            [
                (r.id, self._row(r, snap.taken_at, names, colors, progress.get(r.id)))
                for r in rows.jobs
            ]
        )

    def _title(self, state: JobState, rows: Matches[JobRecord]) -> str:
        """``Pending: rows 201 to 400 of 12,345  filter: name:Sync  marked: 2`` (with an en
        dash between the rows)."""
        label = {"pending": "Pending", "scheduled": "Scheduled", "reserved": "Running"}[state.value]
        total = f"{count(rows.count)}{'' if rows.complete else '+'}"
        first = self.page_no * PAGE + 1
        keys = ""
        if self.page_no == 0 and rows.cursor is None:
            text = f"{label}: {total}"
        elif rows.jobs:
            last = count(first + len(rows.jobs) - 1)
            text = f"{label}: rows {count(first)}\N{EN DASH}{last} of {total}"
            keys = "  (> next page, < previous)" if rows.cursor else "  (< previous page)"
        else:
            text = f"{label}: no rows past {count(first - 1)} of {total}"
            keys = "  (< previous page)"
        if self.filter_text:
            text += f"  filter: {self.filter_text}"
        if self.table.marked:
            text += f"  marked: {len(self.table.marked)}"
        text += keys
        return text

    def _show_completed(self, rows: list[Any], title: Label, now: float) -> None:
        text = f"Completed: {count(len(rows))} kept (newest first)"
        if self.filter_text:
            text += f"  filter: {self.filter_text}"
        title.update(text)
        self.table.sync(
            [
                (
                    c.id,
                    (
                        cell(short_id(c.id), c.id),
                        cell(c.name),
                        cell(c.queue),
                        num(str(c.attempts), c.attempts),
                        cell(c.worker),
                        num(span(c.wait_s), c.wait_s),
                        num(span(c.runtime_s), c.runtime_s),
                        cell(clock_time(c.finished_at, now), c.finished_at),
                    ),
                )
                for c in rows
            ]
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
        if action in ("run_now", "run_all_now"):
            return allowed if self.state is JobState.SCHEDULED else False
        if action in ("cancel", "cancel_matching", "mark"):
            return allowed if self.state in (JobState.PENDING, JobState.SCHEDULED) else False
        if action == "page":
            if self.state is None:
                return False
            step = parameters[0] if parameters else 1
            return self.page_no > 0 if step == -1 else self.next_cursor is not None
        if action == "open":
            # A completed job is gone from its queue: there is no detail to open.
            return allowed if self.state is not None else False
        return allowed

    def on_data_table_row_selected(self, event: KeyedTable.RowSelected) -> None:
        event.stop()
        self.action_open()

    def action_open(self) -> None:
        if self.state is not None and self.table.cursor_key is not None:
            self.monitor.open_job(self.table.cursor_key)

    def action_run_now(self) -> None:
        job_id = self.table.cursor_key
        if job_id is not None:
            self.monitor.act(
                lambda i: i.run_now(job_id), lambda _: f"Job {short_id(job_id)} runs now."
            )

    def action_cancel(self) -> None:
        """Cancel the marked jobs, else the cursor's, by id."""
        ids = self.table.selection()
        if ids:
            self.table.clear_marks()
            self.monitor.act(lambda i: i.cancel_jobs(ids), _cancelled)

    def action_mark(self) -> None:
        self.table.toggle_mark()
        self.monitor.wake()

    def action_page(self, step: int) -> None:
        """The next page (by the cursor after this one) or the previous one."""
        self._reset_pages_on_change()
        if step > 0 and self.next_cursor is not None:
            del self.cursors[self.page_no + 1 :]
            self.cursors.append(self.next_cursor)
            self.page_no += 1
        elif step < 0 and self.page_no > 0:
            self.page_no -= 1
        else:
            return
        self.next_cursor = None
        self.table.clear_marks()
        self.refresh_bindings()
        self.monitor.wake()

    def _scope(self, match: FailedFilter) -> str:
        where = f" in '{match.queue}'" if match.queue else ""
        rest = replace(match, queue=None).describe()
        return where + (f" matching {rest}" if rest else "")

    def action_cancel_matching(self) -> None:
        """Cancel the marked jobs, else every job of this tab the filter selects, after
        a confirmation with the true count; the latter in steps, with progress."""
        state = self.state
        if state not in (JobState.PENDING, JobState.SCHEDULED):
            return
        marked = self.table.selection() if self.table.marked else []
        if marked:
            self.monitor.confirm_act(
                lambda _: _const(len(marked)),
                lambda n: f"Cancel {n} marked job{'s' if n != 1 else ''}?",
                lambda i: i.cancel_jobs(marked),
                _cancelled,
            )
            # The marks go with their rows once cancelled; declined, they stay.
            return
        match = self.match
        self.monitor.confirm_bulk(
            lambda i: i.tally_jobs(state, match),
            lambda n: f"Cancel {n} {state.value} jobs{self._scope(match)}?",
            lambda i: i.cancel_matching_steps(state, match),
            "Cancelled",
        )

    def action_run_all_now(self) -> None:
        """Make every scheduled job the filter selects available now, after a
        confirmation with the true count, in steps with progress."""
        match = self.match
        self.monitor.confirm_bulk(
            lambda i: i.tally_jobs(JobState.SCHEDULED, match),
            lambda n: f"Run {n} scheduled jobs{self._scope(match)} now?",
            lambda i: i.promote_matching_steps(match),
            "Promoted",
        )


async def _const(n: int) -> int:
    return n


def _cancelled(n: int) -> str:
    return f"Cancelled {count(n)} job{'s' if n != 1 else ''}."


def progress_text(progress: Progress) -> str:
    """``40% resizing 4/10``: the percent, then the message when there is one."""
    percent = f"{progress.percent:.0f}%"
    return f"{percent} {progress.message}" if progress.message else percent


def _contains(text: str, part: str | None) -> bool:
    """Whether ``part`` (a filter's substring, any case) is in ``text``; no part: yes."""
    return part is None or part.lower() in text.lower()
