"""Reading a memory size given as ``--memory`` or ``Worker(memory_limit=...)``."""

from __future__ import annotations

import math

from gello_queue.core.errors import ConfigurationError


def parse_memory(value: int | str | None) -> int | None:
    """Bytes in ``512MB``, ``1GB``, ``300`` (megabytes) or ``None``.

    Raises:
        ConfigurationError: ``value`` is not a positive, finite size.
    """
    if value is None:
        return None
    number, unit = str(value).strip().upper().removesuffix("B"), 1024**2
    units = {"K": 1024, "M": 1024**2, "G": 1024**3}
    if number[-1:] in units:
        number, unit = number[:-1], units[number[-1]]
    try:
        size = float(number) * unit
    except ValueError:
        size = math.nan
    if not math.isfinite(size) or size < 1:
        raise ConfigurationError(
            f"{value!r} is not a memory size: give a positive size such as 512MB, 1.5GB or"
            " 300 (megabytes)"
        )
    return int(size)
