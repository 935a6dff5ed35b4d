"""Cancel a batch and retry its failed jobs: each asks first, naming the batch and the
number of jobs it touches, then says what it did."""

from __future__ import annotations

from collections.abc import Callable

from gello_cli.tui.format import count
from gello_cli.tui.screens.console import Console
from gello_queue.inspection import BATCH_FAILED_SHOWN, Inspector


def _jobs(n: int) -> str:
    return f"{count(n)} job{'s' if n != 1 else ''}"


def cancel_batch(
    console: Console, batch_id: str, name: str, then: Callable[[], object] | None = None
) -> None:
    """Cancel the batch ``batch_id`` once the operator agrees: its jobs that have not
    started are skipped when they come up."""
    label = name or batch_id

    async def unfinished(i: Inspector) -> int:
        found = await i.batch(batch_id, scan_limit=0)
        return 0 if found.record.cancelled else found.record.pending

    console.confirm_act(
        unfinished,
        lambda n: f"Cancel batch '{label}'? Its {_jobs(n)} not yet run will be skipped.",
        lambda i: i.cancel_batch(batch_id),
        lambda n: f"Cancelled batch '{label}': {_jobs(n)} will be skipped.",
        nothing=f"Nothing to do: batch '{label}' is cancelled or finished already.",
        then=then,
    )


def retry_batch(
    console: Console, batch_id: str, name: str, then: Callable[[], object] | None = None
) -> None:
    """Retry the failed jobs of the batch ``batch_id`` once the operator agrees (a batch
    their failure cancelled goes on)."""
    label = name or batch_id

    async def failed(i: Inspector) -> int:
        found = await i.batch(batch_id, scan_limit=0)
        if len(found.record.failed_ids) > BATCH_FAILED_SHOWN:
            return found.record.failed  # not all read: those marked failed
        return len(found.failed_jobs)  # those still in the failed store

    console.confirm_act(
        failed,
        lambda n: f"Retry {_jobs(n)} of batch '{label}' that failed?",
        lambda i: i.retry_batch(batch_id),
        lambda n: f"Retried {_jobs(n)} of batch '{label}': pending again.",
        nothing=f"Nothing to do: batch '{label}' has no failed job to retry.",
        then=then,
    )
