"""The stored message: a versioned JSON envelope, never pickle.

Drivers store the encoded envelope as an opaque body next to the few columns they
index (queue, priority, available_at, attempts). ``attempts`` is owned by the driver
(counted atomically at reserve), so the body's copy is refreshed from the driver's.
"""

from __future__ import annotations

import dataclasses
import operator
import time
from dataclasses import dataclass, field
from typing import Any

import orjson
import uuid_utils

from gello_queue.core.errors import ConfigurationError, EnvelopeError
from gello_queue.core.retry import normalize_backoff

ENVELOPE_VERSION = 1
MAX_DEPTH = 254
"""Levels of nesting orjson writes (it reads 1,024): a stored body nested deeper could be
run but never stored again (a retry, a failure), so it is refused when read."""

JsonDict = dict[str, Any]


def new_id() -> str:
    """Return a time-ordered job id (UUIDv7), so ids sort by creation time."""
    return str(uuid_utils.uuid7())


@dataclass(slots=True)
class Envelope:
    """One job as it travels through a backend.

    The fields after ``created_at`` are room for orchestration features (unique jobs,
    batches, chains, middleware, tracing, tags): empty by default and cheap to carry.
    Treat an envelope as immutable and derive changed copies with ``with_changes``; it is
    not frozen only because frozen dataclasses cost four times as much to build, and one
    is built per dispatched job.
    """

    id: str
    name: str
    queue: str
    payload: JsonDict
    payload_version: int = 1
    """The version of the job class that wrote ``payload`` (its ``Job.version``); bodies
    written without it are version 1. A worker upcasts an older one before validating it."""
    attempts: int = 0
    """Attempts started so far; counted when the job is reserved."""
    max_attempts: int = 3
    priority: int = 0
    """0..5, higher runs first."""
    timeout: float | None = None
    """Seconds one attempt may run; ``None`` means the worker's default."""
    backoff: Any = None
    """A backoff spec (see ``core.retry.backoff_from_spec``); ``None`` means the worker's."""
    retry_until: float | None = None
    """Epoch seconds after which no retry happens."""
    available_at: float = 0.0
    created_at: float = 0.0
    unique_key: str | None = None
    unique_mode: str | None = None
    """How ``push`` treats a held key: ``None``/"processed" (the holder wins until it is
    completed or failed), "processing" (until it is reserved), "debounce" (this job
    replaces a holder that has not started). See ``gello_queue.core.unique``."""
    unique_for: float | None = None
    """Seconds the unique lock lives at most, judged by the backend's clock."""
    batch_id: str | None = None
    chain: list[JsonDict] = field(default_factory=list)
    """Envelopes (as dicts) of the links to dispatch after this job completes."""
    middleware: JsonDict = field(default_factory=dict)
    """Orchestration state: ``once`` (a claim taken before running), ``chain_catch``."""
    trace: dict[str, str] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    reason: str | None = None
    """Why the job waits (a release reason) or last failed; shown by status tools."""
    exceptions: int = 0
    """Attempts that ended in an unhandled exception so far (releases are not counted),
    for ``max_exceptions``; a message stored before this field existed reads as 0."""
    encrypted: str | None = None
    """The payload as a Fernet token when the job is encrypted (``payload`` is then
    empty; see ``gello_queue.core.encryption``); ``None``: the payload is plain."""
    v: int = ENVELOPE_VERSION
    """The envelope format's version."""

    def with_changes(self, **changes: Any) -> Envelope:
        """Return a copy with the given fields replaced.

        Copied field by field rather than with ``dataclasses.replace``, which re-runs
        ``__init__`` through a keyword dict and cost a retry of 100,000 failed jobs
        seconds of its ten.

        Raises:
            TypeError: a name in ``changes`` is not a field.
        """
        values = list(_field_values(self))
        for name, value in changes.items():
            try:
                values[_FIELD_INDEX[name]] = value
            except KeyError:
                raise TypeError(f"Envelope has no field {name!r}") from None
        return Envelope(*values)

    def to_dict(self) -> JsonDict:
        """Return the JSON-ready form."""
        return {name: getattr(self, name) for name in _FIELDS}

    def encode(self) -> bytes:
        """Serialise to JSON bytes: the fields in declaration order, as ``to_dict``.

        Spelled out because orjson dumps this dict literal in three quarters of the time
        it takes to walk the dataclass natively, on every pushed job; a test pins the
        bytes to the native ones.
        """
        return orjson.dumps(
            {
                "id": self.id,
                "name": self.name,
                "queue": self.queue,
                "payload": self.payload,
                "payload_version": self.payload_version,
                "attempts": self.attempts,
                "max_attempts": self.max_attempts,
                "priority": self.priority,
                "timeout": self.timeout,
                "backoff": self.backoff,
                "retry_until": self.retry_until,
                "available_at": self.available_at,
                "created_at": self.created_at,
                "unique_key": self.unique_key,
                "unique_mode": self.unique_mode,
                "unique_for": self.unique_for,
                "batch_id": self.batch_id,
                "chain": self.chain,
                "middleware": self.middleware,
                "trace": self.trace,
                "tags": self.tags,
                "reason": self.reason,
                "exceptions": self.exceptions,
                "encrypted": self.encrypted,
                "v": self.v,
            }
        )

    @classmethod
    def from_dict(cls, data: Any) -> Envelope:
        """Build an envelope from its JSON form.

        Raises:
            EnvelopeError: the data is not a gello envelope of a known version.
        """
        if not isinstance(data, dict):
            raise EnvelopeError(f"expected a JSON object, got {type(data).__name__}")
        version = data.get("v")
        if version != ENVELOPE_VERSION:
            raise EnvelopeError(f"unsupported envelope version {version!r}")
        try:
            payload = data["payload"]
            if not isinstance(payload, dict):
                raise EnvelopeError("field 'payload' must be a JSON object")
            return cls(
                id=str(data["id"]),
                name=str(data["name"]),
                queue=str(data["queue"]),
                payload=payload,
                payload_version=_payload_version(data.get("payload_version", 1)),
                attempts=int(data.get("attempts", 0)),
                max_attempts=int(data.get("max_attempts", 1)),
                priority=int(data.get("priority", 0)),
                timeout=_opt_float(data.get("timeout")),
                backoff=_backoff(data.get("backoff")),
                retry_until=_opt_float(data.get("retry_until")),
                available_at=float(data.get("available_at", 0.0)),
                created_at=float(data.get("created_at", 0.0)),
                unique_key=data.get("unique_key"),
                unique_mode=data.get("unique_mode"),
                unique_for=_opt_float(data.get("unique_for")),
                batch_id=data.get("batch_id"),
                chain=_chain(data.get("chain")),
                middleware=dict(data.get("middleware") or {}),
                trace=dict(data.get("trace") or {}),
                tags=list(data.get("tags") or ()),
                reason=data.get("reason"),
                exceptions=int(data.get("exceptions") or 0),
                encrypted=_opt_str(data.get("encrypted")),
            )
        except KeyError as exc:
            raise EnvelopeError(f"missing field {exc.args[0]!r}") from None
        except (TypeError, ValueError) as exc:
            raise EnvelopeError(f"malformed field: {exc}") from None

    @classmethod
    def decode(cls, body: bytes | str) -> Envelope:
        """Parse JSON bytes into an envelope.

        Raises:
            EnvelopeError: the body is not JSON or not a gello envelope.
        """
        return cls.from_dict(load_json(body))


def load_json(body: bytes | str) -> Any:
    """Parse a stored body: JSON that can be written back.

    Raises:
        EnvelopeError: the body is not JSON, or is nested deeper than ``MAX_DEPTH``.
    """
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise EnvelopeError(f"not valid JSON ({exc})") from None
    # Each level opens a bracket: most bodies are too short, or hold too few, to be deep,
    # and only the others pay for writing the data once to find out.
    if len(body) > 2 * MAX_DEPTH and _brackets(body) > MAX_DEPTH:
        try:
            orjson.dumps(data)
        except orjson.JSONEncodeError:
            raise EnvelopeError(f"nested deeper than {MAX_DEPTH} levels") from None
    return data


def _brackets(body: bytes | str) -> int:
    if isinstance(body, str):
        return body.count("[") + body.count("{")
    return body.count(b"[") + body.count(b"{")


def _backoff(spec: Any) -> Any:
    if spec is None or type(spec) is float:  # the usual stored forms, as normalised
        return spec
    try:
        return normalize_backoff(spec)
    except ConfigurationError as exc:
        raise EnvelopeError(f"malformed field 'backoff': {exc}") from None


def _chain(steps: Any) -> list[JsonDict]:
    """The links of a chain's rest, each one a job's envelope or a nested batch."""
    if not steps:
        return []
    if not isinstance(steps, list):
        raise EnvelopeError("field 'chain' must be a list of links")
    for n, step in enumerate(steps, 1):
        if not isinstance(step, dict):
            raise EnvelopeError(f"chain link {n} is not a JSON object")
        if "batch" in step:
            if not isinstance(step["batch"], dict) or "id" not in step["batch"]:
                raise EnvelopeError(f"chain link {n} is a batch without an id")
            continue
        try:
            Envelope.from_dict(step)
        except EnvelopeError as exc:
            raise EnvelopeError(f"chain link {n}: {exc}") from None
    return steps


_FIELDS = tuple(f.name for f in dataclasses.fields(Envelope))
_FIELD_INDEX = {name: n for n, name in enumerate(_FIELDS)}
_field_values = operator.attrgetter(*_FIELDS)


def _payload_version(value: Any) -> int:
    if type(value) is not int or value < 1:
        raise EnvelopeError(f"field 'payload_version' must be a whole number >= 1, got {value!r}")
    return value


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)


def now_s() -> float:
    """Wall-clock epoch seconds; the one place the domain reads the clock by default."""
    return time.time()
