"""What a job retried from the failed store goes back as.

One rule for every driver: the memory, SQLite, PostgreSQL, Redis and broker drivers
call ``rebuild_retried``; Redis (``failed_retry.lua``) and PostgreSQL (``queries.sql``,
``requeue``) store what it built, name it, and keep only its "due now, no attempts"
in their own words, and a contract test holds each driver to it.
"""

from __future__ import annotations

from dataclasses import dataclass

from gello_queue.core.envelope import Envelope
from gello_queue.core.errors import EnvelopeError


@dataclass(frozen=True, slots=True)
class Retried:
    """A failed job put back by a retry: what its pending job is stored with."""

    id: str
    queue: str
    name: str
    priority: int
    available_at: float
    created_at: float
    attempts: int
    max_attempts: int
    body: str
    envelope: Envelope | None
    """The rebuilt envelope (``body`` decoded), or ``None`` for a body that is not one."""


def rebuild_retried(job_id: str, queue: str, name: str, body: str, now: float) -> Retried:
    """The pending job a failed record goes back as when it is retried.

    The job keeps its id and goes back to the queue the failed store lists it under,
    due ``now`` with fresh attempts (all of its ``tries`` again) and no held-back reason;
    its priority, ``max_attempts`` and creation time are kept. It does not take its
    unique key again. A body that is not an envelope (a poison message) goes back as it
    was, with one attempt, to fail again with the same clear reason.

    Args:
        job_id: the failed record's id.
        queue: the failed record's queue.
        name: the failed record's job name.
        body: the failed record's stored body.
        now: the backend's current epoch seconds.
    """
    try:
        env = Envelope.decode(body)
    except EnvelopeError:
        return Retried(job_id, queue, name, 0, now, now, 0, 1, body, None)
    env = env.with_changes(id=job_id, queue=queue, attempts=0, available_at=now, reason=None)
    return Retried(
        id=job_id,
        queue=queue,
        name=env.name,
        priority=env.priority,
        available_at=now,
        created_at=env.created_at,
        attempts=0,
        max_attempts=env.max_attempts,
        body=env.encode().decode(),
        envelope=env,
    )
