"""Overview: KPI tiles, the queue table, throughput and the newest failures."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Label, Static

from gello_cli.tui.format import clock_time, short_id
from gello_cli.tui.screens.base import MonitorScreen
from gello_cli.tui.screens.common import QUEUE_COLUMNS, hints, queue_row
from gello_cli.tui.table import KeyedTable, cell
from gello_cli.tui.widgets import Kpis, Throughput, palette
from gello_queue.inspection import Snapshot, redact_url

FAILURE_COLUMNS = [
    ("id", "Id"),
    ("job", "Job"),
    ("queue", "Queue"),
    ("at", "Failed"),
    ("error", "Error"),
]


class OverviewScreen(MonitorScreen):
    mode = "overview"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open", "Open"),
        Binding("tab", "app.focus_next", "Next table", show=False),
        Binding("s", "sort", "Sort"),
    ]
    DEFAULT_CSS = """
    OverviewScreen #queues { height: auto; max-height: 50%; min-height: 4; }
    OverviewScreen #bottom { height: 1fr; min-height: 9; }
    OverviewScreen #recent-box { height: 7; }
    OverviewScreen #recent { height: 1fr; }
    OverviewScreen.-wide #bottom { layout: horizontal; }
    OverviewScreen.-wide #bottom > * { width: 1fr; height: 1fr; }
    """

    def body(self) -> ComposeResult:
        with Vertical(id="body"):
            yield Kpis()
            yield KeyedTable(QUEUE_COLUMNS, id="queues")
            yield Static("", id="hints", classes="hint")
            with Vertical(id="bottom"):
                yield Throughput()
                with Vertical(id="recent-box"):
                    yield Label("Recent failures", classes="title")
                    yield KeyedTable(
                        FAILURE_COLUMNS, id="recent", order=("at", "id"), descending=True
                    )

    def on_resize(self) -> None:
        self.set_class(self.size.width >= 120, "-wide")

    def show(self, snap: Snapshot, listing: Any) -> None:
        colors = palette(self.app)
        self.query_one(Kpis).show(snap, self.monitor.lease_s)
        self.query_one("#queues", KeyedTable).sync(
            [queue_row(q, colors, self.monitor.waits) for q in snap.all_stats()]
        )
        self.query_one("#hints", Static).update(hints(snap, self.monitor.worker_hint))
        self.query_one(Throughput).show(snap.series())
        self.query_one("#recent", KeyedTable).sync(
            [
                (
                    f.id,
                    (
                        cell(short_id(f.id), f.id),
                        cell(f.name),
                        cell(f.queue),
                        cell(clock_time(f.failed_at, snap.taken_at), f.failed_at),
                        cell(
                            redact_url(f"{f.exception}: {f.message}")[:120], style=colors["error"]
                        ),
                    ),
                )
                for f in snap.recent_failures
            ]
        )

    def action_open(self) -> None:
        focused = self.focused
        if isinstance(focused, KeyedTable) and focused.cursor_key is not None:
            self._open(focused, focused.cursor_key)

    def on_data_table_row_selected(self, event: KeyedTable.RowSelected) -> None:
        event.stop()
        if isinstance(event.data_table, KeyedTable) and event.row_key.value is not None:
            self._open(event.data_table, event.row_key.value)

    def _open(self, table: KeyedTable, key: str) -> None:
        if table.id == "recent":
            self.monitor.open_job(key)
        else:
            self.monitor.open_queue(key)
