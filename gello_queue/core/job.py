"""The user's API: a job is a class with a pydantic payload and an async ``handle``.

Dispatching builds an envelope from the class's declarations (queue, priority, tries,
backoff, timeout, retry_until) and hands it to a ``Queue``: the one given, or the default
one the settings describe. Every async call has a blocking twin named ``<name>_blocking``
for code that runs no event loop (Django or Flask views, scripts).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import (
    TYPE_CHECKING,
    Any,
    ClassVar,
    Generic,
    Literal,
    NoReturn,
    TypeVar,
    get_args,
    get_origin,
)

from pydantic import BaseModel, ValidationError

from gello_queue.core.dispatcher import Dispatcher, default_connection
from gello_queue.core.envelope import Envelope, new_id
from gello_queue.core.errors import (
    ConfigurationError,
    FailJob,
    PayloadTooLargeError,
    PayloadValidationError,
    ReleaseJob,
)
from gello_queue.core.pipeline import Middleware
from gello_queue.core.registry import JobRegistry, default_registry
from gello_queue.core.retry import BackoffSpec, normalize_backoff
from gello_queue.core.unique import DispatchResult, payload_digest, unique_key

if TYPE_CHECKING:
    from gello_queue.orchestration.batch import BatchHandle
    from gello_queue.ports import QueueDriver

P = TypeVar("P", bound=BaseModel)

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


class Job(Generic[P]):
    """Base class of every job: subclass it with a payload model and write ``handle``.

    Example::

        class WelcomePayload(BaseModel):
            user_id: int
            email: str

        class SendWelcomeEmail(Job[WelcomePayload]):
            queue = "emails"
            tries = 3
            backoff = [60, 300, 900]

            async def handle(self, payload: WelcomePayload) -> None:
                await mailer.send(payload.email, "welcome")
    """

    name: ClassVar[str] = ""
    """The registered name stored in every message; defaults to the class name."""
    queue: ClassVar[str | None] = None
    """Queue to dispatch to; defaults to ``QUEUE_DEFAULT``."""
    priority: ClassVar[int] = 0
    """0..5; higher runs first within a queue."""
    tries: ClassVar[int | None] = None
    """Attempts before the failed store; defaults to ``QUEUE_MAX_TRIES``."""
    backoff: ClassVar[BackoffSpec] = None
    """Seconds before a retry: a number, a list per retry, or ``Exponential(...)``."""
    timeout: ClassVar[float | None] = None
    """Seconds one attempt may run; defaults to the worker's ``--timeout``."""
    retry_until: ClassVar[Delay | None] = None
    """No retry is made later than this long after dispatch."""
    payload_model: ClassVar[type[BaseModel]]
    """The payload's pydantic model; taken from ``Job[Model]``."""
    run_in: ClassVar[Literal["process", "thread"]] = "process"
    """Where a plain ``def handle`` runs: a child process (its timeout is enforced by
    killing the process) or a thread (shares memory; its timeout cannot stop it)."""
    registry: ClassVar[JobRegistry] = default_registry
    unique: ClassVar[bool] = False
    """Dispatching again while a job with the same key waits or runs returns that job's
    id instead of storing a new one (key: name, queue and ``unique_id``)."""
    unique_for: ClassVar[Delay | None] = None
    """Seconds the unique lock lives at most (a stuck holder stops blocking after it)."""
    unique_until: ClassVar[Literal["processed", "processing"]] = "processed"
    """When the lock is released: when the job completes or fails ("processed"), or
    when a worker starts it ("processing")."""
    debounce: ClassVar[Delay | None] = None
    """Run this long after the last dispatch with the same key: an earlier job that has
    not started is replaced (the last payload wins) and never runs."""

    job_id: str
    """Set while running: the job's id."""
    attempt: int
    """Set while running: this attempt's number, from 1."""
    envelope: Envelope
    """Set while running: the message as reserved."""
    driver: QueueDriver
    """Set while running: the backend the job came from (middleware use it)."""

    def __init_subclass__(cls, *, register: bool = True, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "name" not in cls.__dict__ or not cls.__dict__["name"]:
            cls.name = cls.__name__
        model = _payload_model_of(cls)
        if model is not None:
            cls.payload_model = model
        if not 0 <= cls.priority <= 5:
            raise ConfigurationError(f"{cls.__name__}.priority must be 0..5, got {cls.priority}")
        if cls.tries is not None and cls.tries < 1:
            raise ConfigurationError(f"{cls.__name__}.tries must be >= 1, got {cls.tries}")
        cls._backoff_spec = normalize_backoff(cls.backoff)
        if cls.unique_until not in ("processed", "processing"):
            raise ConfigurationError(
                f"{cls.__name__}.unique_until must be 'processed' or 'processing'"
            )
        cls._unique = bool(cls.unique or cls.unique_for or cls.debounce)
        cls._custom_unique_id = cls.unique_id is not Job.unique_id
        cls._sync_handle = not inspect.iscoroutinefunction(cls.handle)
        if register and hasattr(cls, "payload_model"):
            cls.registry.register(cls)

    _backoff_spec: ClassVar[Any] = None
    _sync_handle: ClassVar[bool] = False
    _unique: ClassVar[bool] = False
    _custom_unique_id: ClassVar[bool] = False

    # -- running -----------------------------------------------------------------------
    async def handle(self, payload: P) -> None:
        """Do the work. Raise to fail the attempt; see ``fail`` and ``release``."""
        raise NotImplementedError(f"{type(self).__name__}.handle is not written")

    async def before(self, payload: P) -> None:
        """Runs before ``handle`` on every attempt."""

    async def after(self, payload: P) -> None:
        """Runs after ``handle`` succeeded."""

    async def failed(self, payload: P, error: BaseException) -> None:
        """Runs once, when the job ends in the failed store."""

    def middleware(self) -> Sequence[Middleware]:
        """Middleware that wraps ``handle`` on every attempt, outermost first."""
        return ()

    def unique_id(self, payload: P) -> str:
        """What makes two dispatches the same job; defaults to a hash of the payload."""
        return payload_digest(payload.model_dump(mode="json"))

    def batch(self) -> BatchHandle | None:
        """While running: the batch this job belongs to (or whose callback it is)."""
        return None if Job.batch_view is None else Job.batch_view(self)

    batch_view: ClassVar[Callable[[Job[Any]], BatchHandle | None] | None] = None
    """How ``batch()`` finds the batch, plugged in by ``gello_queue.orchestration.batch``
    when it loads (core cannot import orchestration, which sits above it)."""

    def fail(self, reason: str | BaseException = "failed permanently") -> NoReturn:
        """Fail now, with no further retries."""
        raise FailJob(str(reason))

    def release(self, delay: Delay = 0, reason: str | None = None) -> NoReturn:
        """Put the job back for ``delay`` without using up an attempt (e.g. rate limited)."""
        raise ReleaseJob(seconds(delay), reason)

    # -- dispatching -------------------------------------------------------------------
    @classmethod
    def make(
        cls, payload: P | Mapping[str, Any] | None = None, /, **fields: Any
    ) -> PendingDispatch:
        """Validate a payload and return a dispatch to send later, e.g. in ``Queue.bulk``.

        Raises:
            PayloadValidationError: the payload does not match the model; names the field.
        """
        return PendingDispatch(cls, validate_payload(cls, payload, fields))

    @classmethod
    async def dispatch(
        cls,
        payload: P | Mapping[str, Any] | None = None,
        /,
        *,
        queue: str | None = None,
        priority: int | None = None,
        delay: Delay | None = None,
        at: datetime | None = None,
        connection: Dispatcher | None = None,
        **fields: Any,
    ) -> DispatchResult:
        """Validate and enqueue; return the job id (for a unique job whose key is held,
        the holder's id, with ``.duplicate_of`` set).

        Args:
            payload: the payload model, or a mapping of its fields (or pass them as keywords).
            queue: override the class's queue.
            priority: override the class's priority (0..5).
            delay: run no sooner than this many seconds (or ``timedelta``) from now.
            at: run no sooner than this time.
            connection: the ``Queue`` to use instead of the default one.
        """
        pending = cls.make(payload, **fields).options(
            queue=queue, priority=priority, delay=delay, at=at
        )
        return _result(await _connection(connection).dispatch(pending))

    @classmethod
    def dispatch_blocking(
        cls,
        payload: P | Mapping[str, Any] | None = None,
        /,
        *,
        queue: str | None = None,
        priority: int | None = None,
        delay: Delay | None = None,
        at: datetime | None = None,
        connection: Dispatcher | None = None,
        **fields: Any,
    ) -> DispatchResult:
        """Blocking twin of ``dispatch`` for code without an event loop."""
        pending = cls.make(payload, **fields).options(
            queue=queue, priority=priority, delay=delay, at=at
        )
        return _result(_connection(connection).dispatch_blocking(pending))

    @classmethod
    async def dispatch_after(
        cls,
        delay: Delay,
        payload: P | Mapping[str, Any] | None = None,
        /,
        *,
        connection: Dispatcher | None = None,
        **fields: Any,
    ) -> str:
        """Enqueue to run after ``delay``; return the job id."""
        return await cls.dispatch(payload, delay=delay, connection=connection, **fields)

    @classmethod
    def dispatch_after_blocking(
        cls,
        delay: Delay,
        payload: P | Mapping[str, Any] | None = None,
        /,
        *,
        connection: Dispatcher | None = None,
        **fields: Any,
    ) -> str:
        """Blocking twin of ``dispatch_after``."""
        return cls.dispatch_blocking(payload, delay=delay, connection=connection, **fields)


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
        env = Envelope(
            id=new_id(),
            name=job.name,
            queue=queue,
            payload=self.payload,
            max_attempts=job.tries or defaults.tries,
            priority=self.priority if self.priority is not None else job.priority,
            timeout=job.timeout,
            backoff=job._backoff_spec,
            retry_until=retry_until,
            available_at=available,
            created_at=now,
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


def _payload_model_of(cls: type) -> type[BaseModel] | None:
    for base in getattr(cls, "__orig_bases__", ()):
        origin = get_origin(base)
        if isinstance(origin, type) and issubclass(origin, Job):
            args = get_args(base)
            if args and isinstance(args[0], type) and issubclass(args[0], BaseModel):
                return args[0]
    return None


def _connection(connection: Dispatcher | None) -> Dispatcher:
    if connection is not None:
        return connection
    try:
        default: Dispatcher = default_connection()
    except ConfigurationError as exc:
        # A script's wrong setting reads as its own dispatch line and one error line,
        # not gello's frames down to the settings loader.
        raise exc.with_traceback(None) from None
    return default


def _result(stored: str) -> DispatchResult:
    return stored if isinstance(stored, DispatchResult) else DispatchResult(stored, stored)
