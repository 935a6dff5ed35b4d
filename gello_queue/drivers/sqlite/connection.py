"""The SQLite driver's connection: opening (with migrations), write transactions, outages.

The driver's stores (``failed``, ``workers``, ``coordination``, ``batches``) build on this
class, and ``SqliteDriver`` joins them; each store only needs ``db``, ``_write`` and
``clock``.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from gello_queue.core.envelope import Envelope
from gello_queue.core.errors import DriverUnavailableError
from gello_queue.drivers.outage import unavailable
from gello_queue.drivers.sqlite.sql import Q, migrate

_OUTAGES = (
    "SQLITE_BUSY",  # another connection held the write lock past the busy timeout
    "SQLITE_LOCKED",
    "SQLITE_CANTOPEN",  # a missing directory, a directory, no permission
    "SQLITE_IOERR",
    "SQLITE_FULL",
    "SQLITE_READONLY",
    "SQLITE_PERM",
    "SQLITE_NOTADB",
    "SQLITE_CORRUPT",
)
"""Result codes (and their extended forms) that say the file cannot be used now, as
opposed to a statement the database refused."""

_HINT = "check that the path is a database file this process may read and write"
_LOCKED_HINT = (
    "another connection held the write lock past the busy timeout: look for a long"
    " transaction on this file"
)


class SqliteConnection:
    """One connection to one SQLite file, opened on demand and migrated when opened."""

    def __init__(
        self,
        path: str | Path,
        *,
        busy_timeout_s: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = str(path)
        self.busy_timeout_s = busy_timeout_s
        self.clock = clock
        self._db: sqlite3.Connection | None = None
        self._own_writes = 0
        """Commits by this connection, which ``PRAGMA data_version`` does not count."""
        self._seen: tuple[int, int] | None = None
        """The database's version when the last reserve looked (see ``wait``)."""

    async def open(self) -> None:
        if self._db is not None:
            return
        if self.path != ":memory:":
            parent = Path(self.path).parent
            if not parent.exists():
                raise DriverUnavailableError(
                    f"SQLite directory {parent} does not exist: create it or set DATABASE_URL"
                )
        db = sqlite3.connect(
            self.path,
            timeout=self.busy_timeout_s,
            isolation_level=None,
            check_same_thread=False,
        )
        self._db = db
        try:
            db.execute(Q["journal_wal"])
            db.execute(Q["synchronous_normal"])
            migrate(db)
        except BaseException:
            await self.close()
            raise

    def _outage(self, error: BaseException) -> DriverUnavailableError | None:
        """Applied to every public method by ``outage_boundary``."""
        code = getattr(error, "sqlite_errorname", None)
        if isinstance(error, sqlite3.Error) and code and code.startswith(_OUTAGES):
            locked = code.startswith(("SQLITE_BUSY", "SQLITE_LOCKED"))
            hint = _LOCKED_HINT if locked else _HINT
            return unavailable("the SQLite database", self.path, error, hint=hint)
        return None

    async def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            raise DriverUnavailableError("the SQLite driver is not open: call open() first")
        return self._db

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One short write transaction, taking the write lock up front."""
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
        self._own_writes += 1

    async def now(self) -> float:
        return self.clock()


def job_row(env: Envelope) -> tuple[object, ...]:
    """``env`` as the parameters of ``insert_job``."""
    return (
        env.id,
        env.queue,
        env.priority,
        env.available_at,
        env.created_at,
        env.attempts,
        env.max_attempts,
        env.encode().decode(),
    )
