"""The completed-job history as a worker writes it: one record per successful run, sent
with the run's ack (``JobHistory.ack_recording``) so it costs no round trip of its own."""

from __future__ import annotations

from collections.abc import Sequence

from gello_queue.ports import CompletedJob, JobHistory, QueueDriver, Reservation


class HistoryAcks:
    """Acks that keep their records in the history in the same call, when there are
    records to keep and the driver keeps history.

    Whether a driver keeps history is asked once per driver: ``isinstance`` against a
    runtime-checkable protocol looks up each of its methods, and on every flush it cost
    about a microsecond per job.
    """

    def __init__(self) -> None:
        self._driver: QueueDriver | None = None
        self._keeps = False

    async def ack(
        self,
        driver: QueueDriver,
        reservations: Sequence[Reservation],
        completed: Sequence[CompletedJob],
        keep: int,
    ) -> list[str]:
        """Ack ``reservations`` on ``driver`` and keep ``completed`` in the newest
        ``keep`` of their queues (``QUEUE_KEEP_COMPLETED``; 0: none); return the lost ids."""
        if driver is not self._driver:
            self._driver, self._keeps = driver, isinstance(driver, JobHistory)
        if completed and keep > 0 and self._keeps:
            return await driver.ack_recording(reservations, completed, keep)  # type: ignore[attr-defined, no-any-return]
        return await driver.ack(reservations)
