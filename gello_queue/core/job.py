"""The user's API: a job is a class with a pydantic payload and an async ``handle``.

Dispatching builds an envelope from the class's declarations (queue, priority, tries,
backoff, timeout, retry_until) and hands it to a ``Queue``: the one given, or the default
one the settings describe. Every async call has a blocking twin named ``<name>_blocking``
for code that runs no event loop (Django or Flask views, scripts).

What a dispatch carries until it is sent (``PendingDispatch``: the validated payload,
the options, the envelope built from them, the size cap) is in ``pending_dispatch.py``;
its names are exported here too.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import (
    TYPE_CHECKING,
    Any,
    ClassVar,
    Generic,
    Literal,
    NoReturn,
    TypeAlias,
    TypeVar,
    get_args,
    get_origin,
)

from pydantic import BaseModel

from gello_queue.core.dispatcher import Dispatcher, default_connection
from gello_queue.core.envelope import Envelope
from gello_queue.core.errors import ConfigurationError, FailJob, ReleaseJob
from gello_queue.core.pending_dispatch import (
    Delay,
    JobDefaults,
    PendingDispatch,
    check_stored_size,
    describe,
    refuse_over_cap,
    seconds,
    validate_payload,
)
from gello_queue.core.pipeline import Middleware
from gello_queue.core.progress import ProgressSink, check_progress, report_detached
from gello_queue.core.registry import JobRegistry, default_registry
from gello_queue.core.results import ResultSource, decode_result
from gello_queue.core.retry import BackoffSpec, normalize_backoff
from gello_queue.core.tags import TagSource
from gello_queue.core.unique import DispatchResult, payload_digest

if TYPE_CHECKING:
    from gello_queue.orchestration.batch import BatchHandle
    from gello_queue.ports import QueueDriver

__all__ = [
    "Delay",
    "Job",
    "JobDefaults",
    "PendingDispatch",
    "check_stored_size",
    "describe",
    "refuse_over_cap",
    "seconds",
    "validate_payload",
]

P = TypeVar("P", bound=BaseModel)

Condition: TypeAlias = object
"""What ``dispatch_if``/``dispatch_unless`` test: any value (its truth), or a callable
taking no argument whose result's truth is used, as Laravel's ``value($condition)``."""


def holds(condition: Condition) -> bool:
    """Whether a dispatch condition holds: a callable is called once, then truth-tested."""
    return bool(condition() if callable(condition) else condition)


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
    encrypted: ClassVar[bool] = False
    """Store the payload encrypted with ``QUEUE_ENCRYPTION_KEY`` (as Laravel's
    ``ShouldBeEncrypted``); ``QUEUE_ENCRYPT_ALL`` turns it on for every job."""
    max_exceptions: ClassVar[int | None] = None
    """Fail for good after this many attempts ended in an unhandled exception, even with
    ``tries`` left (releases, e.g. by a rate limit, do not count); None: no such limit."""
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
    keep_result: ClassVar[int | None] = None
    """Seconds to keep what ``handle`` returns, for ``Job.result`` and ``Queue.result``
    (None: the ``QUEUE_KEEP_RESULTS`` setting; 0: not kept). The return annotation says
    how it is written as JSON: a pydantic model or a JSON type."""
    tags: ClassVar[TagSource] = ()
    """Tags stored with each job (``["billing"]``), or a method ``tags(self, payload)``
    returning them; ids in the payload (``customer_id=42``) add ``customer:42`` on their
    own. ``gello queue:jobs --tag customer:42`` finds the jobs carrying one."""
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

    version: ClassVar[int] = 1
    """The payload model's version, written into every message dispatched. Raise it when
    the model changes in a way old messages do not fit, and write ``upcast`` to upgrade
    them; a worker puts a message of a newer version back for newer code (see
    ``gello_queue.core.payload_versions``)."""

    job_id: str
    """Set while running: the job's id."""
    attempt: int
    """Set while running: this attempt's number, from 1."""
    envelope: Envelope
    """Set while running: the message as reserved."""
    driver: QueueDriver
    """Set while running: the backend the job came from (middleware use it)."""
    progress_sink: ProgressSink | None = None
    """Set while running: where ``progress`` goes (None: ``handle`` was called directly,
    e.g. in a test; then to ``testing.fake()``'s record when one is installed)."""

    def __init_subclass__(cls, *, register: bool = True, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "name" not in cls.__dict__ or not cls.__dict__["name"]:
            cls.name = cls.__name__
        model = _payload_model_of(cls)
        if model is not None:
            cls.payload_model = model
        if not 0 <= cls.priority <= 5:
            raise ConfigurationError(f"{cls.__name__}.priority must be 0..5, got {cls.priority}")
        if cls.keep_result is not None and cls.keep_result < 0:
            raise ConfigurationError(
                f"{cls.__name__}.keep_result must be >= 0 seconds, got {cls.keep_result}"
            )
        if type(cls.version) is not int or cls.version < 1:
            raise ConfigurationError(
                f"{cls.__name__}.version must be a whole number >= 1, got {cls.version!r}"
            )
        if "upcast" in cls.__dict__ and not isinstance(cls.__dict__["upcast"], classmethod):
            raise ConfigurationError(
                f"{cls.__name__}.upcast must be a @classmethod: it upgrades stored payloads"
                " before any job instance exists"
            )
        if cls.tries is not None and cls.tries < 1:
            raise ConfigurationError(f"{cls.__name__}.tries must be >= 1, got {cls.tries}")
        if cls.max_exceptions is not None and (
            isinstance(cls.max_exceptions, bool) or cls.max_exceptions < 1
        ):
            raise ConfigurationError(
                f"{cls.__name__}.max_exceptions must be >= 1 or None, got {cls.max_exceptions}"
            )
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

    @classmethod
    def upcast(cls, version: int, data: dict[str, Any]) -> dict[str, Any]:
        """Upgrade a stored payload one step: ``data`` has the shape of ``version``;
        return it in the shape of ``version + 1``. A message stored at version 1 by a
        class now at version 3 goes through ``upcast(1, ...)`` then ``upcast(2, ...)``,
        before the model validates it. A classmethod: it runs before any job instance
        exists (and in ``gello queue:check``, which runs no job).

        The default returns ``data`` unchanged: enough when the new model only adds
        fields with defaults.
        """
        return data

    def unique_id(self, payload: P) -> str:
        """What makes two dispatches the same job; defaults to a hash of the payload."""
        return payload_digest(payload.model_dump(mode="json"))

    def batch(self) -> BatchHandle | None:
        """While running: the batch this job belongs to (or whose callback it is)."""
        return None if Job.batch_view is None else Job.batch_view(self)

    batch_view: ClassVar[Callable[[Job[Any]], BatchHandle | None] | None] = None
    """How ``batch()`` finds the batch, plugged in by ``gello_queue.orchestration.batch``
    when it loads (core cannot import orchestration, which sits above it)."""

    async def progress(self, fraction: float, message: str | None = None) -> None:
        """Tell how far this run is: ``fraction`` from 0 to 1, and what it is doing.

        Stored with the job for ``Queue.status``, ``gello queue:why`` and the dashboard;
        writes are throttled (at most one every 250 ms, the last value always kept), so
        it may be called in a tight loop. ``message`` is cut to 200 characters.

        Raises:
            ValueError: ``fraction`` is not a number from 0 to 1.
        """
        fraction, message = check_progress(fraction, message)
        if self.progress_sink is not None:
            await self.progress_sink.report(fraction, message)
        else:
            report_detached(self.name, fraction, message)

    def progress_blocking(self, fraction: float, message: str | None = None) -> None:
        """Blocking twin of ``progress``, for a plain ``def handle`` (run in a thread or a
        child process)."""
        fraction, message = check_progress(fraction, message)
        if self.progress_sink is not None:
            self.progress_sink.report_blocking(fraction, message)
        else:
            report_detached(self.name, fraction, message)

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
    async def dispatch_if(
        cls,
        condition: Condition,
        payload: P | Mapping[str, Any] | None = None,
        /,
        *,
        queue: str | None = None,
        priority: int | None = None,
        delay: Delay | None = None,
        at: datetime | None = None,
        connection: Dispatcher | None = None,
        **fields: Any,
    ) -> DispatchResult | None:
        """``dispatch`` when ``condition`` holds (a value, or a callable asked once);
        return the job id, or None when nothing was dispatched (the payload is then
        not validated either)."""
        if not holds(condition):
            return None
        return await cls.dispatch(
            payload,
            queue=queue,
            priority=priority,
            delay=delay,
            at=at,
            connection=connection,
            **fields,
        )

    @classmethod
    def dispatch_if_blocking(
        cls,
        condition: Condition,
        payload: P | Mapping[str, Any] | None = None,
        /,
        *,
        queue: str | None = None,
        priority: int | None = None,
        delay: Delay | None = None,
        at: datetime | None = None,
        connection: Dispatcher | None = None,
        **fields: Any,
    ) -> DispatchResult | None:
        """Blocking twin of ``dispatch_if``."""
        if not holds(condition):
            return None
        return cls.dispatch_blocking(
            payload,
            queue=queue,
            priority=priority,
            delay=delay,
            at=at,
            connection=connection,
            **fields,
        )

    @classmethod
    async def dispatch_unless(
        cls,
        condition: Condition,
        payload: P | Mapping[str, Any] | None = None,
        /,
        *,
        queue: str | None = None,
        priority: int | None = None,
        delay: Delay | None = None,
        at: datetime | None = None,
        connection: Dispatcher | None = None,
        **fields: Any,
    ) -> DispatchResult | None:
        """``dispatch`` unless ``condition`` holds; the opposite of ``dispatch_if``."""
        return await cls.dispatch_if(
            not holds(condition),
            payload,
            queue=queue,
            priority=priority,
            delay=delay,
            at=at,
            connection=connection,
            **fields,
        )

    @classmethod
    def dispatch_unless_blocking(
        cls,
        condition: Condition,
        payload: P | Mapping[str, Any] | None = None,
        /,
        *,
        queue: str | None = None,
        priority: int | None = None,
        delay: Delay | None = None,
        at: datetime | None = None,
        connection: Dispatcher | None = None,
        **fields: Any,
    ) -> DispatchResult | None:
        """Blocking twin of ``dispatch_unless``."""
        return cls.dispatch_if_blocking(
            not holds(condition),
            payload,
            queue=queue,
            priority=priority,
            delay=delay,
            at=at,
            connection=connection,
            **fields,
        )

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

    @classmethod
    async def result(
        cls,
        job_id: str,
        timeout: float = 30.0,  # noqa: ASYNC109
        *,
        connection: Dispatcher | None = None,
    ) -> Any:
        """Wait up to ``timeout`` seconds for the result of job ``job_id`` of this class;
        return it read into ``handle``'s return type (a pydantic model when annotated so).

        Raises:
            JobFailedError: the job ended in the failed store.
            TimeoutError: the job has not completed within ``timeout``.
            JobNotFoundError: no job has that id, or its result was not kept or expired.
        """
        return decode_result(cls, await _results_of(connection).result_json(job_id, timeout))

    @classmethod
    def result_blocking(
        cls, job_id: str, timeout: float = 30.0, *, connection: Dispatcher | None = None
    ) -> Any:
        """Blocking twin of ``result``."""
        return decode_result(cls, _results_of(connection).result_json_blocking(job_id, timeout))


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


def _results_of(connection: Dispatcher | None) -> ResultSource:
    source = _connection(connection)
    if not isinstance(source, ResultSource):
        raise ConfigurationError(f"{source!r} cannot fetch job results")
    return source


def _result(stored: str) -> DispatchResult:
    return stored if isinstance(stored, DispatchResult) else DispatchResult(stored, stored)
