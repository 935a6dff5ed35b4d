"""Connections kept out of the pool for the hottest statements, and the errors that say
a connection (not a statement) failed."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import asyncpg  # type: ignore[import-untyped]

T = TypeVar("T")

CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.CannotConnectNowError,
    # A backend killed while its connection sat idle can leave asyncpg's protocol in a
    # state it reports this way on the next statement.
    asyncpg.exceptions.InternalClientError,
)
"""Failures of the connection rather than of the statement: worth a retry."""

STATEMENT_ERRORS: tuple[type[BaseException], ...] = (
    asyncpg.exceptions.DataError,
    asyncpg.exceptions.ClientConfigurationError,
    asyncpg.exceptions.UnsupportedClientFeatureError,
    asyncpg.exceptions.UnsupportedServerFeatureError,
)
"""Interface errors that are the call's fault: a retry would fail the same way."""

OPEN_ERRORS: tuple[type[BaseException], ...] = (*CONNECTION_ERRORS, asyncpg.PostgresError)
"""What connecting can raise besides a malformed URL (bad password, no such database)."""

Op = Callable[[Any], Awaitable[Any]]


class KeptConnection:
    """One connection kept aside for one kind of statement (pushes, reserves).

    Taking a pooled connection and giving it back costs a proxy, timers and a task per
    release: a third of a single awaited dispatch, and a tenth of an idle worker's pickup.
    A kept connection costs none of it. It is opened in the background by the first call;
    while it is busy (concurrent calls) or not there yet, the pool serves the call. Any
    failure of the connection drops it (a new one is opened a second later at the
    earliest) and the pool, with its retries, serves the call again: a statement whose
    fate is unknown is settled there as after any retry (re-sent ids for pushes, the
    lease running out for reserves).
    """

    def __init__(
        self,
        connect: Callable[[], Awaitable[Any]],
        pooled: Callable[[Op], Awaitable[Any]],
        unavailable: Callable[[BaseException], Exception],
        usable: Callable[[], bool],
    ) -> None:
        self._connect = connect
        self._pooled = pooled
        self._unavailable = unavailable
        self._usable = usable
        self.connection: Any = None
        self._busy = False
        self._connecting: asyncio.Task[None] | None = None
        self._retry_at = 0.0

    async def run(self, op: Callable[[Any], Awaitable[T]]) -> T:
        """``op(connection)`` on the kept connection when it is free, else on the pool."""
        con = self.connection
        if con is None or self._busy:
            if con is None and self._connecting is None:
                self._open_later()
            result: T = await self._pooled(op)
            return result
        self._busy = True
        try:
            return await op(con)
        except TimeoutError as exc:
            self._drop(con)
            raise self._unavailable(exc) from None
        except CONNECTION_ERRORS as exc:
            if isinstance(exc, STATEMENT_ERRORS):
                raise
            self._drop(con)
            if not self._usable():
                raise
        except asyncpg.PostgresError:
            raise  # the statement's own error (a duplicate id): the connection is fine
        except BaseException:
            # Cancelled mid-statement: the connection's state is unknown.
            self._drop(con)
            raise
        finally:
            self._busy = False
        result = await self._pooled(op)
        return result

    def _open_later(self) -> None:
        loop = asyncio.get_running_loop()
        if not self._usable() or loop.time() < self._retry_at:
            return
        self._connecting = loop.create_task(self._open())

    async def _open(self) -> None:
        try:
            con = await self._connect()
        except OPEN_ERRORS:
            # The pool serves meanwhile; try again a second later.
            self._retry_at = asyncio.get_running_loop().time() + 1.0
            return
        finally:
            self._connecting = None
        if not self._usable():
            con.terminate()
            return
        self.connection = con

    def _drop(self, con: Any) -> None:
        if self.connection is con:
            self.connection = None
        con.terminate()

    async def close(self) -> None:
        connecting, self._connecting = self._connecting, None
        if connecting is not None:
            connecting.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await connecting
        con, self.connection = self.connection, None
        if con is None:
            return
        if self._busy:
            con.terminate()
        else:
            with contextlib.suppress(*CONNECTION_ERRORS, asyncpg.PostgresError):
                await con.close(timeout=5.0)
