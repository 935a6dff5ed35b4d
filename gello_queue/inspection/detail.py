"""One job's every field, whether still queued or in the failed store."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from gello_queue.core.encryption import shown_payload
from gello_queue.core.states import JobState
from gello_queue.ports import FailedJob, JobRecord


@dataclass(frozen=True, slots=True)
class JobDetail:
    """Every field of one job, whether still queued or in the failed store."""

    id: str
    queue: str
    name: str
    state: JobState
    attempts: int
    max_attempts: int | None
    priority: int | None
    created_at: float | None
    available_at: float | None
    body: str
    payload: Any
    envelope: dict[str, Any] | None
    reserved_by: str | None = None
    lease_expires_at: float | None = None
    failed_at: float | None = None
    exception: str | None = None
    message: str | None = None
    traceback: str | None = None


def _decode(body: str) -> dict[str, Any] | None:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    return data if isinstance(data, dict) else None


def detail_of_record(record: JobRecord) -> JobDetail:
    """A queued job's detail."""
    env = _decode(record.body) or {}
    return JobDetail(
        id=record.id,
        queue=record.queue,
        name=str(env.get("name", "?")),
        state=record.state,
        attempts=record.attempts,
        max_attempts=env.get("max_attempts"),
        priority=record.priority,
        created_at=record.created_at,
        available_at=record.available_at,
        body=record.body,
        payload=shown_payload(env),
        envelope=env or None,
        reserved_by=record.reserved_by,
        lease_expires_at=record.lease_expires_at,
    )


def detail_of_failed(job: FailedJob) -> JobDetail:
    """A failed job's detail."""
    env = _decode(job.body)
    return JobDetail(
        id=job.id,
        queue=job.queue,
        name=job.name,
        state=JobState.FAILED,
        attempts=job.attempts,
        max_attempts=None if env is None else env.get("max_attempts"),
        priority=None if env is None else env.get("priority"),
        created_at=None if env is None else env.get("created_at"),
        available_at=None if env is None else env.get("available_at"),
        body=job.body,
        payload=job.payload(),
        envelope=env,
        failed_at=job.failed_at,
        exception=job.exception,
        message=job.message,
        traceback=job.traceback,
    )
