"""How long a queue's oldest job may wait before operators are warned: one number for
every queue, or one per queue (``QUEUE_WAIT_WARN=60,emails=10,reports=900``)."""

from __future__ import annotations

import math
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
    def parse(cls, text: str) -> WaitThresholds:
        """``"60"``, ``"emails=10"`` or ``"60,emails=10,reports=900"`` (seconds).

        Raises:
            ConfigurationError: a part is not ``seconds`` or ``queue=seconds`` with a
                positive number.
        """
        default = _DEFAULT_S
        per_queue: dict[str, float] = {}
        for part in (p.strip() for p in text.split(",")):
            if not part:
                continue
            queue, _, value = part.rpartition("=")
            seconds = _seconds(value, part)
            if queue:
                per_queue[queue.strip()] = seconds
            else:
                default = seconds
        return cls(default, per_queue)

    def warn_at(self, queue: str) -> float:
        """Seconds of wait from which ``queue`` warns."""
        return self.per_queue.get(queue, self.default_s)

    def level(self, queue: str, wait_s: float) -> str:
        """``ok``, ``warn`` (at the threshold) or ``alarm`` (at ``ALARM_FACTOR`` times)."""
        at = self.warn_at(queue)
        if wait_s >= at * ALARM_FACTOR:
            return "alarm"
        return "warn" if wait_s >= at else "ok"


def _seconds(value: str, part: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not (seconds > 0 and math.isfinite(seconds)):
        raise ConfigurationError(
            f"QUEUE_WAIT_WARN part {part!r}: use seconds above 0, as in"
            " 60 or 60,emails=10,reports=900"
        )
    return seconds
