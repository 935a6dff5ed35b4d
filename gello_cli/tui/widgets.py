"""Small widgets: the status line, KPI tiles and the throughput chart."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.app import App, ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Label, Sparkline, Static

from gello_cli.tui.chart import ThroughputChart
from gello_cli.tui.format import count, duration, rate
from gello_queue.inspection import Snapshot

SCREENS = (
    ("1", "overview", "Overview"),
    ("2", "queues", "Queues"),
    ("3", "jobs", "Jobs"),
    ("4", "failed", "Failed"),
    ("5", "workers", "Workers"),
    ("6", "batches", "Batches"),
    ("7", "tags", "Tags"),
)


def palette(app: App[object]) -> dict[str, str]:
    """Rich styles for the theme's semantic colours (ANSI names made Rich-readable)."""
    theme = app.current_theme

    def rich(color: str | None, fallback: str) -> str:
        return (color or fallback).removeprefix("ansi_").replace("default", fallback)

    return {
        "warning": rich(theme.warning, "yellow"),
        "error": rich(theme.error, "red"),
        "success": rich(theme.success, "green"),
        "accent": rich(theme.accent or theme.primary, "cyan"),
        "muted": "dim",
    }


class StatusBar(Static):
    """Connection, LIVE/PAUSED with the interval, age of the data, and the screen tabs."""

    DEFAULT_CSS = """
    StatusBar { height: 2; background: $panel; color: $foreground; padding: 0 1; }
    """

    def show(
        self,
        *,
        url: str,
        live: bool,
        interval: float,
        age_s: float | None,
        connected: bool,
        mode: str,
        read_only: bool,
    ) -> None:
        colors = palette(self.app)
        line = Text(no_wrap=True, overflow="ellipsis")
        state = Text(no_wrap=True)
        line.append("gello ", style="bold")
        if not connected:
            state.append("● OFFLINE", style=f"bold {colors['error']}")
        elif live:
            state.append("● LIVE", style=f"bold {colors['success']}")
        else:
            state.append("⏸ PAUSED", style=f"bold {colors['warning']}")
        state.append(f" every {interval:g}s")
        state.append(" · data " + ("-" if age_s is None else f"{duration(age_s)} old"))
        if read_only:
            state.append("  READ-ONLY", style=f"bold {colors['warning']}")
        room = self.size.width - 2 - len(line) - 2 - len(state)
        line.append(shorten(url, room), style=colors["muted"])
        line.append("  ")
        line.append_text(state)
        tabs = Text(no_wrap=True, overflow="ellipsis")
        for key, name, label in SCREENS:
            style = f"bold reverse {colors['accent']}" if name == mode else ""
            tabs.append(f" {key} {label} ", style=style)
            tabs.append(" ")
        self.update(Text("\n").join([line, tabs]))


class Tile(Vertical):
    """A KPI: a muted label over a value."""

    DEFAULT_CSS = """
    Tile { height: 2; width: 1fr; padding: 0 1; }
    Tile > .tile-label { color: $text-muted; }
    Tile > .tile-value { text-style: bold; }
    """

    def __init__(self, label: str, *, id: str) -> None:
        super().__init__(id=id)
        self.label = label

    def compose(self) -> ComposeResult:
        yield Label(self.label, classes="tile-label")
        yield Label("-", classes="tile-value")

    def set(self, value: str | Text) -> None:
        self.query_one(".tile-value", Label).update(value)


class Kpis(Horizontal):
    """Jobs/min with a sparkline, failed in the last hour, pending, max wait, workers."""

    DEFAULT_CSS = """
    Kpis { height: 2; }
    Kpis > #rate-tile { width: 2fr; }
    Kpis Sparkline { width: 1fr; margin-left: 1; }
    Kpis Horizontal { height: 1; }
    """

    def compose(self) -> ComposeResult:
        with Vertical(id="rate-tile", classes="tile"):
            yield Label("Jobs/min", classes="tile-label")
            with Horizontal():
                yield Label("-", id="rate-value", classes="tile-value")
                yield Sparkline([], id="rate-spark")
        yield Tile("Failed 1h", id="failed-tile")
        yield Tile("Pending", id="pending-tile")
        yield Tile("Max wait", id="wait-tile")
        yield Tile("Workers busy", id="workers-tile")

    def show(self, snap: Snapshot, lease_s: float) -> None:
        colors = palette(self.app)
        processed, _ = snap.per_minute()
        self.query_one("#rate-value", Label).update(rate(processed))
        self.query_one("#rate-spark", Sparkline).data = [
            float(p) for p, _ in snap.series(minutes=30)
        ]
        failed = snap.failed_last_hour()
        self.query_one("#failed-tile", Tile).set(
            Text(count(failed), style=colors["error"] if failed else "")
        )
        self.query_one("#pending-tile", Tile).set(count(snap.pending()))
        queue, wait = snap.max_wait()
        self.query_one("#wait-tile", Tile).set(f"{duration(wait)} {queue}" if queue else "0s")
        busy, total = snap.busy(lease_s)  # dead workers (heartbeat overdue) not counted
        live = len(snap.live_workers(lease_s))
        self.query_one("#workers-tile", Tile).set(f"{busy}/{total} ({live})")


class Throughput(Vertical):
    """Processed and failed per minute over the last hour: the totals, then the chart."""

    DEFAULT_CSS = """
    Throughput { height: 1fr; padding: 0 1; }
    """

    def compose(self) -> ComposeResult:
        yield Label("Throughput, last 60 min", id="throughput-title")
        yield ThroughputChart()

    def show(self, series: Sequence[tuple[int, int]]) -> None:
        processed = sum(p for p, _ in series)
        failed = sum(f for _, f in series)
        self.query_one("#throughput-title", Label).update(
            f"Throughput, last 60 min: {count(processed)} processed, {count(failed)} failed"
            " (red), per minute"
        )
        self.query_one(ThroughputChart).show(series)


def shorten(text: str, width: int) -> str:
    """``text`` cut in the middle to fit ``width`` (it keeps both ends: scheme and path)."""
    if len(text) <= width or width <= 0:
        return text if width > 0 or not text else text[:1] + "…"
    if width < 5:
        return text[: width - 1] + "…"
    head = (width - 1) // 2
    return text[:head] + "…" + text[len(text) - (width - 1 - head) :]
