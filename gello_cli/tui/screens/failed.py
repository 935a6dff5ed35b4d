"""Failed jobs: filter, marks, retry, retry all matching, forget, purge matching; pages
past the first by the failed store's cursor, with the true count of what matches."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Label

from gello_cli.tui.format import clock_time, count, short_id
from gello_cli.tui.screens.base import MonitorScreen
from gello_cli.tui.screens.common import query_error
from gello_cli.tui.table import KeyedTable, cell, num
from gello_cli.tui.widgets import palette
from gello_queue import FailedJob
from gello_queue.inspection import FailedFilter, FailureGroup, Matches, Snapshot, redact_url

PAGE = 100
DASH = "\N{EN DASH}"
GROUP_COLUMNS = [
    ("count", "Jobs"),
    ("job", "Job"),
    ("exception", "Exception"),
    ("message", "Message (newest)"),
    ("queues", "Queues"),
    ("newest", "Last"),
    ("fp", "Fingerprint"),
]
COLUMNS = [
    ("id", "Id"),
    ("job", "Job"),
    ("queue", "Queue"),
    ("at", "Failed"),
    ("attempts", "Tries"),
    ("error", "Error"),
]


class FailedScreen(MonitorScreen):
    mode = "failed"
    filterable = True
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open", "Detail"),
        Binding("space", "mark", "Mark"),
        Binding("r", "retry", "Retry"),
        Binding("R", "retry_all", "Retry all"),
        Binding("x", "forget", "Forget"),
        Binding("X", "purge", "Purge all"),
        Binding("g", "group", "Group"),
        Binding("greater_than_sign", "next_page", "Next page"),
        Binding("less_than_sign", "prev_page", "Prev page", show=False),
        Binding("slash", "filter", "Filter"),
        Binding("s", "sort", "Sort", show=False),
    ]
    DEFAULT_CSS = """
    FailedScreen #groups { display: none; }
    FailedScreen.-grouped #groups { display: block; }
    FailedScreen.-grouped #failed { display: none; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.grouped = False
        self.page = 0
        """The page shown, from 0."""
        self.starts: list[str | None] = [None]
        """Where each page up to the one shown starts (the failed store's cursors)."""
        self.next_start: str | None = None
        """Where the next page starts; None on the last page."""
        self.paged_match: FailedFilter | None = None
        """The filter the pages belong to."""

    def body(self) -> ComposeResult:
        with Vertical(id="body"):
            yield Label("", id="failed-title", classes="title")
            yield KeyedTable(
                COLUMNS, id="failed", markable=True, order=("at", "id"), descending=True
            )
            yield KeyedTable(GROUP_COLUMNS, id="groups", order=("count",), descending=True)

    def filter_hint(self) -> str:
        return (
            'filter: queue:NAME name:JOB exc:ERROR fp:GROUP age:>1h "words in payloads"'
            " (enter applies, esc clears)"
        )

    def filter_error(self, text: str) -> str | None:
        return query_error(text)

    def focus_main(self) -> None:
        (self.groups if self.grouped else self.table).focus()

    @property
    def table(self) -> KeyedTable:
        return self.query_one("#failed", KeyedTable)

    @property
    def groups(self) -> KeyedTable:
        return self.query_one("#groups", KeyedTable)

    def set_queue(self, queue: str) -> None:
        self.filter_text = f"queue:{queue}"

    async def fetch(self) -> Any:
        match = self.match
        if self.grouped:
            groups = await self.monitor.backend.call(lambda i: i.failure_groups(match))
            return (match, True, groups)
        if match != self.paged_match:  # a new filter starts at its first page
            self.paged_match, self.page, self.starts = match, 0, [None]
        page, start = self.page, self.starts[self.page]
        found = await self.monitor.backend.call(
            lambda i: i.failed_matching(match, limit=PAGE, cursor=start)
        )
        return (match, False, found, page)

    def show(self, snap: Snapshot, listing: Any) -> None:
        if listing is None or listing[0] != self.match or listing[1] != self.grouped:
            return
        if self.grouped:
            self._show_groups(snap, listing[0], listing[2])
            return
        match, _, found, page = listing
        if page != self.page:
            return
        if not found.jobs and page > 0:  # the page emptied (retried, forgotten): go back
            self.action_prev_page()
            return
        self.next_start = found.cursor
        self.refresh_bindings()
        watched = self.monitor.watched
        rows = [f for f in found.jobs if watched is None or f.queue in watched]
        self.query_one("#failed-title", Label).update(self._title(match, found, len(rows)))
        colors = palette(self.app)
        self.table.sync(
            [
                (
                    f.id,
                    (
                        cell(short_id(f.id), f.id),
                        cell(f.name),
                        cell(f.queue),
                        cell(clock_time(f.failed_at, snap.taken_at), f.failed_at),
                        num(str(f.attempts), f.attempts),
                        cell(
                            redact_url(f"{f.exception}: {f.message}")[:160], style=colors["error"]
                        ),
                    ),
                )
                for f in rows
            ]
        )

    def _title(self, match: FailedFilter, found: Matches[FailedJob], shown: int) -> str:
        """How many failed jobs the filter selects in all (the backend's count) and which
        rows of them this page shows, as "rows 101 to 200 of 23 456" with an en dash."""
        total = f"{'' if found.complete else 'at least '}{count(found.count)}"
        first = self.page * PAGE + 1
        last = count(first + shown - 1)
        rows = f"rows {count(first)}{DASH}{last} of {total}" if shown else ""
        if self.filter_text:
            text = f"Failed jobs: {count(self.total_failed(match))}  filter: {match.describe()}"
            text += f" → {rows} match" if rows else " → no match"
        else:
            text = f"Failed jobs  {rows}" if rows else "Failed jobs: none"
        if self.table.marked:
            text += f"  marked: {len(self.table.marked)}"
        return text

    def total_failed(self, match: FailedFilter) -> int:
        """Failed jobs of the filter's queue (or of all), from the snapshot."""
        snap = self.monitor.snapshot
        queues = {} if snap is None else snap.queues
        return sum(c.failed for q, c in queues.items() if match.queue in (None, q))

    # -- paging: by the failed store's cursor, the same cost for every page ----------
    def action_next_page(self) -> None:
        if self.grouped or self.next_start is None:
            return
        self.starts = [*self.starts[: self.page + 1], self.next_start]
        self.page += 1
        self._turned()

    def action_prev_page(self) -> None:
        if self.grouped or self.page == 0:
            return
        self.page -= 1
        self._turned()

    def _turned(self) -> None:
        self.next_start = None  # until the new page says where the next one starts
        self.table.clear_marks()
        self.table.move_cursor(row=0, animate=False)
        self.refresh_bindings()
        self.monitor.wake()

    def _show_groups(self, snap: Snapshot, match: FailedFilter, groups: list[FailureGroup]) -> None:
        colors = palette(self.app)
        total = sum(g.count for g in groups)
        self.query_one("#failed-title", Label).update(
            f"Failures by fingerprint: {len(groups)} groups over {count(total)} failed jobs"
            + (f"  filter: {match.describe()}" if self.filter_text else "")
        )
        self.groups.sync(
            [
                (
                    g.fingerprint,
                    (
                        num(count(g.count), g.count, colors["error"]),
                        cell(g.name),
                        cell(g.exception, style=colors["error"]),
                        cell(redact_url(g.message)[:100]),
                        cell(",".join(g.queues)),
                        cell(clock_time(g.newest_at, snap.taken_at), -g.newest_at),
                        cell(g.fingerprint, style=colors["muted"]),
                    ),
                )
                for g in groups
            ]
        )

    def action_group(self) -> None:
        self.grouped = not self.grouped
        self.set_class(self.grouped, "-grouped")
        self.focus_main()
        self.refresh_bindings()
        self.monitor.wake()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if self.grouped and action in ("mark", "retry", "forget", "next_page", "prev_page"):
            return False
        # Greyed, not hidden, on the first or last page: the keys stay discoverable.
        if action == "next_page" and self.next_start is None:
            return None
        if action == "prev_page" and self.page == 0:
            return None
        return super().check_action(action, parameters)

    def sorted_table(self) -> KeyedTable:
        return self.groups if self.grouped else self.table

    def action_mark(self) -> None:
        self.table.toggle_mark()

    def on_data_table_row_selected(self, event: KeyedTable.RowSelected) -> None:
        event.stop()
        self.action_open()

    def action_open(self) -> None:
        if self.grouped:
            fp = self.groups.cursor_key
            if fp is not None:  # drill into the group: its jobs, one by one
                kept = [t for t in self.filter_text.split() if not t.startswith("fp:")]
                self.filter_text = " ".join([*kept, f"fp:{fp}"])
                self.action_group()
        elif self.table.cursor_key is not None:
            self.monitor.open_job(self.table.cursor_key)

    def action_retry(self) -> None:
        ids = self.table.selection()
        if ids:
            self.table.clear_marks()
            self.monitor.act(
                lambda i: i.retry_jobs(ids),
                lambda n: f"Retried {count(n)} job{'s' if n != 1 else ''}: pending again.",
            )

    def action_forget(self) -> None:
        ids = self.table.selection()
        if ids:
            self.table.clear_marks()
            self.monitor.act(
                lambda i: i.forget_jobs(ids),
                lambda n: f"Forgot {count(n)} failed job{'s' if n != 1 else ''}.",
            )

    def _scope(self, match: FailedFilter) -> str:
        where = f" from '{match.queue}'" if match.queue else ""
        rest = replace(match, queue=None).describe()
        return where + (f" matching {rest}" if rest else "")

    def _bulk_match(self) -> FailedFilter:
        """Everything the filter selects; in the group view, the cursor's group."""
        if self.grouped and self.groups.cursor_key is not None:
            return replace(self.match, fingerprint=self.groups.cursor_key)
        return self.match

    def action_retry_all(self) -> None:
        match = self._bulk_match()
        self.monitor.confirm_bulk(
            lambda i: i.tally_failed(match),
            lambda n: f"Retry {n} failed jobs{self._scope(match)}?",
            lambda i: i.retry_matching_steps(match),
            "Retried",
        )

    def action_purge(self) -> None:
        match = self._bulk_match()
        self.monitor.confirm_bulk(
            lambda i: i.tally_failed(match),
            lambda n: f"Purge {n} failed jobs{self._scope(match)}?",
            lambda i: i.purge_matching_steps(match),
            "Purged",
        )
