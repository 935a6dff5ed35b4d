"""Screens pushed over a view (a batch, a tag's jobs) that refresh themselves."""

from __future__ import annotations

from typing import cast

from textual.screen import Screen

from gello_cli.tui.screens.console import Console


class PushedScreen(Screen[None]):
    """A screen pushed over a view, loading on mount and again every interval.

    The app's poller serves the view below, so a pushed screen keeps its own refresh; the
    dashboard's pause (``p``) pauses it too.
    """

    @property
    def monitor(self) -> Console:
        return cast("Console", self.app)

    def on_mount(self) -> None:
        self.load()
        self.set_interval(max(float(getattr(self.app, "interval", 2.0)), 0.5), self._tick)

    def _tick(self) -> None:
        if getattr(self.app, "live", True):
            self.load()

    def load(self) -> None:
        """Start reading what the screen shows (in a worker: never blocks the app)."""
        raise NotImplementedError
