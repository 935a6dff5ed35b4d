"""A dispatch in the making: a job class, its validated payload and the options given.

``Job.make`` returns a ``PendingDispatch``; a queue turns it into the stored message with
``to_envelope``, which applies the class's declarations and the connection's defaults
(``JobDefaults``) and refuses a body over the size cap. Delays are given as seconds or a
``timedelta`` (``Delay``) everywhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, NoReturn

from pydantic import BaseModel, ValidationError

from gello_queue.core.encryption import KEY_HELP, Keyring
from gello_queue.core.envelope import Envelope, new_id
from gello_queue.core.errors import (
    ConfigurationError,
    PayloadTooLargeError,
    PayloadValidationError,
)
from gello_queue.core.tags import job_tags
from gello_queue.core.unique import payload_digest, unique_key

if TYPE_CHECKING:
    from gello_queue.core.job import Job

Delay = float | int | timedelta


def seconds(value: Delay | None) -> float:
    """Seconds in ``value`` (a number or a ``timedelta``); ``None`` is zero."""
    if value is None:
        return 0.0
    if isinstance(value, timedelta):
        return value.total_seconds()
    return float(value)


@dataclass(frozen=True, slots=True)
class JobDefaults:
    """What a connection fills in where a job class declares nothing."""

    queue: str = "default"
    tries: int = 3
    max_payload_bytes: int = 262144
    keyring: Keyring | None = None
    """The keys of ``QUEUE_ENCRYPTION_KEY``, for encrypted jobs (None: none set)."""
    encrypt_all: bool = False
    """``QUEUE_ENCRYPT_ALL``: every job's payload is encrypted, not only those whose class
    sets ``encrypted``."""


def validate_payload(
    job: type[Job[Any]], payload: Any, fields: Mapping[str, Any]
) -> dict[str, Any]:
    """Return the payload's JSON form, validated against the job's model.

    Raises:
        PayloadValidationError: one line naming each wrong field.
    """
    model = job.payload_model
    try:
        if isinstance(payload, model) and not fields:
            instance = payload
        elif isinstance(payload, BaseModel):
            instance = model.model_validate({**payload.model_dump(), **fields})
        else:
            instance = model.model_validate({**(payload or {}), **fields})
    except ValidationError as exc:
        raise PayloadValidationError(f"{job.name} payload is invalid: {describe(exc)}") from None
    return instance.model_dump(mode="json")


def describe(exc: ValidationError) -> str:
    """One line from a pydantic error: ``field: message; other: message``."""
    return "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or 'payload'}: {err['msg']}" for err in exc.errors()
    )


@dataclass(frozen=True, slots=True)
class PendingDispatch:
    """A validated job not yet sent: what ``Job.make`` returns and ``Queue.bulk`` takes."""

    job: type[Job[Any]]
    payload: dict[str, Any]
    queue: str | None = None
    priority: int | None = None
    delay_s: float = 0.0
    at: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    """Envelope fields set by orchestration features (unique key, batch, chain...)."""

    def options(
        self,
        *,
        queue: str | None = None,
        priority: int | None = None,
        delay: Delay | None = None,
        at: datetime | None = None,
    ) -> PendingDispatch:
        """Return a copy with the given dispatch options set (``None`` keeps the current)."""
        if queue is None and priority is None and delay is None and at is None:
            return self  # frozen: nothing to copy (the common dispatch)
        if priority is not None and not 0 <= priority <= 5:
            raise ConfigurationError(f"priority must be 0..5, got {priority}")
        return replace(
            self,
            queue=queue if queue is not None else self.queue,
            priority=priority if priority is not None else self.priority,
            delay_s=seconds(delay) if delay is not None else self.delay_s,
            at=at if at is not None else self.at,
        )

    def on_queue(self, queue: str) -> PendingDispatch:
        """Send to ``queue``."""
        return self.options(queue=queue)

    def delay(self, delay: Delay) -> PendingDispatch:
        """Run no sooner than ``delay`` from dispatch."""
        return self.options(delay=delay)

    def to_envelope(self, defaults: JobDefaults, now: float) -> Envelope:
        """Build the message, applying the class's declarations and ``defaults``.

        Raises:
            PayloadTooLargeError: the stored envelope is over ``defaults.max_payload_bytes``.
        """
        job = self.job
        available = self.at.timestamp() if self.at is not None else now + self.delay_s
        retry_until = None if job.retry_until is None else now + seconds(job.retry_until)
        queue = self.queue or job.queue or defaults.queue
        extra = self.extra
        if job._unique and "unique_key" not in extra:
            extra = {**self._unique_fields(queue), **extra}
            if job.debounce is not None and self.at is None:
                available = now + max(self.delay_s, seconds(job.debounce))
        payload, sealed = self.payload, None
        if job.encrypted or defaults.encrypt_all:
            if defaults.keyring is None:
                why = "is encrypted" if job.encrypted else "is encrypted by QUEUE_ENCRYPT_ALL"
                raise ConfigurationError(f"{job.name} {why} but there is no key: {KEY_HELP}")
            payload, sealed = {}, defaults.keyring.seal(self.payload)
        env = Envelope(
            id=new_id(),
            name=job.name,
            queue=queue,
            payload=payload,
            payload_version=job.version,
            encrypted=sealed,
            max_attempts=job.tries or defaults.tries,
            priority=self.priority if self.priority is not None else job.priority,
            timeout=job.timeout,
            backoff=job._backoff_spec,
            retry_until=retry_until,
            available_at=available,
            created_at=now,
            tags=job_tags(
                job.tags,
                lambda: (job(), job.payload_model.model_validate(self.payload)),
                self.payload,
                # An encrypted payload's ids would be stored in clear as tags.
                automatic=sealed is None,
            ),
            **extra,
        )
        check_stored_size(env, defaults.max_payload_bytes)
        return env

    def _unique_fields(self, queue: str) -> dict[str, Any]:
        job = self.job
        if job._custom_unique_id:
            uid = job().unique_id(job.payload_model.model_validate(self.payload))
        else:
            uid = payload_digest(self.payload)
        mode = "debounce" if job.debounce is not None else job.unique_until
        return {
            "unique_key": unique_key(job.name, queue, str(uid)),
            "unique_mode": None if mode == "processed" else mode,
            "unique_for": None if job.unique_for is None else seconds(job.unique_for),
        }


def check_stored_size(env: Envelope, cap: int) -> None:
    """Refuse an envelope whose stored body (its JSON: the payload, and the chain steps
    riding in it) is over ``cap`` bytes (``QUEUE_MAX_PAYLOAD_BYTES``).

    Every job is built by ``PendingDispatch.to_envelope``, which checks it; batches and
    chains check again the bodies they compose from those (``orchestration.batch.checked``),
    so every dispatch path (``Job.dispatch``, ``Queue.bulk``, batches, chains, schedules,
    ``queue:dispatch``) meets the cap before anything is stored.

    Raises:
        PayloadTooLargeError: naming the job, its size and the cap.
    """
    size = len(env.encode())
    if size > cap:
        steps = f" with the {len(env.chain)} chain steps after it" if env.chain else ""
        refuse_over_cap(f"{env.name}{steps}", size, cap)


def refuse_over_cap(what: str, size: int, cap: int) -> NoReturn:
    """Raise the one error every stored body over the cap gets."""
    raise PayloadTooLargeError(
        f"{what} is {size} bytes stored, over the {cap}-byte cap (QUEUE_MAX_PAYLOAD_BYTES):"
        " store the data elsewhere and pass a reference"
    )
