"""Limits given per name with a default for the others, in one format: how long a queue's
oldest job may wait before operators are warned (``QUEUE_WAIT_WARN=60,emails=10``,
``QUEUE_ALERT_WAIT``), and the failure rate of a job class that raises an alert
(``QUEUE_ALERT_FAILURE_RATE=0.5,SendInvoice=0.1``)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from gello_queue.core.errors import ConfigurationError

ALARM_FACTOR = 5
"""A wait this many times its threshold is shown as an alarm, not a warning."""

_DEFAULT_S = 60.0
"""Without ``QUEUE_WAIT_WARN``: a minute, as Horizon's default long-wait threshold."""


@dataclass(frozen=True, slots=True)
class WaitThresholds:
    """Seconds of wait that warn, per queue, with a default for the others."""

    default_s: float = _DEFAULT_S
    per_queue: dict[str, float] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str, setting: str = "QUEUE_WAIT_WARN") -> WaitThresholds:
        """``"60"``, ``"emails=10"`` or ``"60,emails=10,reports=900"`` (seconds).

        Raises:
            ConfigurationError: a part is not ``seconds`` or ``queue=seconds`` with a
                positive number (the message names ``setting``).
        """
        default, per_queue = _per_name(text, setting, _seconds, "60 or 60,emails=10,reports=900")
        return cls(_DEFAULT_S if default is None else default, per_queue)

    def warn_at(self, queue: str) -> float:
        """Seconds of wait from which ``queue`` warns."""
        return self.per_queue.get(queue, self.default_s)

    def level(self, queue: str, wait_s: float) -> str:
        """``ok``, ``warn`` (at the threshold) or ``alarm`` (at ``ALARM_FACTOR`` times)."""
        at = self.warn_at(queue)
        if wait_s >= at * ALARM_FACTOR:
            return "alarm"
        return "warn" if wait_s >= at else "ok"


@dataclass(frozen=True, slots=True)
class RateThresholds:
    """Failure rates (failed over ended, 0 to 1) that alert, per job class, with a
    default for the others (None: the others never alert)."""

    default: float | None = None
    per_job: dict[str, float] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str, setting: str = "QUEUE_ALERT_FAILURE_RATE") -> RateThresholds:
        """``"0.5"``, ``"SendInvoice=0.1"`` or ``"0.5,SendInvoice=0.1"``.

        Raises:
            ConfigurationError: a part is not a rate above 0 and at most 1.
        """
        default, per_job = _per_name(text, setting, _rate, "0.5 or 0.5,SendInvoice=0.1")
        return cls(default, per_job)

    def alert_at(self, job: str) -> float | None:
        """The failure rate from which ``job`` alerts (None: never)."""
        return self.per_job.get(job, self.default)


def _per_name(
    text: str, setting: str, number: Callable[[str], float], example: str
) -> tuple[float | None, dict[str, float]]:
    """``default,name=value,...`` → the default (None if not given) and the named values."""
    default: float | None = None
    named: dict[str, float] = {}
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        name, _, value = part.rpartition("=")
        parsed = number(value)
        if math.isnan(parsed):
            raise ConfigurationError(f"{setting} part {part!r}: use {example}")
        if name:
            named[name.strip()] = parsed
        else:
            default = parsed
    return default, named


def _rate(value: str) -> float:
    """A rate above 0 and at most 1, or NaN."""
    try:
        rate = float(value)
    except ValueError:
        return math.nan
    return rate if 0 < rate <= 1 else math.nan


def _seconds(value: str) -> float:
    """Seconds above 0, or NaN."""
    try:
        seconds = float(value)
    except ValueError:
        return math.nan
    return seconds if seconds > 0 and math.isfinite(seconds) else math.nan
