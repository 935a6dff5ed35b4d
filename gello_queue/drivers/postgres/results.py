"""Kept job results, in one table, judged by the database clock, and the ``LISTEN`` that
wakes a waiter when one is stored."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from gello_queue.drivers.postgres.connection import Database
from gello_queue.drivers.postgres.kept import OPEN_ERRORS
from gello_queue.drivers.postgres.options import channel

_SWEEP_EVERY = 500
"""One put in this many deletes a slice of the expired results."""


class ResultListener:
    """One ``LISTEN`` connection for the results channel, opened by the first wait.

    Each stored result sends its job id on the channel in the put's own statement. A
    waiter registers before it looks at the table, so a result stored in between still
    wakes it. When the connection is lost every waiter wakes to look again, and the next
    wait reconnects.
    """

    def __init__(self, connect: Callable[[], Awaitable[Any]], name: str) -> None:
        self._connect = connect
        self.channel = name
        self._con: Any = None
        self._opening = asyncio.Lock()
        self._waiters: dict[str, set[asyncio.Future[None]]] = {}

    async def _ensure(self) -> bool:
        """Whether the connection listens (opened now when it is not)."""
        async with self._opening:
            if self._con is not None and not self._con.is_closed():
                return True
            try:
                con = await self._connect()
                con.add_termination_listener(self._lost)
                await con.add_listener(self.channel, self._heard)
            except OPEN_ERRORS:
                return False  # the caller polls; the next wait tries again
            self._con = con
            return True

    def _heard(self, _con: Any, _pid: int, _channel: str, job_id: str) -> None:
        for fut in self._waiters.get(job_id, ()):
            if not fut.done():
                fut.set_result(None)

    def _lost(self, _con: Any) -> None:
        self._con = None
        for futs in self._waiters.values():
            for fut in futs:
                if not fut.done():
                    fut.set_result(None)

    @contextlib.asynccontextmanager
    async def registered(self, job_id: str) -> AsyncIterator[asyncio.Future[None] | None]:
        """A future set when ``job_id``'s result is announced or the connection is lost;
        None when there is no connection to listen on."""
        if not await self._ensure():
            yield None
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(job_id, set()).add(fut)
        try:
            yield fut
        finally:
            futs = self._waiters.get(job_id)
            if futs is not None:
                futs.discard(fut)
                if not futs:
                    del self._waiters[job_id]
            fut.cancel()

    async def close(self) -> None:
        con, self._con = self._con, None
        if con is not None:
            con.terminate()


class Results(Database):
    """The ``ResultStore`` and ``ResultWait`` ports, on the results table."""

    _result_puts = 0
    """Results put by this driver, counted for the sweep."""
    _result_listener: ResultListener | None = None

    @property
    def results_channel(self) -> str:
        """The channel a stored result's job id is sent on."""
        return channel(self.names.schema, self.names.prefix + "results_")

    async def result_put(self, job_id: str, data: str, ttl_s: float) -> None:
        await self._execute("result_put", job_id, data, float(ttl_s), self.results_channel)
        self._result_puts += 1
        if self._result_puts % _SWEEP_EVERY == 0:
            await self._execute("result_sweep")

    async def result_get(self, job_id: str) -> str | None:
        data = await self._fetchval("result_get", job_id)
        return None if data is None else str(data)

    async def result_wait(self, job_id: str, timeout_s: float) -> str | None:
        listener = self._result_listener
        if listener is None:
            listener = self._result_listener = ResultListener(self._connect, self.results_channel)
        async with listener.registered(job_id) as announced:
            data = await self.result_get(job_id)
            if data is not None or timeout_s < 0.001:
                return data
            if announced is None:
                await asyncio.sleep(timeout_s)  # nothing to listen on: one poll
            else:
                await asyncio.wait({announced}, timeout=timeout_s)
        return await self.result_get(job_id)

    async def _close_results(self) -> None:
        listener, self._result_listener = self._result_listener, None
        if listener is not None:
            await listener.close()
