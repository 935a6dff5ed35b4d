"""The SQLite driver's coordination state shared by workers: counters (rate limits) and
locks (overlap locks, once-only claims), in ``gello_coordination``."""

from __future__ import annotations

import sqlite3

from gello_queue.drivers.sqlite.connection import SqliteConnection
from gello_queue.drivers.sqlite.sql import Q

_SWEEP_EVERY = 500
"""Coordination calls between two sweeps of expired entries."""


class CoordinationStore(SqliteConnection):
    """Counters and locks half of the port; ``SqliteDriver`` inherits it."""

    _coord_calls = 0
    """Coordination calls by this driver (each instance counts its own from zero)."""

    def _sweep(self, tx: sqlite3.Connection, now: float) -> None:
        # Expired entries are dead weight: drop a few now and then.
        self._coord_calls += 1
        if self._coord_calls % _SWEEP_EVERY == 0:
            tx.execute(Q["coordination_sweep"], (now,))

    async def counter_incr(self, key: str, by: int, ttl_s: float) -> int:
        with self._write() as tx:
            now = self.clock()
            self._sweep(tx, now)
            (value,) = tx.execute(Q["counter_incr"], ("c:" + key, by, now, ttl_s)).fetchone()
            return int(value)

    async def lock_acquire(self, key: str, owner: str, ttl_s: float) -> bool:
        with self._write() as tx:
            now = self.clock()
            self._sweep(tx, now)
            row = tx.execute(Q["lock_acquire"], ("l:" + key, owner, now, ttl_s)).fetchone()
            return row is not None

    async def lock_release(self, key: str, owner: str) -> bool:
        with self._write() as tx:
            cur = tx.execute(Q["lock_release"], ("l:" + key, owner, self.clock()))
            return cur.rowcount == 1

    async def lock_owner(self, key: str) -> str | None:
        row = self.db.execute(Q["lock_owner"], ("l:" + key, self.clock())).fetchone()
        return None if row is None else str(row[0])
