"""``queue:why``: where one job is and what it waits for, in plain words.

Everything is read through the driver port (``find``, ``failed_find``, ``paused``,
``workers``, ``counts``, ``now``, and ``lock_owner`` for a job an overlap lock holds
back), so the answer is the same on every driver. The progress a job reported is read
from the ``ProgressStore`` and shown in every state. Completed jobs are deleted by every
driver: one is told from an id that never existed only by what it left (a kept result,
or progress), as ``Queue.status`` tells it.
"""

from __future__ import annotations

import contextlib
import shlex
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from gello_queue.core.encryption import ENCRYPTED
from gello_queue.core.envelope import Envelope
from gello_queue.core.errors import EnvelopeError
from gello_queue.core.states import JobState
from gello_queue.job_status import job_status
from gello_queue.middleware import HeldBack, held_back
from gello_queue.ports import JobRecord, Progress, ProgressStore, QueueDriver, WorkerRecord

UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class WorkerHint:
    """How to start a worker that can run this project's jobs: every printed hint names
    the app module (a worker without it fails every job as unknown) and the connection
    the jobs are on, so the command works when pasted anywhere."""

    app: str | None = None
    """The app module; None prints a placeholder to replace."""
    connection: str | None = None
    """The connection (``QUEUE_DRIVER`` name) the worker should serve, if not the default."""
    url: str | None = None
    """A connection URL given as ``QUEUE_URL=`` (a demo's file; never one with a secret)."""

    def command(self, queue: str | None = None) -> str:
        """``[QUEUE_URL=URL] gello queue:work [CONNECTION] --app APP [--queue QUEUE]``."""
        parts = [f"QUEUE_URL={self.url}"] if self.url else []
        parts += ["gello", "queue:work"]
        if self.connection:
            parts.append(self.connection)
        parts += ["--app", self.app or "MODULE"]
        if queue:
            parts += ["--queue", queue]
        return " ".join(shlex.quote(p) for p in parts)


@dataclass(frozen=True, slots=True)
class Diagnosis:
    """The answer for one job id: a state, a one-line summary and the reasons behind it."""

    id: str
    state: str
    """pending, scheduled, reserved, completed, failed or unknown."""
    summary: str
    reasons: list[str] = field(default_factory=list)
    """Plain sentences, most important first."""
    commands: list[str] = field(default_factory=list)
    """Commands that would move the job along."""
    queue: str | None = None
    name: str | None = None
    attempts: int | None = None
    max_attempts: int | None = None
    payload_version: int | None = None
    """The version of the job class that wrote the payload (``Job.version``)."""
    facts: dict[str, Any] = field(default_factory=dict)
    """State-specific numbers (due_at, heartbeat_age_s, lease_expires_at...)."""

    def to_json(self) -> dict[str, Any]:
        """The ``--json`` form."""
        return asdict(self)

    def text(self) -> str:
        """The human form: the summary, then one reason per line, then commands."""
        lines = [f"{self.id}: {self.summary}"]
        if self.payload_version is not None:
            lines.append(f"  {self.name} payload version {self.payload_version}")
        lines += [f"  - {reason}" for reason in self.reasons]
        lines += [f"  $ {command}" for command in self.commands]
        return "\n".join(lines)


def _at(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))


def _span(seconds: float) -> str:
    seconds = max(seconds, 0.0)
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


async def diagnose(driver: QueueDriver, job_id: str, hint: WorkerHint | None = None) -> Diagnosis:
    """Explain where job ``job_id`` is and what it waits for; a worker command it
    suggests is built by ``hint``."""
    hint = hint or WorkerHint()
    found = await _where(driver, job_id, hint)
    if isinstance(driver, ProgressStore):
        progress = (await driver.progress_get([job_id])).get(job_id)
        if progress is not None:
            _progress(found, progress)
    return found


def _progress(found: Diagnosis, progress: Progress) -> None:
    """Say how far the job got, as it last reported."""
    found.facts["progress"] = {
        "fraction": progress.fraction,
        "message": progress.message,
        "updated_at": progress.updated_at,
    }
    what = f" ({progress.message})" if progress.message else ""
    age = _span(time.time() - progress.updated_at)
    found.reasons.insert(0, f"progress {progress.percent:.0f}%{what}, reported {age} ago")


async def _where(driver: QueueDriver, job_id: str, hint: WorkerHint) -> Diagnosis:
    record = await driver.find(job_id)
    if record is None:
        return await _not_queued(driver, job_id)
    now = await driver.now()
    env = _envelope(record)
    base: dict[str, Any] = {
        "id": job_id,
        "queue": record.queue,
        "name": env.name if env else None,
        "attempts": record.attempts,
        "max_attempts": env.max_attempts if env else None,
        "payload_version": env.payload_version if env else None,
    }
    if record.state is JobState.RESERVED:
        found = await _reserved(driver, record, env, now, base, hint)
    else:
        serving = await _serving(driver, record.queue)
        if record.state is JobState.SCHEDULED:
            found = await _scheduled(driver, record, env, now, serving, base, hint)
        else:
            found = await _pending(driver, record, now, serving, base, hint)
        if env is not None and env.unique_key is not None:
            _unique(found, env, now)
    if env is not None:
        _sealed(found, env)
    return found


def _sealed(found: Diagnosis, env: Envelope) -> None:
    """Say that the payload is encrypted: no inspection tool shows it unless asked with
    ``--reveal`` by a process that holds the key."""
    if env.encrypted is not None:
        found.facts["payload"] = ENCRYPTED
        found.reasons.append("its payload is encrypted (QUEUE_ENCRYPTION_KEY)")


_UNIQUE_HOLD = {
    "processed": "until it is processed: dispatches with the same key return this job's id",
    "processing": "until a worker starts it: dispatches with the same key return this job's"
    " id until then",
    "debounce": "(debounce): a dispatch with the same key replaces this job, which then never"
    " runs, and returns the new job's id",
}


def _unique(found: Diagnosis, env: Envelope, now: float) -> None:
    """Say what the unique key a waiting job holds does to other dispatches."""
    key = env.unique_key
    mode = env.unique_mode or "processed"
    # The lock's life (unique_for) started when the job was stored, about its creation.
    until = None if env.unique_for is None else env.created_at + env.unique_for
    if until is not None and until <= now:
        found.reasons.append(
            f"its unique key {key!r} expired at about {_at(until)}: dispatches with the same"
            " key store new jobs"
        )
        return
    found.facts.update(unique_key=key, unique_mode=mode)
    hold = _UNIQUE_HOLD.get(mode, _UNIQUE_HOLD["processed"])
    line = f"it holds unique key {key!r} {hold}"
    if until is not None:
        found.facts["unique_until"] = until
        line += f" (the key expires at about {_at(until)})"
    found.reasons.append(line)


def _envelope(record: JobRecord) -> Envelope | None:
    try:
        return Envelope.decode(record.body)
    except EnvelopeError:
        return None


@dataclass(frozen=True, slots=True)
class _Serving:
    paused: bool
    workers: list[WorkerRecord]
    first: list[WorkerRecord]
    """Workers for which the queue comes first in their strict order."""


async def _serving(driver: QueueDriver, queue: str) -> _Serving:
    paused = queue in await driver.paused()
    workers = [w for w in await driver.workers() if queue in w.queues]
    return _Serving(paused, workers, [w for w in workers if w.queues[0] == queue])


def _blockers(queue: str, serving: _Serving, hint: WorkerHint) -> tuple[list[str], list[str]]:
    """Reasons a runnable job of ``queue`` would still not start, and commands that help."""
    reasons: list[str] = []
    commands: list[str] = []
    if serving.paused:
        reasons.append(f"queue {queue!r} is paused: workers skip it until it is resumed")
        commands.append(f"gello queue:resume {queue}")
    if not serving.workers:
        reasons.append(f"no live worker serves queue {queue!r}")
        commands.append(hint.command(queue))
    else:
        names = ", ".join(w.name for w in serving.workers[:5])
        reasons.append(f"{len(serving.workers)} live worker(s) serve queue {queue!r}: {names}")
        held = [w for w in serving.workers if w.state == "paused"]
        if held and len(held) == len(serving.workers):
            reasons.append("every worker serving it is paused (SIGUSR2); send SIGCONT to resume")
        if not serving.first:
            before = sorted({q for w in serving.workers for q in w.queues[: w.queues.index(queue)]})
            reasons.append(
                f"its workers take it only when these queues are empty: {', '.join(before)}"
            )
    return reasons, commands


async def _pending(
    driver: QueueDriver,
    record: JobRecord,
    now: float,
    serving: _Serving,
    base: dict[str, Any],
    hint: WorkerHint,
) -> Diagnosis:
    counts = (await driver.counts()).get(record.queue)
    waiting = now - record.available_at
    reasons, commands = _blockers(record.queue, serving, hint)
    facts: dict[str, Any] = {
        "available_at": record.available_at,
        "waiting_s": round(max(waiting, 0.0), 3),
        "paused": serving.paused,
        "workers": [w.name for w in serving.workers],
    }
    if counts is not None:
        facts["queue_pending"] = counts.pending
        reasons.append(f"{counts.pending} job(s) are pending on {record.queue!r}")
    if serving.paused or not serving.workers:
        summary = f"pending on {record.queue!r} for {_span(waiting)}, but nothing will run it"
    else:
        summary = f"pending on {record.queue!r} for {_span(waiting)}: waiting for a free worker"
    return Diagnosis(
        state=str(JobState.PENDING), summary=summary, reasons=reasons, commands=commands,
        facts=facts, **base,
    )  # fmt: skip


async def _scheduled(
    driver: QueueDriver,
    record: JobRecord,
    env: Envelope | None,
    now: float,
    serving: _Serving,
    base: dict[str, Any],
    hint: WorkerHint,
) -> Diagnosis:
    due = record.available_at
    reason = env.reason if env else None
    max_attempts = env.max_attempts if env else None
    facts: dict[str, Any] = {"due_at": due, "due_in_s": round(due - now, 3), "reason": reason}
    extra: list[str] = []
    limit = held_back(reason)
    if limit is not None:
        why = await _limited(driver, limit, facts, extra)
    elif record.attempts > 0 and reason:
        facts["kind"] = "backoff"
        why = f"backing off after attempt {record.attempts} of {max_attempts}: {reason}"
    elif reason:
        facts["kind"] = "released"
        why = f"released by the job: {reason}"
    else:
        facts["kind"] = "delayed"
        why = "delayed at dispatch"
    summary = f"scheduled on {record.queue!r}: due at {_at(due)} (in {_span(due - now)}), {why}"
    reasons, commands = _blockers(record.queue, serving, hint)
    reasons = extra + [f"when it is due: {r}" for r in reasons]
    return Diagnosis(
        state=str(JobState.SCHEDULED), summary=summary, reasons=reasons, commands=commands,
        facts=facts, **base,
    )  # fmt: skip


async def _limited(
    driver: QueueDriver, limit: HeldBack, facts: dict[str, Any], reasons: list[str]
) -> str:
    """Facts and reasons for a job released by ``WithoutOverlapping`` or ``RateLimited``;
    return the summary's tail."""
    if limit.kind == "rate_limited":
        assert limit.until is not None
        facts.update(kind="rate_limited", limited_until=limit.until, rate_key=limit.key)
        return f"rate-limited until {_at(limit.until)} (limit {limit.key!r})"
    # The lock's holder now, which may have changed since the job was released.
    owner = await driver.lock_owner(limit.lock)
    holder = owner or limit.held_by
    facts.update(kind="overlap", overlap_key=limit.key, held_by=holder, lock_held=owner is not None)
    who = f"job {holder}" if holder else "another job"
    if owner is None:
        reasons.append(
            f"the lock is free now ({who} released it or it expired): the job takes it when"
            " it is due"
        )
        return f"held back by an overlap lock (key {limit.key}) that {who} held; it is free now"
    if (running := await driver.find(owner)) is not None:
        reasons.append(f"job {owner} holds the lock and is {running.state} on {running.queue!r}")
    return f"held by an overlap lock (key {limit.key}) held by {who}"


async def _reserved(
    driver: QueueDriver,
    record: JobRecord,
    env: Envelope | None,
    now: float,
    base: dict[str, Any],
    hint: WorkerHint,
) -> Diagnosis:
    workers = await driver.workers()
    holder = next((w for w in workers if w.id == record.reserved_by), None)
    lease = record.lease_expires_at
    last = env is not None and record.attempts >= env.max_attempts
    fate = "failed (it is on its last attempt)" if last else "put back on its queue"
    facts: dict[str, Any] = {
        "worker_id": record.reserved_by,
        "lease_expires_at": lease,
        "rescued_at": lease,
    }
    reasons = [f"attempt {record.attempts} of {base['max_attempts']}"]
    commands: list[str] = []
    rescue = f"rescued at {_at(lease)} and {fate}" if lease is not None else f"rescued and {fate}"
    if holder is not None:
        age = max(now - holder.last_seen, 0.0)
        facts.update(worker=holder.name, host=holder.host, pid=holder.pid)
        facts["heartbeat_age_s"] = round(age, 3)
        summary = (
            f"reserved by worker {holder.name} (pid {holder.pid} on {holder.host}), "
            f"whose heartbeat is {_span(age)} old"
        )
        reasons.append(f"running now; if the worker stays silent the job is {rescue}")
    else:
        facts["heartbeat_age_s"] = None
        summary = f"reserved by worker {record.reserved_by}, which has no live heartbeat"
        reasons.append(f"its worker is gone: the job will be {rescue} by any running worker")
        if not workers:
            reasons.append("no worker is running to rescue it")
            commands.append(hint.command(record.queue))
    return Diagnosis(
        state=str(JobState.RESERVED), summary=summary, reasons=reasons, commands=commands,
        facts=facts, **base,
    )  # fmt: skip


async def _not_queued(driver: QueueDriver, job_id: str) -> Diagnosis:
    status = await job_status(driver, job_id)
    if status.state == "completed":
        kept = "; its result is kept" if status.has_result else ""
        return Diagnosis(
            id=job_id,
            state=status.state,
            summary=f"completed{kept}",
            reasons=["completed jobs leave their queue; this one left a result or progress"],
        )
    failed = await driver.failed_find(job_id)
    if failed is None:
        return Diagnosis(
            id=job_id,
            state=UNKNOWN,
            summary="not found: completed, or never existed",
            reasons=["completed jobs are deleted, so a completed job and an unknown id look alike"],
        )
    max_attempts = payload_version = None
    reasons = [f"failed after {failed.attempts} attempt(s) on queue {failed.queue!r}"]
    with contextlib.suppress(EnvelopeError):
        stored = Envelope.decode(failed.body)
        max_attempts, payload_version = stored.max_attempts, stored.payload_version
        if stored.reason:
            reasons.append(f"given up: {stored.reason}")
        if stored.encrypted is not None:
            reasons.append("its payload is encrypted (QUEUE_ENCRYPTION_KEY)")
    return Diagnosis(
        id=job_id,
        state=str(JobState.FAILED),
        summary=f"in the failed store since {_at(failed.failed_at)}: "
        f"{failed.exception}: {failed.message}",
        reasons=reasons,
        commands=[f"gello queue:retry {job_id}", f"gello queue:forget {job_id}"],
        queue=failed.queue,
        name=failed.name,
        attempts=failed.attempts,
        max_attempts=max_attempts,
        payload_version=payload_version,
        facts={
            "failed_at": failed.failed_at,
            "exception": failed.exception,
            "message": failed.message,
        },
    )
