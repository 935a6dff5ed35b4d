"""The pool, the named statements every part of the driver runs on it, and the database
clock (``now``: times are the server's, so skewed workers still agree on leases).

``Database`` is the base the driver and its stores (``failed_store``, ``registry``,
``coordination``, ``batches``, ``inspection``) share: each store is a class of methods
over ``_fetch``, ``_fetchval`` and ``_execute``, which retry a statement whose connection
failed, and ``PostgresDriver`` combines them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import asyncpg  # type: ignore[import-untyped]
import structlog

from gello_queue.core.errors import ConfigurationError, DriverUnavailableError
from gello_queue.drivers.outage import unavailable
from gello_queue.drivers.postgres.kept import (
    CONNECTION_ERRORS,
    OPEN_ERRORS,
    STATEMENT_ERRORS,
    KeptConnection,
)
from gello_queue.drivers.postgres.redact import redact_url
from gello_queue.drivers.postgres.schema import qualified
from gello_queue.drivers.postgres.sql import Names, queries, quote_ident

log = structlog.get_logger("gello")

T = TypeVar("T")

_RETRY_DELAYS = (0.0, 0.05, 0.25, 1.0)
"""Backoff between attempts of one call when its connection fails."""

_KEPT = 2
"""Connections kept out of the pool (``_kept``): one for pushes, one for reserves."""
_KEPT_FROM = 4
"""The smallest budget that keeps them: the pool still gets two connections."""

_REFUSED_AT_CONNECT: tuple[type[BaseException], ...] = (
    asyncpg.exceptions.InvalidAuthorizationSpecificationError,  # bad password, no role
    asyncpg.exceptions.InvalidCatalogNameError,  # no such database
    asyncpg.exceptions.TooManyConnectionsError,
)
"""Server errors that mean this client cannot use the server now, not a bad statement."""


class Database:
    """One installation (a schema and a table prefix) in one PostgreSQL database."""

    def __init__(
        self,
        url: str,
        names: Names,
        *,
        pool_min: int,
        pool_max: int,
        pool_timeout_s: float,
        connect_timeout_s: float,
        command_timeout_s: float | None,
        application_name: str,
    ) -> None:
        self.url = url
        self.names = names
        self.pool_max = pool_max
        self.pool_timeout_s = pool_timeout_s
        self.keeps_connections = pool_max >= _KEPT_FROM
        """Whether the hot statements (pushes, reserves) get the two connections kept out
        of the pool (``_kept``). They come out of the budget: the driver opens at most
        ``pool_max`` connections for statements, plus one to LISTEN in a worker."""
        self.pool_size = pool_max - _KEPT if self.keeps_connections else pool_max
        self.pool_min = min(pool_min, self.pool_size)
        self.connect_timeout_s = connect_timeout_s
        self.command_timeout_s = command_timeout_s
        self.application_name = application_name
        quote_ident(names.schema)
        quote_ident(names.prefix + "failed_jobs_failed_at")  # the longest name
        self._q = queries(names)
        self._pool: Any = None
        self._closing = False
        self._skew = 0.0
        """Database clock minus local clock, to turn a due time into a local delay."""

    async def now(self) -> float:
        # Each reading also refreshes the skew estimate used to time delayed wake-ups.
        before = time.time()
        db_now = float(await self._fetchval("now"))
        self._skew = db_now - (before + time.time()) / 2
        return db_now

    def _server_settings(self) -> dict[str, str]:
        # Only what PgBouncer accepts as a startup parameter.
        return {"application_name": self.application_name}

    async def _connect(self) -> Any:
        return await asyncpg.connect(
            self.url,
            timeout=self.connect_timeout_s,
            command_timeout=self.command_timeout_s,
            server_settings=self._server_settings(),
        )

    async def _connect_once(self) -> Any:
        """A connection of its own, with ``_create_pool``'s errors (for migrating)."""
        try:
            return await self._connect()
        except asyncpg.exceptions.ClientConfigurationError as exc:
            raise self._bad_url(exc) from None
        except OPEN_ERRORS as exc:
            raise self._unavailable(exc) from None

    async def _create_pool(self) -> Any:
        """A new pool; a malformed URL or an unusable server raise gello's errors."""
        try:
            return await asyncpg.create_pool(
                self.url,
                min_size=self.pool_min,
                max_size=self.pool_size,
                timeout=self.connect_timeout_s,
                command_timeout=self.command_timeout_s,
                server_settings=self._server_settings(),
                reset=_keep_session,
            )
        except asyncpg.exceptions.ClientConfigurationError as exc:
            raise self._bad_url(exc) from None
        except OPEN_ERRORS as exc:
            raise self._unavailable(exc) from None

    async def _close_pool(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            try:
                await asyncio.wait_for(pool.close(), timeout=5.0)
            except CONNECTION_ERRORS:
                pool.terminate()

    def _bad_url(self, exc: BaseException) -> ConfigurationError:
        return ConfigurationError(f"invalid PostgreSQL URL {redact_url(self.url)}: {exc}")

    def _unavailable(self, exc: BaseException) -> DriverUnavailableError:
        return unavailable("PostgreSQL", self.url, exc)

    def _outage(self, error: BaseException) -> DriverUnavailableError | None:
        """Applied to every public method by ``outage_boundary``: the connection errors
        ``_call`` lets through (while closing, or outside it)."""
        if isinstance(error, STATEMENT_ERRORS):
            return None
        if isinstance(error, CONNECTION_ERRORS + _REFUSED_AT_CONNECT):
            return self._unavailable(error)
        return None

    @property
    def pool(self) -> Any:
        if self._pool is None:
            raise DriverUnavailableError("the PostgreSQL driver is not open: call open() first")
        return self._pool

    async def _call(self, op: Callable[[Any], Awaitable[T]]) -> T:
        """Run ``op`` on a pooled connection, retrying with backoff if the connection
        fails (a killed backend is replaced by the pool on the next acquire).

        A caller waits for a free connection at most ``pool_timeout_s``: asyncpg's own
        ``Pool.fetch`` and friends would wait for ever, and a web app under a burst
        would hang its requests instead of saying what to raise."""
        last: BaseException | None = None
        for delay in _RETRY_DELAYS:
            if delay:
                await asyncio.sleep(delay)
            pool = self.pool
            try:
                con = await self._acquire(pool)
                try:
                    return await op(con)
                finally:
                    await pool.release(con)
            except TimeoutError as exc:
                # The server took longer than command_timeout_s: retrying would only
                # multiply the wait.
                raise self._unavailable(exc) from None
            except CONNECTION_ERRORS as exc:
                if self._closing or isinstance(exc, STATEMENT_ERRORS):
                    raise
                last = exc
                log.warning("postgres_connect_retry", error=type(exc).__name__)
        assert last is not None
        raise self._unavailable(last) from None

    async def _acquire(self, pool: Any) -> Any:
        """A connection of ``pool``, waited for at most ``pool_timeout_s``.

        Raises:
            DriverUnavailableError: every connection stayed busy that long (the pool is
                exhausted), or the server was that slow to open a new one.
        """
        try:
            return await pool.acquire(timeout=self.pool_timeout_s)
        except TimeoutError as exc:
            if pool.get_size() >= self.pool_size and pool.get_idle_size() == 0:
                raise DriverUnavailableError(
                    f"the PostgreSQL connection pool is exhausted: all {self.pool_max}"
                    f" connections stayed busy for {self.pool_timeout_s:g}s; raise"
                    " QUEUE_POOL_MAX or QUEUE_POOL_TIMEOUT, or make fewer calls at once"
                ) from None
            raise self._unavailable(exc) from None

    def _kept(self) -> KeptConnection:
        """A connection kept outside the pool for one kind of hot statement."""
        return KeptConnection(
            self._connect,
            self._call,
            self._unavailable,
            lambda: self.keeps_connections and not self._closing and self._pool is not None,
        )

    async def _fetch(self, name: str, *args: object) -> list[Any]:
        query = self._q[name]
        rows: list[Any] = await self._call(lambda con: con.fetch(query, *args))
        return rows

    async def _fetchval(self, name: str, *args: object) -> Any:
        query = self._q[name]
        return await self._call(lambda con: con.fetchval(query, *args))

    async def _execute(self, name: str, *args: object) -> int:
        """Run a statement; return the row count from its status (``DELETE 3``)."""
        query = self._q[name]
        status: str = await self._call(lambda con: con.execute(query, *args))
        return _rowcount(status)

    def _table(self, name: str) -> str:
        return qualified(self.names, name)


async def _keep_session(_con: Any) -> None:
    """Pool reset hook: nothing to undo. asyncpg's default sends ``RESET ALL`` and more on
    every release, a round trip per call; the driver never sets session state on pooled
    connections (LISTEN has its own connection), and asyncpg still rolls back any open
    transaction before calling this."""


def _rowcount(status: str) -> int:
    """The count at the end of a command tag such as ``DELETE 3`` or ``INSERT 0 1``."""
    tail = status.rsplit(" ", 1)[-1]
    return int(tail) if tail.isdigit() else 0
