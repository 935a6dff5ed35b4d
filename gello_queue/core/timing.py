"""Wait and run times as mergeable histograms with fixed logarithmic buckets.

Every worker and every backend uses the same bucket edges, so histograms of any minute,
worker or job class merge by adding counts bucket by bucket, and a percentile read from
a merged histogram is off by at most one bucket. Edges grow by ``RATIO`` (2^(1/4), about
19 %) from ``LOWEST_S`` (1 ms) to past ``HIGHEST_S`` (a day): bucket 0 holds everything
under 1 ms, the last one everything from about a day on.

Histograms are sparse (bucket index -> count): a queue whose jobs all take about the same
time stores a handful of numbers per minute.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

RATIO = 2**0.25
LOWEST_S = 0.001
HIGHEST_S = 86_400.0
TOP = math.ceil(math.log(HIGHEST_S / LOWEST_S, RATIO)) + 1
"""The last bucket's index: it holds everything from ``LOWEST_S * RATIO ** (TOP - 1)``
(just past a day) on."""

Histogram = dict[int, int]
"""Bucket index -> how many durations fell in it; empty buckets are left out."""


EDGES = tuple(LOWEST_S * RATIO**i for i in range(TOP))
"""Where buckets 1..TOP start: the table every bucket is judged by."""


def bucket_of(seconds: float) -> int:
    """The bucket ``seconds`` falls in: bucket ``i >= 1`` holds
    ``[EDGES[i - 1], EDGES[i])``; bucket 0 anything shorter than 1 ms (and a negative
    or NaN duration: a clock a little behind)."""
    # A C bisect over the table: cheaper than a logarithm on the worker's hot path, and
    # exact at the edges.
    return bisect_right(EDGES, seconds) if seconds >= LOWEST_S else 0


def lower_edge(bucket: int) -> float:
    """The smallest duration bucket ``bucket`` holds (0 for bucket 0)."""
    return 0.0 if bucket <= 0 else EDGES[min(bucket, TOP) - 1]


def upper_edge(bucket: int) -> float:
    """The duration where bucket ``bucket`` ends (infinite for the last one)."""
    return math.inf if bucket >= TOP else EDGES[max(bucket, 0)]


def value_of(bucket: int) -> float:
    """The duration a bucket stands for in a percentile: its geometric middle, so the
    true value is within a factor ``sqrt(RATIO)`` either way."""
    if bucket <= 0:
        return LOWEST_S / 2
    return lower_edge(bucket) * math.sqrt(RATIO)


def merged(histograms: Iterable[Mapping[int, int]]) -> Histogram:
    """One histogram of all of ``histograms``."""
    out: Histogram = {}
    for histogram in histograms:
        for bucket, count in histogram.items():
            out[bucket] = out.get(bucket, 0) + count
    return out


def percentile(histogram: Mapping[int, int], q: float) -> float | None:
    """The duration below which a fraction ``q`` (0..1) of the counted ones fall (as the
    middle of its bucket), or None for an empty histogram."""
    total = sum(histogram.values())
    if total <= 0:
        return None
    # The nearest-rank method: the smallest value with at least q of all at or below it.
    rank = max(1, math.ceil(q * total))
    seen = 0
    for bucket in sorted(histogram):
        seen += histogram[bucket]
        if seen >= rank:
            return value_of(bucket)
    return value_of(max(histogram))  # pragma: no cover - rank <= total


class Series(StrEnum):
    """What a stored timing count counts (short: it is stored with every count)."""

    WAIT = "w"
    """Jobs started, by bucket of their wait from available (or due) to start."""
    RUN = "r"
    """Attempts ended (processed, retried or failed), by bucket of their run time."""
    PROCESSED = "p"
    """Jobs processed (bucket 0)."""
    FAILED = "f"
    """Jobs that ended in the failed store (bucket 0)."""


@dataclass(frozen=True, slots=True)
class TimingCount:
    """One stored number: in ``minute``, on ``queue``, for job class ``job``, how many
    fell in ``bucket`` of ``series``. Counts of the same key add up."""

    minute: int
    """Epoch seconds of the minute's start."""
    queue: str
    job: str
    series: Series
    bucket: int
    count: int

    @property
    def key(self) -> tuple[int, str, str, str, int]:
        """What identifies the count: equal keys add up."""
        return self.minute, self.queue, self.job, self.series.value, self.bucket


def summed(counts: Iterable[TimingCount]) -> list[TimingCount]:
    """``counts`` with equal keys added up, in key order (how every driver returns them)."""
    acc: dict[tuple[int, str, str, str, int], int] = {}
    for c in counts:
        acc[c.key] = acc.get(c.key, 0) + c.count
    return [TimingCount(m, q, j, Series(s), b, n) for (m, q, j, s, b), n in sorted(acc.items())]
