"""Sending to SQS: a job's message entry, and sends in batches of ten.

A delay is ``DelaySeconds`` (rounded up, at most ``MAX_DELAY_S``); a message received
still early hops until due (see ``receive``). FIFO queues have no per-message delay:
there the deduplication id is the job id on its first send, fresh on a resend, and the
message group is the job id (no ordering between jobs, full parallelism), or the unique
key of a plain unique job.
"""

from __future__ import annotations

import asyncio
import math
import re
from typing import Any

from gello_queue.core.envelope import Envelope, new_id
from gello_queue.core.errors import DriverUnavailableError
from gello_queue.drivers.broker_claims import unique_mode
from gello_queue.drivers.sqs.connection import BATCH, Connection
from gello_queue.drivers.sqs.messages import attribute
from gello_queue.drivers.sqs.names import Lane

MAX_DELAY_S = 900
"""SQS's longest per-message delay (15 minutes)."""


class Sending(Connection):
    """Message entries and batched sends; see the module docstring."""

    def _lane(self, env: Envelope) -> Lane:
        return env.queue, self.naming.level_of(env.priority)

    def _entry(
        self,
        queue: str,
        body: str,
        attrs: dict[str, object],
        delay_s: float,
        env: Envelope | None,
        *,
        first: bool = False,
    ) -> dict[str, Any]:
        job_id = str(attrs["gello-id"])
        entry: dict[str, Any] = {
            "MessageBody": body,
            "MessageAttributes": {k: attribute(v) for k, v in attrs.items()},
        }
        if self.is_fifo(queue):
            # One group per job (no ordering between jobs, full parallelism), or per
            # unique key for plain unique jobs: one of them at a time anyway.
            key = env.unique_key if env is not None and unique_mode(env) == "processed" else None
            entry["MessageGroupId"] = re.sub(r"[^!-~]", "_", key or job_id)[:128]
            # The first send of a job deduplicates on its id (a producer's retried call
            # is not a second job); a job sent again (retried from the failed store) is
            # a new message. Unique keys are held in the store, not by the five-minute
            # deduplication window, so a completed job's key can be used again at once.
            entry["MessageDeduplicationId"] = job_id if first else new_id()
        elif delay_s > 0:
            entry["DelaySeconds"] = min(MAX_DELAY_S, math.ceil(delay_s))
        return entry

    async def _send(self, sends: dict[Lane, list[dict[str, Any]]]) -> None:
        """Send in batches of ten, concurrently; raise when any entry failed."""
        calls = []
        for lane, entries in sends.items():
            url = await self._url(lane)
            for i in range(0, len(entries), BATCH):
                chunk = [{"Id": str(n), **e} for n, e in enumerate(entries[i : i + BATCH])]
                calls.append(self.client.send_message_batch(QueueUrl=url, Entries=chunk))
        results = await asyncio.gather(*calls)
        for result in results:
            if result.get("Failed"):
                first = result["Failed"][0]
                raise DriverUnavailableError(
                    f"SQS refused {len(result['Failed'])} message(s): {first.get('Message')}"
                )
