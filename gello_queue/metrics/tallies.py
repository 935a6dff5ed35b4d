"""The metrics listener's hot path: plain per-(queue, job) tallies, flushed in bulk.

Events add to a ``Tally`` (a dict lookup, a C bisect, two adds); ``JobMetrics.flush``
moves them into prometheus-client every second and before each render.
prometheus-client's own inc/observe take locks and loop over buckets in Python, which
measured three times as much per job.
"""

from __future__ import annotations

import math
from typing import Any

RUN_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900)
WAIT_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600, 14400)
RUN_BOUNDS = (*map(float, RUN_BUCKETS), math.inf)
WAIT_BOUNDS = (*map(float, WAIT_BUCKETS), math.inf)
DISPATCHED, PROCESSED, FAILED, RETRIED, RELEASED, RESCUED, LEASE_LOST = range(7)
KINDS = 7
MAX_LABEL_SETS = 1000
"""Distinct (queue, job) pairs kept; later ones are counted under ``other``."""


class Tally:
    """Counts and histogram buckets of one (queue, job) pair since the last flush."""

    __slots__ = ("counts", "run", "run_sum", "wait", "wait_sum")

    def __init__(self) -> None:
        self.counts = [0] * KINDS
        self.run = [0] * len(RUN_BOUNDS)
        self.wait = [0] * len(WAIT_BOUNDS)
        self.run_sum = 0.0
        self.wait_sum = 0.0

    def dirty(self) -> bool:
        return any(self.counts) or any(self.run) or any(self.wait)

    def reset(self) -> None:
        self.counts = [0] * KINDS
        self.run = [0] * len(RUN_BOUNDS)
        self.wait = [0] * len(WAIT_BOUNDS)
        self.run_sum = self.wait_sum = 0.0


def add_buckets(histogram: Any, buckets: list[int], total: float) -> None:
    """Add a tally's bucket counts and sum to a labelled prometheus-client histogram."""
    # prometheus-client has no bulk observe: add to the child's bucket values directly
    # (``_buckets`` holds per-bucket, not cumulative, counts; the same in multiprocess mode).
    if not any(buckets):
        return
    for i, n in enumerate(buckets):
        if n:
            histogram._buckets[i].inc(n)
    histogram._sum.inc(total)
