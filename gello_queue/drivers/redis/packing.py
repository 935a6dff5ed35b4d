"""Command packing in C: redis-py's asyncio connections pack arguments in Python.

A bulk push sends a few arguments per job, and at tens of thousands of jobs a second the
pure-Python packer (about a microsecond per argument) was most of the client's cost.
hiredis packs the same bytes in C; anything it refuses (a body that is not UTF-8, an
argument type it does not know, a multi-word command name) falls back to redis-py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from redis.asyncio.connection import AbstractConnection, ConnectionPool

_hiredis_pack: Callable[[tuple[Any, ...]], bytes] | None
try:
    import hiredis

    _hiredis_pack = hiredis.pack_command
except ImportError:  # pragma: no cover - hiredis comes with redis[hiredis]
    _hiredis_pack = None

_FAST: dict[type[AbstractConnection], type[AbstractConnection]] = {}


def _fast(cls: type[AbstractConnection]) -> type[AbstractConnection]:
    fast = _FAST.get(cls)
    if fast is None:
        pack = _hiredis_pack

        def pack_command(self: AbstractConnection, *args: Any) -> list[bytes]:
            first = args[0] if args else None
            if pack is not None and isinstance(first, str | bytes) and " " not in str(first):
                try:
                    return [pack(args)]
                except (UnicodeEncodeError, TypeError):
                    pass
            return cls.pack_command(self, *args)

        fast = type(f"FastPacking{cls.__name__}", (cls,), {"pack_command": pack_command})
        _FAST[cls] = fast
    return fast


def use_fast_packing(pool: ConnectionPool) -> None:
    """Make connections the pool creates from now on pack commands with hiredis."""
    if _hiredis_pack is not None:
        pool.connection_class = _fast(pool.connection_class)
