"""Commands to one worker from the Workers screen and its detail screen: pause, resume,
quiet and stop go through the backend, so they reach a worker on any host."""

from __future__ import annotations

from typing import Any, cast

from textual.screen import Screen

from gello_cli.tui.screens.console import Console
from gello_cli.tui.screens.dialogs import ConfirmScreen
from gello_queue import WorkerRecord
from gello_queue.inspection import Inspector, WorkerCommand, worker_label

_DONE = {
    WorkerCommand.PAUSE: "takes no new jobs until resumed (t)",
    WorkerCommand.RESUME: "takes jobs again",
    WorkerCommand.QUIET: "finishes its running jobs, then exits",
    WorkerCommand.STOP: "stops: running jobs get its grace period, then go back to their queue",
}
_ASK = {
    WorkerCommand.QUIET: "Quiet {label}? It takes no new jobs, finishes its {n} running"
    " jobs (however long they take), then exits.",
    WorkerCommand.STOP: "Stop {label}? It takes no new jobs; its {n} running jobs get"
    " its grace period, then go back to their queue.",
}


def toggle_command(worker: WorkerRecord) -> WorkerCommand:
    """Resume a paused worker, pause any other."""
    return WorkerCommand.RESUME if worker.state == "paused" else WorkerCommand.PAUSE


def send(screen: Screen[Any], worker: WorkerRecord, order: WorkerCommand) -> None:
    """Leave ``order`` for ``worker`` (after a yes for quiet and stop) and say what follows."""
    app = cast("Console", screen.app)
    label = worker_label(worker)
    worker_id = worker.id

    async def command(i: Inspector) -> int:
        await i.command_worker(worker_id, order)
        return 1

    def done(_: int) -> str:
        return f"Sent {order} to {label}: within a second or so it {_DONE[order]}."

    ask = _ASK.get(order)
    if ask is None:
        app.act(command, done)
        return

    def answered(yes: bool | None) -> None:
        if yes:
            app.act(command, done)

    screen.app.push_screen(
        ConfirmScreen(ask.format(label=label, n=len(worker.current_jobs))), answered
    )
