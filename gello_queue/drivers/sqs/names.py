"""SQS queue names: a gello queue is one SQS queue, or one per priority level.

gello queue ``name`` is the SQS queue ``{prefix}{name}{suffix}`` (characters SQS rejects
become ``-``; a name ending in ``.fifo`` keeps that ending after the suffix). With
priority levels (``priorities=5,3``), a job whose priority is at least a level goes to
``{prefix}{name}-{level}{suffix}``, the highest level it reaches; the rest stay in the
plain queue (level 0). Each (queue, level) pair is a *lane*.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

Lane = tuple[str, int]
"""A gello queue and a priority level (0: the plain queue)."""

MAX_NAME = 80
"""SQS's longest queue name."""
_REJECTED = re.compile(r"[^A-Za-z0-9_-]")


def sanitize(text: str) -> str:
    """``text`` with the characters SQS rejects in names turned into ``-``."""
    return _REJECTED.sub("-", text)


@dataclass(frozen=True, slots=True)
class Naming:
    """Maps gello queues and priorities to SQS queue names and back."""

    prefix: str
    suffix: str = ""
    levels: tuple[int, ...] = ()
    """Levels above 0 with a queue of their own (kept highest first)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "levels", tuple(sorted(set(self.levels) - {0}, reverse=True)))

    def level_of(self, priority: int) -> int:
        """The level whose queue holds a job of ``priority``."""
        return next((level for level in self.levels if priority >= level), 0)

    def lanes(self, queues: Sequence[str]) -> list[Lane]:
        """Every lane of ``queues``: the queues in order, each highest level first."""
        return [(queue, level) for queue in queues for level in (*self.levels, 0)]

    def name(self, lane: Lane) -> str:
        """The SQS queue name of ``lane`` (at most 80 characters, ``.fifo`` kept)."""
        queue, level = lane
        fifo = queue.endswith(".fifo") or self.suffix.endswith(".fifo")
        tail = (
            (f"-{level}" if level else "")
            + self.suffix.removesuffix(".fifo")
            + (".fifo" if fifo else "")
        )
        base = sanitize(queue.removesuffix(".fifo"))
        return (self.prefix + base)[: MAX_NAME - len(tail)] + tail

    def is_fifo(self, queue: str) -> bool:
        return self.name((queue, 0)).endswith(".fifo")

    def parse(self, name: str) -> Lane | None:
        """The lane an SQS queue name under this prefix belongs to, if any."""
        fifo = name.endswith(".fifo")
        base = name.removesuffix(".fifo")
        suffix = self.suffix.removesuffix(".fifo")
        if not base.startswith(self.prefix) or (suffix and not base.endswith(suffix)):
            return None
        base = base[len(self.prefix) : len(base) - len(suffix)]
        level = 0
        head, _, tail = base.rpartition("-")
        if head and tail.isdigit() and int(tail) in self.levels:
            base, level = head, int(tail)
        lane = (base + (".fifo" if fifo else ""), level)
        return lane if self.name(lane) == name else None
