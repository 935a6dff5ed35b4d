"""Leases on Redis: the reserve script's calls and replies, release, fail, renewal, rescue.

Reserving moves a job to its queue's reserved set in the script that hands it out, with
a lease judged by the server's clock and a token, fresh per reserve call, that every
later call on the lease must show: a job is never in a worker's memory only, and a
worker whose lease was rescued cannot ack, release or fail the job again. The driver
runs reserve and ack itself (they are the hot path); the rest is ``Leases``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import structlog

from gello_queue.core.envelope import Envelope
from gello_queue.core.failed_query import fingerprint_of
from gello_queue.core.rescue import LOST_WORKER_REASON
from gello_queue.drivers.common import name_of
from gello_queue.drivers.redis.keys import KeyScheme
from gello_queue.drivers.redis.link import Link
from gello_queue.drivers.redis.scripts import BATCH, Call, run
from gello_queue.ports import Failure, RescueResult, Reservation

log = structlog.get_logger("gello")


def reserve_call(
    scheme: KeyScheme, queue: str, limit: int, lease_s: float, token: str, worker_id: str
) -> tuple[tuple[str, ...], tuple[Any, ...]]:
    """The reserve script's keys and arguments."""
    k = scheme.of(queue)
    keys = (k.ready, k.delayed, k.reserved, k.wake, k.failed)
    return keys, (k.job, limit, lease_s, token, worker_id, k.failed_job, k.unique, queue)


def reserved(queue: str, token: str, raw: Sequence[Any]) -> list[Reservation]:
    """The reservations in a reserve script's reply; the malformed jobs it sent to the
    failed store instead are logged, one line each."""
    expires, malformed = float(raw[0]), raw[1]
    for i in range(0, len(malformed), 2):
        log.error(
            "malformed job moved to the failed store",
            queue=queue,
            id=malformed[i],
            reason=malformed[i + 1],
            fix="see it with `gello queue:failed`, then `queue:retry` or `queue:forget` it",
        )
    return [
        Reservation(raw[i], queue, token, raw[i + 1], raw[i + 2], expires)
        for i in range(2, len(raw), 3)
    ]


class Leases:
    """Releasing, failing, renewing and rescuing leases."""

    def __init__(self, link: Link) -> None:
        self._link = link
        self._k = link.keys

    async def release(self, reservation: Reservation, envelope: Envelope, delay_s: float) -> bool:
        k = self._k.of(reservation.queue)
        done = await self._link.scripts["release"](
            (k.ready, k.delayed, k.reserved, k.wake),
            (
                k.job,
                reservation.id,
                reservation.token,
                envelope.attempts,
                envelope.encode(),
                delay_s,
            ),
        )
        return bool(done)

    async def fail(self, reservation: Reservation, body: str, failure: Failure) -> bool:
        k = self._k.of(reservation.queue)
        name = name_of(body)
        done = await self._link.scripts["fail"](
            (k.reserved, k.failed),
            (
                k.job,
                k.failed_job,
                k.unique,
                reservation.queue,
                reservation.id,
                reservation.token,
                body,
                failure.exception,
                failure.message,
                failure.traceback,
                name,
                fingerprint_of(name, failure.exception, failure.message),
            ),
        )
        return bool(done)

    async def extend(self, reservations: Sequence[Reservation], lease_s: float) -> list[str]:
        if not reservations:
            return []
        groups: dict[str, list[str]] = {}
        for res in reservations:
            groups.setdefault(res.queue, []).extend((res.id, res.token))
        script = self._link.scripts["extend"]
        calls: list[Call] = []
        for queue, pairs in groups.items():
            k = self._k.of(queue)
            calls.append((script, (k.reserved,), (k.job, lease_s, *pairs)))
        lost: list[str] = []
        for result in await run(self._link.redis, calls):
            lost += result[1:]
        return lost

    async def rescue(self) -> RescueResult:
        result = RescueResult()
        script = self._link.scripts["rescue"]
        queues = await self._link.known()
        while queues:
            calls: list[Call] = []
            for queue in queues:
                k = self._k.of(queue)
                keys = (k.ready, k.reserved, k.failed, k.wake)
                args = (k.job, k.failed_job, k.unique, queue, LOST_WORKER_REASON, BATCH)
                calls.append((script, keys, args))
            busy = []
            for queue, (requeued, failed, holders) in zip(
                queues, await run(self._link.redis, calls), strict=True
            ):
                result.requeued.extend(requeued)
                result.failed.extend(failed)
                result.held_by.update(zip(holders[::2], holders[1::2], strict=True))
                if len(requeued) + len(failed) >= BATCH:
                    busy.append(queue)
            queues = busy
        return result
