"""Monitored tags, as Horizon's Monitoring: each tag with its completed (kept), failed and
waiting jobs counted; enter opens a tag's jobs; ``m`` monitors a new tag, ``U`` stops
monitoring the selected one (asked first)."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Input, Label, Static

from gello_cli.tui.format import clock_time, count, short_id
from gello_cli.tui.screens.base import WRITE_ACTIONS, MonitorScreen
from gello_cli.tui.screens.pushed import PushedScreen
from gello_cli.tui.table import Cell, KeyedTable, cell, num
from gello_cli.tui.widgets import palette
from gello_queue import GelloError, JobState
from gello_queue.inspection import (
    FailedFilter,
    Inspector,
    Snapshot,
    TagCounts,
    detail_of_record,
    redact_url,
)

COLUMNS = [
    ("tag", "Tag"),
    ("completed", "Completed"),
    ("failed", "Failed"),
    ("waiting", "Waiting"),
]
JOB_COLUMNS = [
    ("id", "Job"),
    ("name", "Name"),
    ("queue", "Queue"),
    ("state", "State"),
    ("at", "When"),
]
LISTED = 50
"""Jobs of a tag listed per state."""
STATE_ORDER = {"failed": 0, "running": 1, "pending": 2, "scheduled": 3, "completed": 4}


async def read_tags(i: Inspector) -> list[TagCounts]:
    """Each monitored tag with its counts."""
    return [await i.tag_counts(tag) for tag in await i.monitored_tags()]


def _num(n: int | None, style: str = "") -> Cell:
    return cell("-", -1) if n is None else num(count(n), n, style if n else "")


class TagsScreen(MonitorScreen):
    mode = "tags"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open", "Jobs"),
        Binding("m", "monitor_tag", "Monitor tag"),
        Binding("U", "unmonitor_tag", "Stop monitoring"),
        Binding("s", "sort", "Sort"),
    ]

    def body(self) -> ComposeResult:
        with Vertical(id="body"):
            yield Label("", id="tags-title", classes="title")
            yield KeyedTable(COLUMNS, id="tags", order=("tag",))
            yield Static(
                "A monitored tag's completed jobs stay QUEUE_KEEP_MONITORED_HOURS.",
                classes="hint",
            )

    @property
    def table(self) -> KeyedTable:
        return self.query_one("#tags", KeyedTable)

    def focus_main(self) -> None:
        self.table.focus()

    async def fetch(self) -> Any:
        return await self.monitor.backend.call(read_tags)

    def show(self, snap: Snapshot, listing: Any) -> None:
        if listing is None:
            return
        tags: list[TagCounts] = listing
        colors = palette(self.app)
        self.query_one("#tags-title", Label).update(title(tags))
        self.table.sync(
            [
                (
                    t.tag,
                    [
                        cell(t.tag),
                        _num(t.completed),
                        _num(t.failed, colors["error"]),
                        _num(t.waiting),
                    ],
                )
                for t in tags
            ]
        )

    def on_data_table_row_selected(self, event: KeyedTable.RowSelected) -> None:
        event.stop()
        self.action_open()

    def action_open(self) -> None:
        key = self.table.cursor_key
        if key is not None:
            self.app.push_screen(TagScreen(key))

    def action_monitor_tag(self) -> None:
        def chosen(tag: str | None) -> None:
            if tag:
                self.monitor.act(
                    lambda i: _changed(i.monitor_tag(tag)),
                    lambda n: f"Monitoring {tag}" if n else f"{tag} was monitored already",
                )

        self.app.push_screen(TagInputScreen(), chosen)

    def action_unmonitor_tag(self) -> None:
        tag = self.table.cursor_key
        if tag is None:
            return

        async def monitored(i: Inspector) -> int:
            return int(tag in await i.monitored_tags())

        self.monitor.confirm_act(
            monitored,
            lambda _: f"Stop monitoring {tag}? Its kept jobs then age out.",
            lambda i: _changed(i.unmonitor_tag(tag)),
            lambda _: f"No longer monitoring {tag}",
            nothing=f"{tag} is not monitored.",
        )


async def _changed(change: Any) -> int:
    """A monitor or unmonitor call's answer as the count ``act`` reports."""
    return int(bool(await change))


def title(tags: list[TagCounts]) -> str:
    if not tags:
        return "No monitored tags: m monitors one (customer:42)."
    return f"Monitored tags: {count(len(tags))}"


class TagInputScreen(ModalScreen[str | None]):
    """Asks for the tag to monitor."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]
    DEFAULT_CSS = """
    TagInputScreen { align: center middle; }
    TagInputScreen > Vertical { width: 60; max-width: 90%; height: auto; padding: 1 2;
        border: thick $accent; background: $surface; }
    TagInputScreen #question { width: 100%; text-style: bold; margin-bottom: 1; }
    TagInputScreen Horizontal { height: auto; align: right middle; margin-top: 1; }
    TagInputScreen Button { margin-left: 2; }
    """

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Monitor which tag?", id="question")
            yield Input(placeholder="customer:42", id="tag")
            with Horizontal():
                yield Button("Cancel (esc)", id="cancel")
                yield Button("Monitor (enter)", id="ok", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#tag", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._answer(event.value)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "ok":
            self._answer(self.query_one("#tag", Input).value)
        else:
            self.dismiss(None)

    def _answer(self, value: str) -> None:
        tag = value.strip()
        if not tag:
            self.notify("a tag is a non-empty word, such as customer:42", severity="error")
            return
        self.dismiss(tag)

    def action_cancel(self) -> None:
        self.dismiss(None)


async def read_tag_jobs(i: Inspector, tag: str) -> list[tuple[str, str, str, str, float | None]]:
    """A tag's jobs: (id, name, queue, state, when), completed, failed and waiting."""
    match = FailedFilter(tag=tag)
    rows: list[tuple[str, str, str, str, float | None]] = []
    if await i.keeps_history():
        done = await i.completed_matching(match, limit=LISTED)
        rows += [(c.id, c.name, c.queue, "completed", c.finished_at) for c in done.jobs]
    failed = await i.failed_matching(match, limit=LISTED)
    rows += [(f.id, f.name, f.queue, "failed", f.failed_at) for f in failed.jobs]
    for state in (JobState.RESERVED, JobState.PENDING, JobState.SCHEDULED):
        try:
            page = await i.jobs_matching(state, match, limit=LISTED)
        except GelloError:  # a broker cannot list the messages it holds
            break
        shown = "running" if state is JobState.RESERVED else state.value
        for r in page.jobs:
            rows.append((r.id, detail_of_record(r).name, r.queue, shown, r.available_at))
    return rows


class TagScreen(PushedScreen):
    """One tag's jobs, pushed over the Tags screen: completed, failed and waiting."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("enter", "open_job", "Job"),
    ]
    DEFAULT_CSS = """
    TagScreen #tag-title { background: $panel; padding: 0 1; text-style: bold; }
    TagScreen #tag-jobs-title { padding: 0 1; height: 1; }
    """

    def __init__(self, tag: str) -> None:
        super().__init__()
        self.tag = tag
        self.rows: list[tuple[str, str, str, str, float | None]] | None = None

    def compose(self) -> ComposeResult:
        yield Static(f"Tag {self.tag}", id="tag-title")
        with Vertical():
            yield Label("Loading…", id="tag-jobs-title")
            yield KeyedTable(JOB_COLUMNS, id="tag-jobs", order=("state", "at", "id"))
        yield Footer()

    def load(self) -> None:
        self.run_worker(self._load(), exclusive=True, group="tag")

    async def _load(self) -> None:
        tag = self.tag
        heading = self.query_one("#tag-jobs-title", Label)
        try:
            rows = await self.monitor.backend.call(lambda i: read_tag_jobs(i, tag))
        except Exception as exc:  # a lost connection: say so, keep the screen
            heading.update(f"cannot load: {redact_url(str(exc))}")
            return
        self.rows = rows
        now = self.monitor.now()
        colors = palette(self.app)
        states = [r[3] for r in rows]
        parts = [f"{count(states.count(s))} {s}" for s in STATE_ORDER if states.count(s)]
        heading.update(("Jobs: " + " · ".join(parts)) if parts else "No job carries this tag.")
        table = self.query_one(KeyedTable)
        table.sync(
            [
                (
                    job_id,
                    [
                        cell(short_id(job_id), job_id),
                        cell(name),
                        cell(queue),
                        cell(
                            state,
                            STATE_ORDER.get(state, 9),
                            style=colors["error"] if state == "failed" else "",
                        ),
                        cell(clock_time(at, now), -(at or 0.0)),
                    ],
                )
                for job_id, name, queue, state, at in rows
            ]
        )

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return None if action in WRITE_ACTIONS and self.monitor.read_only else True

    def action_open_job(self) -> None:
        key = self.query_one(KeyedTable).cursor_key
        if key is not None:
            self.monitor.open_job(key)

    def on_data_table_row_selected(self, event: KeyedTable.RowSelected) -> None:
        event.stop()
        self.action_open_job()
