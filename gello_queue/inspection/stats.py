"""Wait and run percentiles, jobs per minute and failure rate, per queue and per job
class, from the per-minute timings workers store (``TimingStats``, ``core.timing``).

A queue's figures merge the histograms of every job class that ran on it, over every
minute of the window: the stored buckets are the same everywhere, so merging is adding.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from gello_queue.core.timing import Histogram, Series, TimingCount, percentile

PERCENTILES = (0.5, 0.95, 0.99)
_WINDOW = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)?\s*$", re.IGNORECASE)
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86_400}


def parse_window(text: str) -> float:
    """``90s``, ``15m``, ``1h``, ``2d`` (a bare number is seconds) as seconds.

    Raises:
        ValueError: the text is not such a duration, or is zero.
    """
    found = _WINDOW.match(text)
    if found is None or float(found.group(1)) <= 0:
        raise ValueError(f"not a duration: {text!r} (use e.g. 90s, 15m, 1h or 2d)")
    return float(found.group(1)) * _UNIT_S[(found.group(2) or "s").lower()]


@dataclass(slots=True)
class TimingStatsRow:
    """The figures of one queue (``job`` None) or one job class on one queue."""

    queue: str
    job: str | None
    processed: int = 0
    failed: int = 0
    wait: Histogram = field(default_factory=dict)
    run: Histogram = field(default_factory=dict)
    window_s: float = 3600.0

    @property
    def ended(self) -> int:
        """Jobs that ran to an end (processed or failed) in the window."""
        return self.processed + self.failed

    @property
    def per_minute(self) -> float:
        """Jobs ended per minute, over the whole window."""
        return self.ended / (self.window_s / 60)

    @property
    def failure_rate(self) -> float | None:
        """Failed over ended, or None when none ended."""
        return self.failed / self.ended if self.ended else None

    def wait_p(self, q: float) -> float | None:
        """The ``q`` percentile (0..1) of the wait, seconds; None without data."""
        return percentile(self.wait, q)

    def run_p(self, q: float) -> float | None:
        """The ``q`` percentile (0..1) of the run time, seconds; None without data."""
        return percentile(self.run, q)

    def add(self, count: TimingCount) -> None:
        if count.series is Series.WAIT:
            self.wait[count.bucket] = self.wait.get(count.bucket, 0) + count.count
        elif count.series is Series.RUN:
            self.run[count.bucket] = self.run.get(count.bucket, 0) + count.count
        elif count.series is Series.PROCESSED:
            self.processed += count.count
        else:
            self.failed += count.count

    def to_dict(self) -> dict[str, object]:
        """The figures as JSON-ready values (seconds; None where there is no data)."""
        out: dict[str, object] = {"queue": self.queue}
        if self.job is not None:
            out["job"] = self.job
        out |= {
            "processed": self.processed,
            "failed": self.failed,
            "per_minute": round(self.per_minute, 3),
            "failure_rate": self.failure_rate,
        }
        for name, histogram in (("wait", self.wait), ("run", self.run)):
            for q in PERCENTILES:
                value = percentile(histogram, q)
                out[f"{name}_p{round(q * 100)}_s"] = None if value is None else round(value, 6)
        return out


@dataclass(slots=True)
class TimingReport:
    """Per queue and per job class over one window (the newest minutes)."""

    window_s: float
    queues: list[TimingStatsRow]
    jobs: list[TimingStatsRow]

    def queue(self, name: str) -> TimingStatsRow | None:
        """One queue's figures, if it ran anything in the window."""
        return next((r for r in self.queues if r.queue == name), None)

    def job(self, name: str, queue: str | None = None) -> TimingStatsRow | None:
        """One job class's figures (on ``queue``, or the first queue it ran on)."""
        return next((r for r in self.jobs if r.job == name and queue in (None, r.queue)), None)

    def to_dict(self) -> dict[str, object]:
        return {
            "window_s": self.window_s,
            "queues": [r.to_dict() for r in self.queues],
            "jobs": [r.to_dict() for r in self.jobs],
        }


def report_of(counts: Iterable[TimingCount], window_s: float) -> TimingReport:
    """Merge stored counts into per-queue and per-(queue, job class) figures."""
    queues: dict[str, TimingStatsRow] = {}
    jobs: dict[tuple[str, str], TimingStatsRow] = {}
    for c in counts:
        row = queues.get(c.queue)
        if row is None:
            row = queues[c.queue] = TimingStatsRow(c.queue, None, window_s=window_s)
        row.add(c)
        per_job = jobs.get((c.queue, c.job))
        if per_job is None:
            per_job = jobs[(c.queue, c.job)] = TimingStatsRow(c.queue, c.job, window_s=window_s)
        per_job.add(c)
    return TimingReport(
        window_s=window_s,
        queues=[queues[k] for k in sorted(queues)],
        jobs=[jobs[k] for k in sorted(jobs)],
    )
