"""Counting SQS queues: the approximate numbers SQS keeps per queue, lane by lane.

Queues are those SQS lists under this prefix (when it will list them), those this
process used, and those the store knows (failed, paused, served). A priority level's
queue is asked only if it exists; messages this process received but did not reserve
count as pending, not reserved.
"""

from __future__ import annotations

from gello_queue.drivers.composite import StoreBacked
from gello_queue.drivers.sqs.connection import ERRORS
from gello_queue.drivers.sqs.names import Lane
from gello_queue.drivers.sqs.receive import Receiving
from gello_queue.ports import Capability, QueueCounts


def _plus(a: QueueCounts, b: QueueCounts) -> QueueCounts:
    return QueueCounts(a.pending + b.pending, a.scheduled + b.scheduled, a.reserved + b.reserved)


class Queues(Receiving, StoreBacked):
    """Counts per queue (and the refusal to clear one)."""

    async def _discover(self) -> set[Lane] | None:
        """Lanes with an SQS queue under this prefix (``None``: SQS would not list them)."""
        lanes: set[Lane] = set()
        try:
            found = await self.client.list_queues(QueueNamePrefix=self.prefix, MaxResults=1000)
        except ERRORS:
            return None
        for url in found.get("QueueUrls") or []:
            lane = self.naming.parse(url.rsplit("/", 1)[-1])
            if lane is not None:
                lanes.add(lane)
                self._urls.setdefault(lane, url)
        return lanes

    async def counts(self) -> dict[str, QueueCounts]:
        stored = await self.store_counts()
        existing = await self._discover()
        names = self._known | await self.known_queues(stored) | {q for q, _ in existing or ()}
        found: dict[str, QueueCounts] = {}
        for queue in sorted(names):
            c = QueueCounts()
            for lane in self.naming.lanes([queue]):
                if existing is None or lane in existing or lane in self._urls:
                    c = _plus(c, await self._lane_counts(lane))
            found[queue] = c
        return self.with_store(found, stored)

    async def _lane_counts(self, lane: Lane) -> QueueCounts:
        url = await self._url(lane, create=False)
        if url is None:
            return QueueCounts()
        got = await self.client.get_queue_attributes(
            QueueUrl=url,
            AttributeNames=[
                "ApproximateNumberOfMessages",
                "ApproximateNumberOfMessagesDelayed",
                "ApproximateNumberOfMessagesNotVisible",
            ],
        )
        a = got.get("Attributes") or {}
        buffered = len(self.buffers.get(lane) or ())
        return QueueCounts(
            pending=int(a.get("ApproximateNumberOfMessages", 0)) + buffered,
            scheduled=int(a.get("ApproximateNumberOfMessagesDelayed", 0)),
            reserved=max(int(a.get("ApproximateNumberOfMessagesNotVisible", 0)) - buffered, 0),
        )

    async def clear(self, queue: str) -> int:
        raise self.unsupported(
            Capability.CLEAR, "clear a queue (PurgeQueue would delete running jobs too)"
        )
