"""OpenTelemetry: execution spans join the trace of the dispatch, via the envelope."""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from pathlib import Path
from typing import Any

from obs_harness import GELLO
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from pydantic import BaseModel

from gello_queue import Batch, Chain, Job, Queue, Worker
from gello_queue.core.envelope import Envelope
from gello_queue.events import Events, JobDispatched
from gello_queue.tracing import instrument_producer, instrument_worker

exporter = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))
tracer = provider.get_tracer("app")


class T(BaseModel):
    n: int


class TracedJob(Job[T]):
    queue = "traced"
    tries = 1

    async def handle(self, payload: T) -> None:
        with tracer.start_as_current_span("inside handle"):
            if payload.n < 0:
                raise ValueError("negative")


async def run_worker(queue: Queue) -> None:
    worker = Worker(
        ["traced"], connection=queue, stop_when_empty=True, sleep_s=0.01, events=Events()
    )
    instrument_worker(worker, tracer_provider=provider)
    await asyncio.wait_for(worker.start(), 10)


async def test_execution_links_to_the_request_that_dispatched_it() -> None:
    exporter.clear()
    queue = Queue(f"memory://trace-{uuid.uuid4().hex}")
    instrument_producer(queue, tracer_provider=provider)
    with tracer.start_as_current_span("POST /signup", kind=SpanKind.SERVER) as request:
        job_id = await TracedJob.dispatch(n=1, connection=queue)
    record = await (await queue.driver()).find(job_id)
    assert record is not None
    assert "traceparent" in Envelope.decode(record.body).trace
    await run_worker(queue)

    spans = {s.name: s for s in exporter.get_finished_spans()}
    send, process, inner = spans["send traced"], spans["process traced"], spans["inside handle"]
    trace_id = request.get_span_context().trace_id
    assert {s.context.trace_id for s in (send, process, inner)} == {trace_id}
    assert send.kind is SpanKind.PRODUCER
    assert send.parent is not None
    assert send.parent.span_id == request.get_span_context().span_id
    assert process.kind is SpanKind.CONSUMER
    assert process.parent is not None
    assert process.parent.span_id == send.context.span_id
    assert [link.context.span_id for link in process.links] == [send.context.span_id]
    assert inner.parent is not None
    assert inner.parent.span_id == process.context.span_id
    attrs: Any = process.attributes
    assert attrs["messaging.system"] == "gello"
    assert attrs["messaging.operation.type"] == "process"
    assert attrs["messaging.destination.name"] == "traced"
    assert attrs["messaging.message.id"] == job_id
    assert send.attributes is not None
    assert send.attributes["messaging.message.id"] == job_id
    assert trace.get_current_span() is trace.INVALID_SPAN


async def test_bulk_dispatch_and_a_failing_attempt() -> None:
    exporter.clear()
    queue = Queue(f"memory://trace-{uuid.uuid4().hex}")
    instrument_producer(queue, tracer_provider=provider)
    instrument_producer(queue, tracer_provider=provider)  # twice: still one set of spans
    await queue.bulk([TracedJob.make(n=1), TracedJob.make(n=-1)])
    await run_worker(queue)
    spans = exporter.get_finished_spans()
    names = sorted(s.name for s in spans)
    assert names == sorted(
        [
            "send",
            "create traced",
            "create traced",
            "process traced",
            "process traced",
            "inside handle",
            "inside handle",
        ]
    )
    creates = [s for s in spans if s.name == "create traced"]
    processes = [s for s in spans if s.name == "process traced"]
    assert {p.parent.span_id for p in processes if p.parent} == {c.context.span_id for c in creates}
    failed = [p for p in processes if p.status.status_code is StatusCode.ERROR]
    assert len(failed) == 1
    assert "negative" in (failed[0].status.description or "")


def by_job(name: str) -> dict[str, Any]:
    """Finished spans called ``name``, by the id of the job they are about."""
    found = {}
    for span in exporter.get_finished_spans():
        if span.name == name and span.attributes is not None:
            found[span.attributes["messaging.message.id"]] = span
    return found


async def test_each_batch_member_gets_a_dispatch_span_its_execution_joins() -> None:
    exporter.clear()
    queue = Queue(f"memory://trace-{uuid.uuid4().hex}")
    instrument_producer(queue, tracer_provider=provider)
    dispatched: list[JobDispatched] = []
    queue.events.subscribe(dispatched.append)
    with tracer.start_as_current_span("POST /import", kind=SpanKind.SERVER) as request:
        await Batch([TracedJob.make(n=i) for i in range(3)], then=TracedJob.make(n=9)).dispatch(
            queue
        )
    members = [e.id for e in dispatched]
    assert len(members) == 3
    await run_worker(queue)

    creates, processes = by_job("create traced"), by_job("process traced")
    (send,) = [s for s in exporter.get_finished_spans() if s.name == "send"]
    assert send.parent is not None
    assert send.parent.span_id == request.get_span_context().span_id
    assert set(creates) == set(members)
    for job_id in members:
        create, process = creates[job_id], processes[job_id]
        assert create.parent is not None
        assert create.parent.span_id == send.context.span_id
        assert process.parent is not None
        assert process.parent.span_id == create.context.span_id
        assert [link.context.span_id for link in process.links] == [create.context.span_id]
    # The callback, pushed by the worker inside the last member's run, joins the trace too.
    (callback,) = set(processes) - set(members)
    assert processes[callback].context.trace_id == request.get_span_context().trace_id
    assert len(processes) == 4


async def test_links_pushed_by_the_worker_are_traced_from_the_link_before() -> None:
    exporter.clear()
    queue = Queue(f"memory://trace-{uuid.uuid4().hex}")
    instrument_producer(queue, tracer_provider=provider)
    with tracer.start_as_current_span("POST /pipeline", kind=SpanKind.SERVER) as request:
        first = await Chain(
            [TracedJob.make(n=1), Batch([TracedJob.make(n=2), TracedJob.make(n=3)])]
        ).dispatch(queue)
    await run_worker(queue)

    sends, creates, processes = (
        by_job("send traced"),
        by_job("create traced"),
        by_job("process traced"),
    )
    assert set(sends) == {first}
    assert len(creates) == 2  # the batch, pushed by the first link's worker
    for job_id, create in creates.items():
        assert create.parent is not None
        batch_send = next(
            s for s in exporter.get_finished_spans() if s.context.span_id == create.parent.span_id
        )
        assert batch_send.parent is not None
        assert batch_send.parent.span_id == processes[first].context.span_id
        assert processes[job_id].parent is not None
        assert processes[job_id].parent.span_id == create.context.span_id
    trace_id = request.get_span_context().trace_id
    assert {s.context.trace_id for s in processes.values()} == {trace_id}


async def test_untraced_jobs_get_a_root_process_span() -> None:
    exporter.clear()
    queue = Queue(f"memory://trace-{uuid.uuid4().hex}")
    await TracedJob.dispatch(n=1, connection=queue)
    await run_worker(queue)
    (process,) = [s for s in exporter.get_finished_spans() if s.name == "process traced"]
    assert process.parent is None
    assert process.links == ()


def test_importing_gello_loads_no_opentelemetry() -> None:
    code = (
        "import sys, gello_queue, gello_queue.testing, gello_queue.metrics, gello_queue.health;"
        "print(any(m.startswith('opentelemetry') for m in sys.modules))"
    )
    python = str(Path(GELLO).with_name("python"))
    out = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=30)
    assert out.stdout.strip() == "False", out.stderr


def test_a_worker_with_tracing_on_runs_jobs(tmp_path: Path) -> None:
    from obs_harness import clean_env, gello

    env = clean_env(
        QUEUE_URL=f"sqlite:///{tmp_path / 'q.db'}",
        PYTHONPATH=str(Path(__file__).resolve().parent.parent / "cli"),
        GELLO_APP="app_jobs",
        GELLO_TEST_LEDGER=str(tmp_path / "ledger.txt"),
        QUEUE_TRACING="true",
    )
    assert gello(env, "queue:dispatch", "Ledger", "--payload", '{"key": "a"}').returncode == 0
    out = gello(env, "queue:work", "--stop-when-empty")
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "ledger.txt").read_text().count("done a") == 1
