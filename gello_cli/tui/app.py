"""The dashboard application: modes per screen, the poller, actions and confirmations."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from functools import partial
from typing import Any, ClassVar

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import Static

import themes
from gello_cli.tui.backend import Action, Backend
from gello_cli.tui.format import count, duration
from gello_cli.tui.screens.base import MonitorScreen
from gello_cli.tui.screens.batches import BatchesScreen
from gello_cli.tui.screens.console import Console
from gello_cli.tui.screens.detail import DetailScreen
from gello_cli.tui.screens.dialogs import (
    BulkProgress,
    ConfirmScreen,
    ProgressScreen,
    follow,
    tally_text,
)
from gello_cli.tui.screens.failed import FailedScreen
from gello_cli.tui.screens.jobs import JobsScreen
from gello_cli.tui.screens.overview import OverviewScreen
from gello_cli.tui.screens.queues import QueuesScreen
from gello_cli.tui.screens.tags import TagsScreen
from gello_cli.tui.screens.workers import WorkersScreen
from gello_cli.tui.widgets import SCREENS, StatusBar
from gello_queue import GelloError
from gello_queue.inspection import (
    RECENT_EVENTS,
    FailedTally,
    Inspector,
    Snapshot,
    WaitThresholds,
    WorkerHint,
    redact_url,
)

INTERVALS = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0)
MAX_BACKOFF_S = 5.0
"""The longest wait between reconnect attempts: an operator watching a banner wants the
console back within seconds of the server, not half a minute later."""
RECENT_FAILURES = 5
NOTHING = "Nothing to do: no jobs match."


def theme_name(name: str) -> str:
    """``dark`` → ``gello-dark``; full names (Textual's own themes too) pass through."""
    return name if "-" in name or name not in themes.names() else themes.PREFIX + name


class MonitorApp(App[None]):
    """``gello queue:monitor``: a live, keyboard-first view of one connection's queues."""

    TITLE = "gello queue:monitor"
    MODES: ClassVar[dict[str, Any]] = {
        "overview": OverviewScreen,
        "queues": QueuesScreen,
        "jobs": JobsScreen,
        "failed": FailedScreen,
        "workers": WorkersScreen,
        "batches": BatchesScreen,
        "tags": TagsScreen,
    }
    BINDINGS: ClassVar[list[BindingType]] = [
        *(
            Binding(key, f"switch_mode('{mode}')", label, show=False)
            for key, mode, label in SCREENS
        ),
        Binding("p", "toggle_live", "Live/pause"),
        Binding("plus", "interval(1)", "Slower", show=False),
        Binding("minus", "interval(-1)", "Faster", show=False),
        Binding("question_mark", "help", "Help"),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(
        self,
        backend: Backend,
        *,
        url: str,
        interval: float = 2.0,
        read_only: bool = False,
        watched: Sequence[str] | None = None,
        theme: str = "dark",
        clock: Callable[[], float] = time.time,
        live: bool = True,
        lease_s: float = 30.0,
        worker_hint: WorkerHint | None = None,
        waits: WaitThresholds | None = None,
    ) -> None:
        super().__init__()
        for t in themes.load():
            self.register_theme(t)
        self.theme = theme_name(theme)
        self.backend = backend
        self.url = redact_url(url)
        self.interval = interval
        self.read_only = read_only
        self.watched = list(watched) if watched else None
        self.clock = clock
        self.live = live
        self.lease_s = lease_s
        self.worker_hint = worker_hint or WorkerHint()
        self.waits = waits or WaitThresholds()
        self.snapshot: Snapshot | None = None
        self.listings: dict[str, Any] = {}
        self.fetched_at: float | None = None
        self.error: str | None = None
        self.failures = 0
        """Refreshes failed in a row: the reconnect backoff's exponent."""
        self.ticks = 0
        """Completed refreshes (tests wait on it)."""
        self._wake = asyncio.Event()

    # -- life ----------------------------------------------------------------------------
    def on_mount(self) -> None:
        self.switch_mode("overview")
        self.set_interval(1.0, self.render_status)
        self.poll_loop()

    def now(self) -> float:
        return self.clock()

    def wake(self) -> None:
        """Refresh now (after an action, a filter, a tab change)."""
        self._wake.set()

    @work(exclusive=True, group="poll")
    async def poll_loop(self) -> None:
        """One snapshot (and the visible screen's listing) per tick, backing off offline."""
        while True:
            if self.live or self.failures or self._wake.is_set():
                self._wake.clear()
                self.failures = 0 if await self.refresh_data() else self.failures + 1
                self.render_status()  # the banner names the next attempt's delay
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.retry_delay())

    def retry_delay(self) -> float:
        """Seconds to the next refresh: the interval, doubled per failed attempt up to
        ``MAX_BACKOFF_S`` (or the interval, when that is longer)."""
        backoff: float = self.interval * 2.0**self.failures
        return min(backoff, max(MAX_BACKOFF_S, self.interval))

    def current_view(self) -> MonitorScreen | None:
        for screen in self.screen_stack:
            if isinstance(screen, MonitorScreen):
                return screen
        return None

    async def refresh_data(self) -> bool:
        """Read a snapshot and the current screen's listing, then show them."""
        view = self.current_view()
        try:
            snap = await self.backend.call(
                lambda i: i.snapshot(recent_failures=RECENT_FAILURES, recent_events=RECENT_EVENTS)
            )
            listing = await view.fetch() if view is not None else None
        except Exception as exc:  # any failure to read is shown, never raised: keep running
            self.went_offline(exc)
            return False
        if self.watched is not None:
            snap = snap.only(self.watched)
        was_offline = self.error is not None
        self.snapshot, self.fetched_at, self.error = snap, self.clock(), None
        if was_offline:
            self.notify("Connection restored.", title="Back online")
        if view is not None:
            self.listings[view.mode] = listing
            self.show_view(view)
        self.render_status()
        self.ticks += 1
        return True

    def show_view(self, view: MonitorScreen) -> None:
        """Render the latest data on ``view`` once its widgets exist."""
        if self.snapshot is None:
            return
        # Still composing: the next tick (or the screen's resume) shows the data.
        with contextlib.suppress(NoMatches):
            view.show(self.snapshot, self.listings.get(view.mode))

    def went_offline(self, exc: BaseException) -> None:
        self.error = redact_url(f"{type(exc).__name__}: {exc}".strip().rstrip(":"))
        self.render_status()

    def render_status(self) -> None:
        view = self.current_view()
        if view is None or not view.is_mounted:
            return
        with contextlib.suppress(NoMatches):  # still composing
            self._render_status(view)

    def _render_status(self, view: MonitorScreen) -> None:
        age = None if self.fetched_at is None else self.clock() - self.fetched_at
        view.query_one(StatusBar).show(
            url=self.url,
            live=self.live,
            interval=self.interval,
            age_s=age,
            connected=self.error is None,
            mode=view.mode,
            read_only=self.read_only,
        )
        view.set_class(self.error is not None, "-offline")
        if self.error is not None:
            kept = "no data yet" if age is None else f"showing data from {duration(age)} ago"
            cap = max(MAX_BACKOFF_S, self.interval)
            view.query_one("#banner", Static).update(
                f"Connection lost: {self.error}. Next try in {self.retry_delay():.2g}s (at"
                f" most {cap:g}s apart); switch screens to retry now; {kept}."
            )

    # -- keys ----------------------------------------------------------------------------
    def action_toggle_live(self) -> None:
        self.live = not self.live
        self.render_status()
        if self.live:
            self.wake()

    def action_interval(self, step: int) -> None:
        at = min(range(len(INTERVALS)), key=lambda i: abs(INTERVALS[i] - self.interval))
        self.interval = INTERVALS[max(0, min(len(INTERVALS) - 1, at + step))]
        self.render_status()

    def action_help(self) -> None:
        if self.screen.query("HelpPanel"):
            self.action_hide_help_panel()
        else:
            self.action_show_help_panel()

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for key, mode, label in SCREENS:
            yield SystemCommand(
                f"Show {label}",
                f"Switch to the {label} screen ({key})",
                partial(self.switch_mode, mode),
            )
        yield SystemCommand(
            "Pause/resume live refresh", "Stop or restart polling (p)", self.action_toggle_live
        )
        yield SystemCommand("Refresh now", "Read the backend once more", self.wake)
        yield from self.screen_actions(screen)

    def screen_actions(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """The actions the screen offers now (retry, purge, pause, sort...), so the
        palette finds them by name as well as their key does; disabled ones (read-only,
        nothing selected) are left out."""
        seen = set()
        for key, active in screen.active_bindings.items():
            binding = active.binding
            name = binding.description
            if not active.enabled or not name or name in seen:
                continue
            if binding.action.startswith(("switch_mode", "app.", "back")):
                continue
            seen.add(name)
            yield SystemCommand(
                name,
                f"On this screen ({binding.key_display or key})",
                partial(self.run_action, binding.action, active.node),
            )

    # -- navigation ----------------------------------------------------------------------
    def open_job(self, job_id: str) -> None:
        self.push_screen(DetailScreen(job_id))

    def open_queue(self, queue: str) -> None:
        self.run_worker(self._open_queue(queue), group="nav")

    async def _open_queue(self, queue: str) -> None:
        await self.switch_mode("jobs")
        view = self.current_view()
        if isinstance(view, JobsScreen):
            view.set_queue(queue)
            self.wake()

    # -- actions -------------------------------------------------------------------------
    def act(
        self,
        action: Action[int],
        done: Callable[[int], str],
        then: Callable[[], object] | None = None,
    ) -> None:
        """Run a backend action, toast its outcome, refresh at once."""
        if not self.read_only:
            self.run_worker(self._act(action, done, then), group="act")

    async def _act(
        self, action: Action[int], done: Callable[[int], str], then: Callable[[], object] | None
    ) -> None:
        try:
            touched = await self.backend.call(action)
        except GelloError as exc:
            self.notify(redact_url(str(exc)), title="Nothing done", severity="warning")
        except Exception as exc:  # the backend is unreachable: say so, keep running
            self.notify(
                redact_url(str(exc)) or type(exc).__name__, title="Backend error", severity="error"
            )
        else:
            self.notify(done(touched))
        if then is not None:
            then()
        self.wake()

    def backend_error(self, exc: BaseException) -> None:
        message = redact_url(str(exc)) or type(exc).__name__
        self.notify(message, title="Backend error", severity="error")

    def confirm_act(
        self,
        counter: Action[int],
        question: Callable[[int], str],
        action: Action[int],
        done: Callable[[int], str],
        *,
        nothing: str = NOTHING,
        then: Callable[[], object] | None = None,
    ) -> None:
        """Count what a bulk action would touch, ask with that number, then act (when the
        count is 0, say ``nothing`` instead)."""
        if not self.read_only:
            work = self._confirm(counter, question, action, done, nothing, then)
            self.run_worker(work, group="act")

    async def _confirm(
        self,
        counter: Action[int],
        question: Callable[[int], str],
        action: Action[int],
        done: Callable[[int], str],
        nothing: str,
        then: Callable[[], object] | None,
    ) -> None:
        try:
            n = await self.backend.call(counter)
        except Exception as exc:  # counting failed: nothing to confirm
            self.notify(
                redact_url(str(exc)) or type(exc).__name__, title="Backend error", severity="error"
            )
            return
        if n == 0:
            self.notify(nothing, severity="warning")
            return
        if await self.push_screen_wait(ConfirmScreen(question(n))):
            await self._act(action, done, then)

    def confirm_bulk(
        self,
        counter: Action[FailedTally],
        question: Callable[[str], str],
        steps: Callable[[Inspector], AsyncIterator[int]],
        verb: str,
    ) -> None:
        """Count the jobs a bulk action concerns with ``counter``, ask with that number
        (``question`` gets it as text: "at least …" when a count stopped at its budget),
        then act step by step, showing progress; Esc stops it between steps."""
        if not self.read_only:
            self.run_worker(self._confirm_bulk(counter, question, steps, verb), group="act")

    async def _confirm_bulk(
        self,
        counter: Action[FailedTally],
        question: Callable[[str], str],
        steps: Callable[[Inspector], AsyncIterator[int]],
        verb: str,
    ) -> None:
        try:
            tally = await self.backend.call(counter)
        except Exception as exc:  # counting failed: nothing to confirm
            self.backend_error(exc)
            return
        if tally.count == 0 and tally.complete:
            self.notify(NOTHING, severity="warning")
            return
        if not await self.push_screen_wait(ConfirmScreen(question(tally_text(tally)))):
            return
        progress = BulkProgress(verb, tally)
        task = asyncio.ensure_future(self.backend.call(lambda i: follow(steps(i), progress)))
        screen = ProgressScreen(progress, task.cancel)
        await self.push_screen(screen)
        try:
            done = await task
        except asyncio.CancelledError:
            self.notify(
                f"Stopped: {verb.lower()} {count(progress.done)} of {tally_text(tally)};"
                " the others are as they were.",
                severity="warning",
            )
        except GelloError as exc:
            self.notify(redact_url(str(exc)), title="Nothing done", severity="warning")
        except Exception as exc:  # the backend is unreachable: say so, keep running
            self.backend_error(exc)
        else:
            self.notify(f"{verb} {count(done)} jobs.")
        finally:
            if screen.is_active:
                screen.dismiss()
        self.wake()


def _as_console(app: MonitorApp) -> Console:
    # Never called: mypy checks here that the app is what its screens take it for.
    return app
