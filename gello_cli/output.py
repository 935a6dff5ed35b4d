"""Tables for people, JSON for scripts."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import orjson
import typer
from rich.console import Console
from rich.table import Table


def print_json(data: Any) -> None:
    """Write ``data`` as indented JSON on standard output."""
    typer.echo(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode())


def print_table(
    title: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    keep: Sequence[str] = (),
) -> None:
    """Write a table; the ``keep`` columns are never wrapped or cut (ids to copy), the
    others give way on a narrow terminal."""
    table = Table(title=title, title_justify="left")
    for i, col in enumerate(columns):
        if col in keep:
            width = max([len(col), *(len(str(r[i])) for r in rows)])
            table.add_column(col, no_wrap=True, min_width=width)
        else:
            table.add_column(col)
    for row in rows:
        table.add_row(*(str(c) for c in row))
    Console().print(table)


def ago(ts: float | None, now: float | None = None) -> str:
    """``12s``, ``4m``, ``3h``, ``2d`` since ``ts``."""
    if ts is None:
        return "-"
    span = max((now or time.time()) - ts, 0)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if span >= size:
            return f"{int(span // size)}{unit}"
    return f"{span:.0f}s"


def when(ts: float) -> str:
    """Local time of ``ts`` for tables."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))


def latency(seconds: float | None) -> str:
    """A wait or run time at the precision a log bucket gives it (about a fifth):
    ``0.8ms``, ``12ms``, ``1.4s``, ``35s``, ``4.2m``, ``1.5h``; ``-`` when unknown."""
    if seconds is None:
        return "-"
    for unit, size in (("h", 3600.0), ("m", 60.0), ("s", 1.0), ("ms", 0.001)):
        if seconds >= size or unit == "ms":
            value = seconds / size
            return f"{value:.1f}{unit}" if value < 10 else f"{value:.0f}{unit}"
    return "-"  # pragma: no cover - the loop always returns


def percent(fraction: float | None) -> str:
    """``25%``, ``2.5%``, ``100%`` (three digits at most); ``-`` when there is nothing to
    divide."""
    return "-" if fraction is None else f"{fraction * 100:.3g}%"
