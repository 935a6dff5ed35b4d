"""Amazon SQS driver (``sqs://``) on aiobotocore, with a database store.

- Queue ``name`` is the SQS queue ``{prefix}{name}{suffix}`` (see ``names``), at
  ``SQS_PREFIX/…`` when the URL prefix is set, else looked up by name; created on first
  use unless ``SQS_CREATE_QUEUES=false``. A name ending in ``.fifo`` is a FIFO queue.
  With ``priorities=5,3`` in the URL, each of those levels has a queue of its own
  (``{name}-5``), and ``reserve`` drains higher levels first.
- The lease is the visibility timeout: a reservation receives with
  ``VisibilityTimeout`` = twice the lease, and the worker's heartbeat extends it
  (``ChangeMessageVisibilityBatch``); a dead worker's messages reappear when it lapses.
  Attempts are the ``gello-attempts`` attribute plus the receives that were attempts
  (``ApproximateReceiveCount``, less a FIFO hop); a message received after its last
  attempt goes to the failed store (its worker died).
- Delays: ``DelaySeconds`` (rounded up, at most 15 minutes); a message received still
  early is sent again with the remaining delay and deleted (it hops until due, never
  early). On FIFO queues, which have no per-message delay, a delayed job is sent at
  once and, when first received early, hidden until due (``ChangeMessageVisibility``,
  at most 12 hours; received early again, it is sent again). Releases (retries,
  ``ReleaseJob``) send a new message with the envelope's attempts on both kinds.
- ``wait`` long-polls (``WaitTimeSeconds`` up to 20) and keeps what it receives for the
  next ``reserve``; sends, receives, deletes and visibility changes go 10 per call.
- FIFO queues: the deduplication id is the job id on its first send, fresh on a
  resend; the message group is the job id (no ordering between jobs, full
  parallelism), or the unique key of a plain unique job.
- Unique jobs (every mode) are claimed in the store (see ``broker_claims``).
- Not supported: listing queued jobs, per-message priority inside one queue, clearing
  a queue without touching running jobs, cancelling a job without a unique key,
  promoting one job.

Where things are
----------------
``SqsDriver`` keeps closing, the messages a push sends, and ``republish``; ``push``
itself, with the unique-key claims around the send, is shared (``StoreBacked``). The
rest comes from the parts the driver is built of, each a class built on parts listed
above it (they share the client and the buffers, so send, receive and delete call the
client directly)::

    names.py       lanes: SQS queue names per gello queue and priority level
    options.py     reading an ``sqs://`` URL
    messages.py    reading a received message: attributes, job id, attempts used
    connection.py  the client, queue URLs (found or created), the driver's state
    send.py        message entries (delays, FIFO groups and deduplication), batch sends
    receive.py     receives into buffers, reserve and wait; early messages hop
    settle.py      deleting, sending again, renewing and rescuing held messages
    queues.py      counts (and the refusal to clear)

What every broker shares is in ``broker_buffer`` (taking from buffers), ``broker_leases``
(held messages), ``broker_claims`` (unique jobs) and ``composite`` (the store).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Sequence
from typing import Any

from gello_queue.core.envelope import Envelope
from gello_queue.core.errors import DriverUnavailableError
from gello_queue.drivers.broker_buffer import job_headers
from gello_queue.drivers.broker_claims import unique_mode
from gello_queue.drivers.outage import outage_boundary
from gello_queue.drivers.sqs.connection import ERRORS
from gello_queue.drivers.sqs.names import Lane
from gello_queue.drivers.sqs.queues import Queues
from gello_queue.drivers.sqs.settle import Settling
from gello_queue.ports import Capability, FailedJob


@outage_boundary
class SqsDriver(Settling, Queues):
    """The port on Amazon SQS; see the module docstring."""

    name = "sqs"
    capabilities: frozenset[str] = frozenset({Capability.UNIQUE_MODES})

    # -- lifecycle -------------------------------------------------------------------
    async def close(self) -> None:
        for task in self._polls.values():
            task.cancel()
        await asyncio.gather(*self._polls.values(), return_exceptions=True)
        self._polls.clear()
        try:
            if self._client is not None:
                with contextlib.suppress(*ERRORS, DriverUnavailableError):
                    await self._hand_back(list(self.buffers))
        finally:
            if self._stack is not None:
                await self._stack.aclose()
            self._client = self._stack = None
            self.buffers.clear()
            self._held.clear()
            await self.store.close()

    # -- producing -------------------------------------------------------------------
    def _publish_new(self, envelopes: Sequence[Envelope]) -> Awaitable[None]:
        # ``push`` (in ``StoreBacked``) claims unique keys around this.
        now = time.time()
        sends: dict[Lane, list[dict[str, Any]]] = {}
        for env in envelopes:
            attrs = job_headers(env, attempts=env.attempts, unique=unique_mode(env))
            body = env.encode().decode()
            sends.setdefault(self._lane(env), []).append(
                self._entry(env.queue, body, attrs, env.available_at - now, env, first=True)
            )
        return self._send(sends)

    # -- failed jobs back to the broker ----------------------------------------------
    async def republish(self, envelopes: Sequence[tuple[Envelope | None, FailedJob]]) -> None:
        sends: dict[Lane, list[dict[str, Any]]] = {}
        for env, failed in envelopes:
            if env is None:
                attrs: dict[str, object] = {"gello-id": failed.id, "gello-attempts": 0}
                sends.setdefault((failed.queue, 0), []).append(
                    self._entry(failed.queue, failed.body, attrs, 0, None)
                )
                continue
            attrs = job_headers(env, attempts=0)
            sends.setdefault(self._lane(env), []).append(
                self._entry(env.queue, env.encode().decode(), attrs, 0, env)
            )
        await self._send(sends)

    # -- tests -----------------------------------------------------------------------
    async def delete_queues(self) -> None:
        """Delete the queues this driver created (test clean-up)."""
        for url in sorted(self.created):
            with contextlib.suppress(*ERRORS):
                await self.client.delete_queue(QueueUrl=url)
        self.created.clear()
