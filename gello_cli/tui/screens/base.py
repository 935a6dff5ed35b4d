"""What every dashboard screen shares: status line, banner, filter bar, footer, keys."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, ClassVar, cast

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Footer, Input, Static

from gello_cli.tui.screens.console import Console
from gello_cli.tui.table import KeyedTable
from gello_cli.tui.widgets import StatusBar
from gello_queue.inspection import FailedFilter, Snapshot

WRITE_ACTIONS = frozenset(
    {
        "retry",
        "retry_all",
        "forget",
        "purge",
        "toggle_pause",
        "clear_queue",
        "retry_queue",
        "run_now",
        "cancel",
        "cancel_matching",
        "run_all_now",
        "toggle_worker",
        "quiet_worker",
        "stop_worker",
        "cancel_batch",
        "retry_batch",
        "monitor_tag",
        "unmonitor_tag",
    }
)
"""Actions that change the backend: disabled (greyed in the footer) by ``--read-only``."""


class MonitorScreen(Screen[None]):
    """A mode's screen: shows the latest snapshot, and its own listing when it has one."""

    mode: ClassVar[str] = ""
    filterable: ClassVar[bool] = False
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", show=False),
        Binding("o", "reverse_order", "Asc/desc", show=False),
    ]

    DEFAULT_CSS = """
    MonitorScreen #banner { display: none; height: auto; padding: 0 1;
        background: $error; color: $foreground; text-style: bold; }
    MonitorScreen.-offline #banner { display: block; }
    MonitorScreen.-offline #body { opacity: 60%; }
    MonitorScreen #filter { display: none; dock: bottom; margin-bottom: 1; }
    MonitorScreen.-filtering #filter { display: block; }
    MonitorScreen #body { height: 1fr; }
    MonitorScreen .hint { color: $text-muted; padding: 0 1; height: auto; }
    MonitorScreen .title { text-style: bold; padding: 0 1; height: 1; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.filter_text = ""

    @property
    def monitor(self) -> Console:
        return cast("Console", self.app)

    @property
    def match(self) -> FailedFilter:
        """The filter typed on this screen, narrowed to the one watched queue when there
        is one (``--queue emails``).

        Raises:
            ConfigurationError: the filter cannot be read (e.g. a bad ``age:``).
        """
        match = FailedFilter.parse(self.filter_text)
        watched = self.monitor.watched
        if match.queue is None and watched is not None and len(watched) == 1:
            return replace(match, queue=watched[0])
        return match

    def compose(self) -> ComposeResult:
        yield StatusBar()
        yield Static(id="banner")
        yield from self.body()
        yield Input(placeholder=self.filter_hint(), id="filter")
        yield Footer()

    def body(self) -> ComposeResult:
        yield from ()

    def sorted_table(self) -> KeyedTable | None:
        """The table ``s`` and ``o`` sort: the focused one, else the screen's first."""
        focused = self.focused
        if isinstance(focused, KeyedTable):
            return focused
        tables = self.query(KeyedTable)
        return tables.first() if tables else None

    def action_sort(self) -> None:
        """Order by the next column, ascending (the arrow in its header says so)."""
        table = self.sorted_table()
        if table is not None:
            table.sort_by()

    def action_reverse_order(self) -> None:
        """Flip ascending and descending."""
        table = self.sorted_table()
        if table is not None:
            table.reverse_order()

    def filter_hint(self) -> str:
        return "filter: text (enter applies, esc clears)"

    def filter_error(self, text: str) -> str | None:
        """Why ``text`` is not a filter this screen understands, or None when it is."""
        return None

    async def fetch(self) -> Any:
        """This screen's own listing for one tick (runs before ``show``)."""
        return None

    def show(self, snap: Snapshot, listing: Any) -> None:
        """Render the latest data."""

    def on_screen_resume(self) -> None:
        app = self.monitor
        app.render_status()
        app.show_view(self)
        app.wake()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in WRITE_ACTIONS and self.monitor.read_only:
            return None
        return True

    # -- filter and back ---------------------------------------------------------------
    def action_filter(self) -> None:
        if not self.filterable:
            return
        self.add_class("-filtering")
        field = self.query_one("#filter", Input)
        field.value = self.filter_text
        field.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id != "filter":
            return
        text = event.value.strip()
        error = self.filter_error(text)
        if error is not None:
            # The filter bar stays open with the text, to be corrected.
            self.notify(error, title="Not a filter", severity="error")
            return
        self.filter_text = text
        self._close_filter()
        self.monitor.wake()

    def _close_filter(self) -> None:
        self.remove_class("-filtering")
        self.focus_main()

    def focus_main(self) -> None:
        self.focus_next()

    def action_back(self) -> None:
        if self.has_class("-filtering"):
            self._close_filter()
        elif self.filter_text:
            self.filter_text = ""
            self.query_one("#filter", Input).value = ""
            self.monitor.wake()
        elif self.mode != "overview":
            self.app.switch_mode("overview")
