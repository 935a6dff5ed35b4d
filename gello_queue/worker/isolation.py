"""Hard timeouts for blocking handlers: run ``def handle`` in child processes.

asyncio can cancel an ``async def handle`` at its deadline, but nothing can stop a thread
stuck in ``while True: pass``. Blocking handlers therefore run in a small pool of child
processes; at the deadline the child is killed and replaced, and the attempt counts as
failed. Children rebuild the job table by importing the modules that define the parent's
registered jobs (names come from the registry, never from a message); messages between
parent and child are JSON. While ``handle`` runs, the child may send progress messages
(``progress_blocking``) before its reply; the parent hands them to the attempt's
throttle, as it would a thread's.

A child never outlives its worker: it ends the moment the worker does, even mid-job, so a
SIGKILLed worker's job runs only once more, in the worker that rescues it. With a memory
limit, a child whose RSS passes it after a job is replaced by a fresh one.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import multiprocessing
import os
import threading
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import orjson
import psutil

from gello_queue.core.errors import FailJob, GelloError, ReleaseJob, ResultError
from gello_queue.core.registry import JobRegistry
from gello_queue.core.results import encode_result
from gello_queue.observability import get_logger

SPAWN_TIMEOUT_S = 60.0

Progressed = Callable[[float, str | None], Awaitable[None]]
"""Takes a progress value a child reported: fraction and message."""


class HandlerCrashed(GelloError):
    """The child process running a blocking handler died (e.g. ``os._exit``, a segfault)."""


class HardTimeout(GelloError):
    """A blocking handler overran its timeout and its process was killed."""


@dataclass(frozen=True, slots=True)
class RemoteError(Exception):
    """An exception raised by a blocking handler in a child process."""

    type_name: str
    message: str
    remote_traceback: str

    def __str__(self) -> str:
        return self.message


def _job_table(registry: JobRegistry) -> list[tuple[str, str, str]]:
    out = []
    for name in registry.names():
        cls = registry.get(name)
        out.append((name, cls.__module__, cls.__qualname__))
    return out


def _die_with_parent(lifeline: Connection) -> None:
    """End this process as soon as its parent has, even while ``handle`` runs.

    The parent holds the only write end of ``lifeline`` and never writes to it, so a read
    returns end-of-file exactly when the parent exited, however it ended (SIGKILL too),
    and also when it ended before this thread started. The check needs no polling and
    works on every platform, unlike a Linux parent-death signal.
    """

    def watch() -> None:
        with contextlib.suppress(EOFError, OSError):
            lifeline.recv_bytes()
        os._exit(1)  # at once: the job's result has no taker, and its lease will lapse

    threading.Thread(target=watch, name="gello-lifeline", daemon=True).start()


def _child_main(conn: Connection, lifeline: Connection, table: list[tuple[str, str, str]]) -> None:
    _die_with_parent(lifeline)
    jobs: dict[str, Any] = {}
    for name, module, qualname in table:
        try:
            obj: Any = importlib.import_module(module)
            for part in qualname.split("."):
                obj = getattr(obj, part)
            jobs[name] = obj
        except Exception:  # a job that cannot load fails when it is asked for
            continue
    conn.send_bytes(b'{"kind": "ready"}')
    while True:
        try:
            request = orjson.loads(conn.recv_bytes())
        except EOFError:
            return
        conn.send_bytes(orjson.dumps(_run_one(jobs, request, conn)))


class _ToParent:
    """The ``ProgressSink`` of a job in a child: each value goes to the parent, whose
    throttle decides what is written."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    async def report(self, fraction: float, message: str | None) -> None:
        self.report_blocking(fraction, message)

    def report_blocking(self, fraction: float, message: str | None) -> None:
        self.conn.send_bytes(
            orjson.dumps({"kind": "progress", "fraction": fraction, "message": message})
        )


def _run_one(jobs: dict[str, Any], request: dict[str, Any], conn: Connection) -> dict[str, Any]:
    cls = jobs.get(request["name"])
    if cls is None:
        return {"kind": "error", "type": "UnknownJobError", "message": request["name"], "tb": ""}
    job = cls()
    job.job_id, job.attempt = request["id"], request["attempt"]
    job.progress_sink = _ToParent(conn)
    try:
        value = job.handle(cls.payload_model.model_validate(request["payload"]))
    except ReleaseJob as rel:
        return {"kind": "release", "delay": rel.delay_s, "reason": rel.reason}
    except FailJob as exc:
        return {"kind": "fail", "message": str(exc)}
    except Exception as exc:
        return {
            "kind": "error",
            "type": type(exc).__name__,
            "message": str(exc),
            "tb": traceback.format_exc(),
        }
    cap = request.get("result_bytes")
    if cap is None:
        return {"kind": "ok"}
    # Written here, so what crosses back is JSON like every other message.
    try:
        return {"kind": "ok", "result": encode_result(cls, value, cap)}
    except ResultError as exc:
        return {"kind": "error", "type": "ResultError", "message": str(exc), "tb": ""}


class _Child:
    def __init__(self, ctx: Any, table: list[tuple[str, str, str]]) -> None:
        self.conn, child_conn = ctx.Pipe()
        lifeline, self.lifeline = ctx.Pipe(duplex=False)  # the child reads; no one writes
        self.process = ctx.Process(
            target=_child_main, args=(child_conn, lifeline, table), daemon=True
        )
        self.process.start()
        child_conn.close()
        lifeline.close()
        self.ps = psutil.Process(self.process.pid)

    def rss(self) -> int | None:
        """Resident memory of the child, or None when it is gone."""
        try:
            return int(self.ps.memory_info().rss)
        except psutil.Error:
            return None

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(timeout=5)
        self.conn.close()
        self.lifeline.close()


class ProcessPool:
    """Up to ``size`` child processes running blocking handlers, one job each at a time.

    ``memory_limit`` (bytes) applies to each child: one whose RSS passes it after a job is
    stopped, and the next job gets a fresh child.
    """

    def __init__(self, registry: JobRegistry, size: int, memory_limit: int | None = None) -> None:
        self.registry = registry
        self.size = max(1, size)
        self.memory_limit = memory_limit
        self._ctx = multiprocessing.get_context("spawn")
        self._idle: list[_Child] = []
        self._slots = asyncio.Semaphore(self.size)

    async def run(
        self,
        name: str,
        job_id: str,
        attempt: int,
        payload: Any,
        timeout_s: float,
        on_ready: Callable[[float], None] | None = None,
        result_bytes: int | None = None,
        on_progress: Progressed | None = None,
    ) -> str | None:
        """Run one blocking ``handle`` in a child; raise what it raised.

        With ``result_bytes``, the job keeps its result: return what ``handle`` returned,
        written as JSON in the child (a ``ResultError`` there is raised as a
        ``RemoteError``); else None.

        ``on_ready`` is told how long waiting for a free (or new) child took, so callers
        can leave that out of the job's own deadline. ``on_progress`` is awaited with each
        progress value ``handle`` reports.

        Raises:
            HardTimeout: it overran ``timeout_s``; the child was killed.
            HandlerCrashed: the child died while running it.
            RemoteError: ``handle`` raised; the type name, message and traceback are kept.
        """
        loop = asyncio.get_running_loop()
        waited = loop.time()
        async with self._slots:
            child = self._idle.pop() if self._idle else await asyncio.to_thread(self._spawn)
            if on_ready is not None:
                on_ready(loop.time() - waited)
            request = {
                "name": name,
                "id": job_id,
                "attempt": attempt,
                "payload": payload,
                "result_bytes": result_bytes,
            }
            try:
                child.conn.send_bytes(orjson.dumps(request))
                reply = await asyncio.wait_for(self._receive(child, on_progress), timeout_s)
            except TimeoutError:
                child.kill()
                raise HardTimeout(f"timed out after {timeout_s:g} s") from None
            except (EOFError, OSError, BrokenPipeError):
                child.process.join(timeout=5)  # reap it, to report how it ended
                code = child.process.exitcode
                child.kill()
                raise HandlerCrashed(
                    f"the process running it died (exit code {code}) before it finished"
                ) from None
            except BaseException:
                child.kill()  # cancelled: the child may still be busy
                raise
            if self._over_memory_limit(child):
                child.kill()
            else:
                self._idle.append(child)
        _raise_reply(reply)
        result: str | None = reply.get("result")
        return result

    def _over_memory_limit(self, child: _Child) -> bool:
        if self.memory_limit is None:
            return False
        rss = child.rss()
        if rss is not None and rss <= self.memory_limit:
            return False
        get_logger().warning(
            "handler_process_replaced", pid=child.process.pid, rss=rss, limit=self.memory_limit
        )
        return True

    def _spawn(self) -> _Child:
        child = _Child(self._ctx, _job_table(self.registry))
        # Wait until it has imported the jobs: start-up is not the first job's time.
        if not child.conn.poll(SPAWN_TIMEOUT_S):
            child.kill()
            raise HandlerCrashed(f"a handler process did not start within {SPAWN_TIMEOUT_S} s")
        child.conn.recv_bytes()
        return child

    async def _receive(self, child: _Child, on_progress: Progressed | None) -> dict[str, Any]:
        """The child's reply, handing the progress messages before it to ``on_progress``."""
        while True:
            if not child.conn.poll():
                await _readable(child.conn)
            message: dict[str, Any] = orjson.loads(child.conn.recv_bytes())
            if message["kind"] != "progress":
                return message
            if on_progress is not None:
                await on_progress(message["fraction"], message["message"])

    def close(self) -> None:
        """Stop every idle child."""
        for child in self._idle:
            child.kill()
        self._idle.clear()


async def _readable(conn: Connection) -> None:
    loop = asyncio.get_running_loop()
    ready: asyncio.Future[None] = loop.create_future()
    fd = conn.fileno()

    def readable() -> None:
        if not ready.done():
            ready.set_result(None)

    loop.add_reader(fd, readable)
    try:
        await ready
    finally:
        loop.remove_reader(fd)


def _raise_reply(reply: dict[str, Any]) -> None:
    kind = reply["kind"]
    if kind == "release":
        raise ReleaseJob(reply["delay"], reply["reason"])
    if kind == "fail":
        raise FailJob(reply["message"])
    if kind == "error":
        raise RemoteError(reply["type"], reply["message"], reply["tb"])
