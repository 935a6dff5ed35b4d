"""Numbers, durations and sizes as the dashboard prints them."""

from __future__ import annotations

from gello_cli.output import latency as latency
from gello_cli.output import percent as percent


def count(n: int) -> str:
    """``1 204``: thousands grouped with a space, readable at a glance."""
    return f"{n:,}".replace(",", " ")


def rate(per_min: float) -> str:
    """Jobs per minute: whole numbers from 10 up, one decimal below."""
    if per_min <= 0:
        return "0"
    return count(round(per_min)) if per_min >= 10 else f"{per_min:.1f}"


def duration(seconds: float | None) -> str:
    """``4s``, ``3m 12s``, ``2h 5m``, ``3d 4h``; ``-`` when unknown."""
    if seconds is None:
        return "-"
    s = int(max(seconds, 0))
    for unit, size, sub, sub_size in (("d", 86400, "h", 3600), ("h", 3600, "m", 60)):
        if s >= size:
            rest = (s % size) // sub_size
            return f"{s // size}{unit} {rest}{sub}" if rest else f"{s // size}{unit}"
    if s >= 60:
        return f"{s // 60}m {s % 60}s" if s % 60 else f"{s // 60}m"
    return f"{s}s"


def size(n: int) -> str:
    """Bytes as ``512K``, ``86M``, ``1.2G``."""
    value = float(n)
    for unit in ("B", "K", "M", "G"):
        if value < 1024 or unit == "G":
            return f"{value:.1f}{unit}" if unit == "G" else f"{value:.0f}{unit}"
        value /= 1024
    return f"{value:.1f}G"  # pragma: no cover - the loop always returns


def span(seconds: float) -> str:
    """``45 ms``, ``3.4 s``, then as ``duration``: how long a job waited or ran."""
    if seconds < 1:
        return f"{max(seconds, 0) * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    return duration(seconds)


def clock_time(ts: float | None, now: float) -> str:
    """``12s ago`` or ``in 3m`` relative to ``now``."""
    if ts is None:
        return "-"
    delta = ts - now
    return f"in {duration(delta)}" if delta > 0.5 else f"{duration(-delta)} ago"


def short_id(job_id: str, width: int = 12) -> str:
    """The tail of a UUIDv7 (its head is a timestamp shared by neighbours)."""
    return job_id if len(job_id) <= width else "…" + job_id[-(width - 1) :]
