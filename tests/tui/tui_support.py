"""Helpers for dashboard tests: waiting on the app, reading the screen as text."""

from __future__ import annotations

import html
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from textual.pilot import Pilot

from gello_cli.tui.app import MonitorApp
from gello_cli.tui.backend import Backend
from gello_queue import Queue
from gello_queue.ports import QueueDriver


@dataclass
class Env:
    """A seeded backend: the URL the app uses, and a driver the test checks it with."""

    queue: Queue
    driver: QueueDriver

    def backend(self) -> Backend:
        return Backend(self.queue)


async def until(pilot: Pilot[Any], check: Callable[[], bool], timeout_s: float = 10.0) -> None:
    """Let the app run until ``check()`` holds; fail at the deadline."""
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met within the deadline")
        await pilot.pause(0.02)


async def until_async(
    pilot: Pilot[Any], check: Callable[[], Awaitable[bool]], timeout_s: float = 10.0
) -> None:
    deadline = time.monotonic() + timeout_s
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met within the deadline")
        await pilot.pause(0.02)


async def loaded(pilot: Pilot[Any]) -> None:
    """Wait for the first refresh and for the screen's listing."""
    app = pilot.app
    assert isinstance(app, MonitorApp)
    await until(pilot, lambda: app.ticks >= 1)
    await pilot.pause()


def screen_text(app: MonitorApp) -> str:
    """The screen as plain text lines (from the SVG screenshot)."""
    rows: dict[float, list[tuple[float, str]]] = {}
    pattern = r'<text class="[^"]*" x="([\d.]+)" y="([\d.]+)"[^>]*>([^<]*)</text>'
    for m in re.finditer(pattern, app.export_screenshot()):
        rows.setdefault(float(m[2]), []).append((float(m[1]), html.unescape(m[3])))
    lines = []
    for y in sorted(rows):
        line = ""
        for x, text in sorted(rows[y]):
            line = line.ljust(round(x / 12.2)) + text
        lines.append(line.replace("\xa0", " ").rstrip())
    return "\n".join(lines)
