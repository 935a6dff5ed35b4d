"""OpenTelemetry spans for dispatch and execution (``pip install gello[otel]``).

Follows the messaging semantic conventions: a PRODUCER ``send <queue>`` span per dispatched
job (for a bulk push, a CLIENT ``send`` span with one PRODUCER ``create <queue>`` span per
job), whose context is injected into the envelope's ``trace`` field; and a CONSUMER
``process <queue>`` span per attempt, parented by and linked to that context, so the
execution joins the trace of the request that dispatched it. The process span is the
current span while ``handle`` runs: spans the job makes are its children.

Only this module imports OpenTelemetry, and nothing imports it unless tracing is asked
for (``QUEUE_TRACING=true`` for ``queue:work``, or ``instrument_*`` in code). Exporters
and the tracer provider are the application's (or ``opentelemetry-instrument``'s) choice.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import orjson
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.trace import Link, SpanKind, Status, StatusCode, TracerProvider

from gello_queue.core.envelope import Envelope
from gello_queue.dispatch_hooks import PushNext, add_push_layer, add_reserve_hook
from gello_queue.events import (
    JobFailed,
    JobLeaseLost,
    JobProcessed,
    JobReleased,
    JobReserved,
    JobRetrying,
)
from gello_queue.ports import Reservation

if TYPE_CHECKING:
    from gello_queue.queue import Queue
    from gello_queue.worker.runtime import Worker

SYSTEM = "gello"
MAX_OPEN = 10_000
"""Traced attempts kept open at once; a lost lease ends no span, so the map is capped."""


def _tracer(provider: TracerProvider | None) -> trace.Tracer:
    return trace.get_tracer("gello_queue", tracer_provider=provider)


def _attrs(env: Envelope, operation: str, kind: str) -> dict[str, Any]:
    return {
        "messaging.system": SYSTEM,
        "messaging.operation.name": operation,
        "messaging.operation.type": kind,
        "messaging.destination.name": env.queue,
        "messaging.message.id": env.id,
        "gello.job.name": env.name,
    }


def instrument_producer(queue: Queue, *, tracer_provider: TracerProvider | None = None) -> None:
    """Trace every push of ``queue`` and carry the trace context inside each envelope."""
    if getattr(queue, "_gello_traced", False):
        return  # one set of spans per queue, however many callers ask
    queue._gello_traced = True  # type: ignore[attr-defined]
    tracer = _tracer(tracer_provider)

    async def layer(envelopes: Sequence[Envelope], call_next: PushNext) -> list[str]:
        if len(envelopes) == 1:
            env = envelopes[0]
            with tracer.start_as_current_span(
                f"send {env.queue}", kind=SpanKind.PRODUCER, attributes=_attrs(env, "send", "send")
            ):
                return await call_next([_stamped(env)])
        with tracer.start_as_current_span(
            "send",
            kind=SpanKind.CLIENT,
            attributes={
                "messaging.system": SYSTEM,
                "messaging.operation.name": "send",
                "messaging.operation.type": "send",
                "messaging.batch.message_count": len(envelopes),
            },
        ):
            stamped = []
            for env in envelopes:
                with tracer.start_as_current_span(
                    f"create {env.queue}",
                    kind=SpanKind.PRODUCER,
                    attributes=_attrs(env, "create", "create"),
                ):
                    stamped.append(_stamped(env))
            return await call_next(stamped)

    add_push_layer(queue, layer)


def _stamped(env: Envelope) -> Envelope:
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return env.with_changes(trace={**env.trace, **carrier}) if carrier else env


class ExecutionTracer:
    """Listener that wraps each attempt in a CONSUMER span (see the module docstring)."""

    def __init__(self, tracer_provider: TracerProvider | None = None) -> None:
        self.tracer = _tracer(tracer_provider)
        self._carriers: dict[str, dict[str, str]] = {}
        self._open: dict[str, tuple[trace.Span, object]] = {}

    def on_reserve(self, reservations: list[Reservation]) -> None:
        """Keep each reserved job's trace carrier until its ``JobReserved`` event."""
        for res in reservations:
            try:
                data = orjson.loads(res.body)
            except orjson.JSONDecodeError:
                continue
            carrier = data.get("trace") if isinstance(data, dict) else None
            if carrier:
                self._carriers[res.id] = carrier
        if len(self._carriers) > MAX_OPEN:
            self._carriers.clear()

    def __call__(self, event: Any) -> None:
        match event:
            case JobReserved():
                self._start(event)
            case JobProcessed():
                self._end(event.id, None)
            case JobRetrying():
                self._end(event.id, event.error, retrying=True)
            case JobFailed():
                self._end(event.id, event.error or event.reason)
            case JobReleased():
                self._end(event.id, None, released=event.reason or "released")
            case JobLeaseLost():
                self._end(event.id, f"lease lost: {event.refused} refused")
            case _:
                pass

    def _start(self, event: JobReserved) -> None:
        carrier = self._carriers.pop(event.id, None)
        parent = propagate.extract(carrier) if carrier else None
        links = []
        if parent is not None:
            sent = trace.get_current_span(parent).get_span_context()
            if sent.is_valid:
                links.append(Link(sent))
        span = self.tracer.start_span(
            f"process {event.queue}",
            context=parent,
            kind=SpanKind.CONSUMER,
            links=links,
            attributes={
                "messaging.system": SYSTEM,
                "messaging.operation.name": "process",
                "messaging.operation.type": "process",
                "messaging.destination.name": event.queue,
                "messaging.message.id": event.id,
                "gello.job.name": event.name,
                "gello.job.attempt": event.attempt,
                "gello.job.wait_s": round(event.wait_s, 6),
            },
        )
        # Emitted inside the attempt's own task: attaching makes the span current for
        # ``handle`` (and for its threads, which copy the context).
        token = otel_context.attach(trace.set_span_in_context(span))
        if len(self._open) >= MAX_OPEN:
            self._open.clear()
        self._open[event.id] = (span, token)

    def _end(
        self, job_id: str, error: str | None, *, retrying: bool = False, released: str = ""
    ) -> None:
        found = self._open.pop(job_id, None)
        if found is None:
            return
        span, token = found
        if error:
            span.set_status(Status(StatusCode.ERROR, error[:500]))
            span.set_attribute("gello.job.retrying", retrying)
        if released:
            span.set_attribute("gello.job.released", released)
        span.end()
        # Ended from another task (a stopping worker releasing the job): nothing to restore.
        if trace.get_current_span() is span:
            otel_context.detach(token)  # type: ignore[arg-type]


def instrument_worker(worker: Worker, *, tracer_provider: TracerProvider | None = None) -> None:
    """Trace ``worker``'s attempts, and the dispatches its jobs make."""
    from gello_queue.queue import default_queue

    execution = ExecutionTracer(tracer_provider)
    add_reserve_hook(worker.connection, execution.on_reserve)
    worker.events.subscribe(execution)
    for queue in {id(q): q for q in (worker.connection, default_queue())}.values():
        instrument_producer(queue, tracer_provider=tracer_provider)
