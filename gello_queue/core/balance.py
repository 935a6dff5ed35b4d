"""How many worker processes each queue gets, by workload: the decision of
``gello queue:work --processes 2..8 --balance auto``, as Horizon's ``balance = auto``.

A queue's workload is the time its pending jobs would take one process: pending jobs
times their typical run time. Processes go to the queues in proportion to it, within
each queue's ``min_per_queue``..``max_per_queue`` and the pool's ``total`` range, and move
at most ``max_shift`` per queue per decision, so a burst does not swing the whole pool.
Pure: the supervisor reads the workloads, calls ``rebalance`` and starts or stops
processes as it says.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from gello_queue.core.errors import ConfigurationError


@dataclass(frozen=True, slots=True)
class BalanceLimits:
    """The bounds every allocation keeps."""

    total_min: int
    total_max: int
    min_per_queue: int = 1
    max_per_queue: int | None = None
    """None: up to ``total_max``."""
    max_shift: int = 1

    def __post_init__(self) -> None:
        if not 1 <= self.total_min <= self.total_max:
            raise ConfigurationError(
                f"--processes {self.total_min}..{self.total_max}: give 1 <= MIN <= MAX"
            )
        if self.min_per_queue < 0 or self.max_shift < 1:
            raise ConfigurationError("--min-processes must be >= 0 and --balance-max-shift >= 1")
        if self.max_per_queue is not None and self.max_per_queue < max(self.min_per_queue, 1):
            raise ConfigurationError("--max-processes must be >= --min-processes and >= 1")

    @property
    def queue_max(self) -> int:
        return self.total_max if self.max_per_queue is None else self.max_per_queue

    def check_queues(self, queues: int) -> None:
        """Refuse a pool whose per-queue minimums do not fit its maximum."""
        if queues * self.min_per_queue > self.total_max:
            raise ConfigurationError(
                f"{queues} queues at --min-processes {self.min_per_queue} need"
                f" {queues * self.min_per_queue} processes, more than --processes allows"
                f" ({self.total_max})"
            )


def parse_processes(text: str) -> tuple[int, int]:
    """``"4"`` → (4, 4); ``"2..8"`` → (2, 8).

    Raises:
        ConfigurationError: neither a count nor a ``MIN..MAX`` range of counts.
    """
    low, sep, high = text.partition("..")
    try:
        bounds = (int(low), int(high)) if sep else (int(text), int(text))
    except ValueError:
        raise ConfigurationError(
            f"--processes {text!r}: give a count (4) or a range (2..8)"
        ) from None
    if not 1 <= bounds[0] <= bounds[1]:
        raise ConfigurationError(f"--processes {text!r}: give 1 <= MIN <= MAX")
    return bounds


def workload(pending: int, run_s: float | None) -> float:
    """Seconds one process would take to run ``pending`` jobs of typical run time
    ``run_s`` (unknown: counted as one second each, so a new queue is not ignored)."""
    return pending * (1.0 if run_s is None else max(run_s, 0.001))


def target(workloads: Mapping[str, float], limits: BalanceLimits) -> dict[str, int]:
    """The allocation the workloads call for, before ``max_shift`` limits the move: each
    queue's share of ``total_max`` by workload, within the per-queue bounds; with no work
    anywhere, the minimums (raised evenly to ``total_min``)."""
    queues = sorted(workloads)
    low, high = limits.min_per_queue, limits.queue_max
    whole = sum(max(w, 0.0) for w in workloads.values())
    if whole <= 0:
        wanted = {q: low for q in queues}
    else:
        wanted = {
            q: min(max(math.ceil(limits.total_max * max(workloads[q], 0.0) / whole), low), high)
            for q in queues
        }
    # Rounding up may pass the pool's maximum: take from the queues with the least work
    # per process first.
    while sum(wanted.values()) > limits.total_max:
        cut = min(
            (q for q in queues if wanted[q] > low),
            key=lambda q: (workloads[q] / wanted[q], q),
        )
        wanted[cut] -= 1
    # And the pool keeps its minimum: give to the queues with the most work per process.
    while sum(wanted.values()) < limits.total_min and any(wanted[q] < high for q in queues):
        add = max(
            (q for q in queues if wanted[q] < high),
            key=lambda q: (workloads[q] / (wanted[q] + 1), -wanted[q], -queues.index(q)),
        )
        wanted[add] += 1
    return wanted


def rebalance(
    current: Mapping[str, int], workloads: Mapping[str, float], limits: BalanceLimits
) -> dict[str, int]:
    """The next allocation: each queue moved toward ``target`` by at most ``max_shift``,
    shrinking before growing so the pool never passes ``total_max``."""
    goal = target(workloads, limits)
    step = limits.max_shift
    moved = {q: current.get(q, 0) for q in goal}
    for q in goal:
        if goal[q] < moved[q]:
            moved[q] = max(goal[q], moved[q] - step)
    # Grow the queues with the most work per process first, while the pool has room.
    for q in sorted(goal, key=lambda q: -workloads[q] / max(moved[q], 1)):
        room = limits.total_max - sum(moved.values())
        if goal[q] > moved[q] and room > 0:
            moved[q] = min(goal[q], moved[q] + step, moved[q] + room)
    return moved
