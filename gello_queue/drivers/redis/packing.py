"""Faster connections: commands packed in C, sends timed without a task each.

A bulk push sends a few arguments per job, and at tens of thousands of jobs a second the
pure-Python packer (about a microsecond per argument) was most of the client's cost.
hiredis packs the same bytes in C; anything it refuses (a body that is not UTF-8, an
argument type it does not know, a multi-word command name) falls back to redis-py.

With a socket timeout, redis-py bounds every send with ``asyncio.wait_for``, which
creates a task per command on Python 3.11: a fifth of a single awaited dispatch. The
same bound as an ``asyncio.timeout`` block costs no task.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from redis.asyncio.connection import AbstractConnection, ConnectionPool
from redis.exceptions import TimeoutError as RedisTimeoutError

hiredis_pack: Callable[[tuple[Any, ...]], bytes] | None
"""hiredis's packer (a whole command in one bytes object), or ``None`` without hiredis."""
try:
    import hiredis

    hiredis_pack = hiredis.pack_command
except ImportError:  # pragma: no cover - hiredis comes with redis[hiredis]
    hiredis_pack = None

_FAST: dict[type[AbstractConnection], type[AbstractConnection]] = {}


def _fast(cls: type[AbstractConnection]) -> type[AbstractConnection]:
    fast = _FAST.get(cls)
    if fast is None:
        pack = hiredis_pack

        def pack_command(self: AbstractConnection, *args: Any) -> list[bytes]:
            first = args[0] if args else None
            if pack is not None and isinstance(first, str | bytes) and " " not in str(first):
                try:
                    return [pack(args)]
                except (UnicodeEncodeError, TypeError):
                    pass
            return cls.pack_command(self, *args)

        async def send_packed_command(
            self: AbstractConnection, command: Any, check_health: bool = True
        ) -> None:
            timeout = self.socket_timeout
            if timeout is None:
                return await cls.send_packed_command(self, command, check_health)
            # redis-py reads socket_timeout here only to choose wait_for; the connection
            # serves one caller at a time, so the swap is never seen by a read.
            self.socket_timeout = None
            try:
                async with asyncio.timeout(timeout):
                    await cls.send_packed_command(self, command, check_health)
            except TimeoutError:
                raise RedisTimeoutError("Timeout writing to socket") from None
            finally:
                self.socket_timeout = timeout

        fast = type(
            f"Fast{cls.__name__}",
            (cls,),
            {"pack_command": pack_command, "send_packed_command": send_packed_command},
        )
        _FAST[cls] = fast
    return fast


def use_fast_packing(pool: ConnectionPool) -> None:
    """Make connections the pool creates from now on pack commands with hiredis and
    time their sends without a task."""
    pool.connection_class = _fast(pool.connection_class)
