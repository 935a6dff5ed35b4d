"""The confirmation dialog that every bulk or destructive action goes through, and the
progress dialog of a long bulk action."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label

from gello_cli.tui.format import count
from gello_queue.inspection import FailedTally


class ConfirmScreen(ModalScreen[bool]):
    """Asks a yes/no question that names the effect in numbers."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n,escape", "answer(False)", "No"),
    ]
    DEFAULT_CSS = """
    ConfirmScreen { align: center middle; }
    ConfirmScreen > Vertical { width: 60; max-width: 90%; height: auto; padding: 1 2;
        border: thick $warning; background: $surface; }
    ConfirmScreen #question { width: 100%; text-style: bold; margin-bottom: 1; }
    ConfirmScreen Horizontal { height: auto; align: right middle; }
    ConfirmScreen Button { margin-left: 2; }
    """

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.question, id="question")
            yield Label("This cannot be undone from here.", classes="hint")
            with Horizontal():
                yield Button("No (n)", id="no")
                yield Button("Yes (y)", id="yes", variant="warning")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


def tally_text(tally: FailedTally) -> str:
    """A count as a question or a progress line says it: "at least" when a free-text
    count stopped at its budget."""
    return count(tally.count) if tally.complete else f"at least {count(tally.count)}"


@dataclass(slots=True)
class BulkProgress:
    """How far a bulk action has got: written by the backend's thread after each step,
    read by the progress dialog."""

    verb: str
    """What the action does to a job, in the past tense ("Retried")."""
    tally: FailedTally
    """How many jobs the action was asked about."""
    done: int = 0

    def line(self) -> str:
        return f"{self.verb} {count(self.done)} / {tally_text(self.tally)}"


async def follow(steps: AsyncIterator[int], progress: BulkProgress) -> int:
    """Run a bulk action's steps to the end, keeping ``progress`` up to date."""
    async for done in steps:
        progress.done = done
    return progress.done


class ProgressScreen(ModalScreen[None]):
    """A bulk action under way: how many jobs so far, and Esc to stop it between steps."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "stop", "Stop")]
    DEFAULT_CSS = """
    ProgressScreen { align: center middle; }
    ProgressScreen > Vertical { width: 60; max-width: 90%; height: auto; padding: 1 2;
        border: thick $accent; background: $surface; }
    ProgressScreen #progress { width: 100%; text-style: bold; margin-bottom: 1; }
    """

    def __init__(self, progress: BulkProgress, stop: Callable[[], object]) -> None:
        super().__init__()
        self.progress = progress
        self._stop = stop

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.progress.line(), id="progress")
            yield Label(
                "Esc stops after the current step; what is done stays done.", classes="hint"
            )

    def on_mount(self) -> None:
        self.set_interval(0.1, self._tick)

    def _tick(self) -> None:
        self.query_one("#progress", Label).update(self.progress.line())

    def action_stop(self) -> None:
        self._stop()
