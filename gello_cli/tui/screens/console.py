"""What screens need of the dashboard application, as a protocol.

Screens are given the running app (Textual's ``self.app``) and see it through this
protocol, so no screen imports ``gello_cli.tui.app``, which imports every screen.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any, Protocol

from gello_cli.tui.backend import Action, Backend
from gello_queue.inspection import FailedTally, Inspector, Snapshot, WaitThresholds, WorkerHint

if TYPE_CHECKING:
    from gello_cli.tui.screens.base import MonitorScreen


class Console(Protocol):
    """The dashboard as its screens use it: its data, its refresh and its actions."""

    backend: Backend
    read_only: bool
    watched: list[str] | None
    lease_s: float
    worker_hint: WorkerHint
    """How to start a worker for this project (app and connection), for the hints."""
    waits: WaitThresholds
    """From which wait each queue warns (``QUEUE_WAIT_WARN``)."""
    snapshot: Snapshot | None
    listings: dict[str, Any]

    def now(self) -> float: ...

    def wake(self) -> None:
        """Refresh now (after an action, a filter, a tab change)."""

    def render_status(self) -> None: ...

    def show_view(self, view: MonitorScreen) -> None: ...

    def open_job(self, job_id: str) -> None: ...

    def open_queue(self, queue: str) -> None: ...

    def act(
        self,
        action: Action[int],
        done: Callable[[int], str],
        then: Callable[[], object] | None = None,
    ) -> None: ...

    def confirm_act(
        self,
        counter: Action[int],
        question: Callable[[int], str],
        action: Action[int],
        done: Callable[[int], str],
        *,
        nothing: str = ...,
        then: Callable[[], object] | None = None,
    ) -> None:
        """Ask with the number ``counter`` finds, then act; ``nothing`` is said instead
        when it finds none, ``then`` runs after the action."""

    def confirm_bulk(
        self,
        counter: Action[FailedTally],
        question: Callable[[str], str],
        steps: Callable[[Inspector], AsyncIterator[int]],
        verb: str,
    ) -> None:
        """A bulk action on the jobs ``counter`` counts that reports progress per step
        and can be stopped."""
