"""The completed-job history as a worker writes it: one record per successful run, sent
with the run's ack (``JobHistory.ack_recording``) so it costs no round trip of its own."""

from __future__ import annotations

from collections.abc import Sequence

from gello_queue.ports import CompletedJob, JobHistory, QueueDriver, Reservation


async def ack_keeping(
    driver: QueueDriver,
    reservations: Sequence[Reservation],
    completed: Sequence[CompletedJob],
    keep: int,
) -> list[str]:
    """Ack ``reservations``, keeping ``completed`` in the history in the same call when
    there are records to keep and the driver keeps history; return the lost ids."""
    if completed and keep > 0 and isinstance(driver, JobHistory):
        return await driver.ack_recording(reservations, completed, keep)
    return await driver.ack(reservations)
