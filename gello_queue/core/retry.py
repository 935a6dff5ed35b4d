"""Retry policy as pure functions: given the attempt, the policy and ``now``, decide.

No clock is read here and no randomness is drawn: callers pass ``now`` and a
``jitter`` sample in [0, 1), so every decision is reproducible in tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeAlias

from gello_queue.core.errors import ConfigurationError


@dataclass(frozen=True, slots=True)
class Exponential:
    """Exponential backoff: ``base * factor ** (attempt - 1)``, capped, optionally jittered.

    With ``jitter`` the delay is drawn uniformly from [delay/2, delay] ("equal jitter"),
    so a burst of failures does not come back as a burst of retries.
    """

    base: float = 1.0
    factor: float = 2.0
    cap: float = 3600.0
    jitter: bool = True

    def to_spec(self) -> dict[str, Any]:
        """Return the JSON form stored in the envelope."""
        return {
            "kind": "exponential",
            "base": self.base,
            "factor": self.factor,
            "cap": self.cap,
            "jitter": self.jitter,
        }


BackoffSpec: TypeAlias = float | int | list[float] | list[int] | Exponential | dict[str, Any] | None
"""What a job may declare as ``backoff``: seconds, seconds per retry, or a policy."""


def normalize_backoff(spec: BackoffSpec) -> Any:
    """Validate a user's backoff and return its JSON form for the envelope.

    Raises:
        ConfigurationError: the backoff is negative or of an unknown shape.
    """
    if spec is None:
        return None
    if isinstance(spec, Exponential):
        return spec.to_spec()
    if isinstance(spec, bool):
        raise ConfigurationError("backoff must be seconds, a list of seconds or Exponential(...)")
    if isinstance(spec, int | float):
        if spec < 0:
            raise ConfigurationError(f"backoff must be >= 0 seconds, got {spec}")
        return float(spec)
    if isinstance(spec, list | tuple):
        if not spec or any(isinstance(s, bool) or not isinstance(s, int | float) for s in spec):
            raise ConfigurationError("backoff list must hold one or more numbers of seconds")
        if any(s < 0 for s in spec):
            raise ConfigurationError(f"backoff seconds must be >= 0, got {list(spec)}")
        return [float(s) for s in spec]
    if isinstance(spec, dict) and spec.get("kind") == "exponential":
        return Exponential(
            base=float(spec.get("base", 1.0)),
            factor=float(spec.get("factor", 2.0)),
            cap=float(spec.get("cap", 3600.0)),
            jitter=bool(spec.get("jitter", True)),
        ).to_spec()
    raise ConfigurationError(f"unknown backoff {spec!r}: use seconds, a list, or Exponential(...)")


def parse_backoff_option(text: str) -> Any:
    """Parse a CLI ``--backoff`` value: ``10`` or ``10,60,300``.

    Raises:
        ConfigurationError: the text is not numbers separated by commas.
    """
    try:
        parts = [float(p) for p in text.split(",") if p.strip()]
    except ValueError:
        msg = f"--backoff expects seconds like 10 or 10,60,300, got {text!r}"
        raise ConfigurationError(msg) from None
    return normalize_backoff(parts[0] if len(parts) == 1 else parts)


def backoff_delay(spec: Any, attempt: int, jitter: float = 1.0) -> float:
    """Seconds to wait before the retry that follows ``attempt`` (1-based).

    Args:
        spec: the envelope's normalised backoff (see ``normalize_backoff``).
        attempt: the attempt that just failed, starting at 1.
        jitter: a sample in [0, 1) used only by jittered policies.
    """
    if spec is None:
        return 0.0
    if isinstance(spec, int | float):
        return float(spec)
    if isinstance(spec, list):
        return float(spec[min(attempt, len(spec)) - 1])
    if isinstance(spec, dict):
        raw = float(spec["base"]) * float(spec["factor"]) ** max(attempt - 1, 0)
        delay = min(raw, float(spec["cap"]))
        if spec.get("jitter"):
            delay = delay / 2 + (delay / 2) * jitter
        return delay
    return 0.0


@dataclass(frozen=True, slots=True)
class Retry:
    """Put the job back; it becomes available after ``delay_s``."""

    delay_s: float


@dataclass(frozen=True, slots=True)
class GiveUp:
    """Move the job to the failed store, for ``reason``."""

    reason: str


Decision: TypeAlias = Retry | GiveUp


def decide(
    *,
    attempt: int,
    max_attempts: int,
    backoff: Any,
    retry_until: float | None,
    now: float,
    permanent: bool = False,
    jitter: float = 1.0,
    exceptions: int = 0,
    max_exceptions: int | None = None,
) -> Decision:
    """Decide what happens after a failed attempt.

    Args:
        attempt: the attempt that failed (1-based, as counted at reserve).
        max_attempts: the job's ``tries``.
        backoff: the envelope's normalised backoff.
        retry_until: epoch seconds after which no retry is made, or ``None``.
        now: the current epoch seconds.
        permanent: the failure was marked permanent (``FailJob``, invalid payload).
        jitter: a sample in [0, 1) for jittered backoff.
        exceptions: attempts that ended in an unhandled exception, this one included.
        max_exceptions: the job's ``max_exceptions`` (None: no limit but ``tries``).

    Returns:
        ``Retry(delay_s)`` or ``GiveUp(reason)``.
    """
    if permanent:
        return GiveUp("failed permanently")
    if max_exceptions is not None and exceptions >= max_exceptions:
        return GiveUp(f"max_exceptions reached ({exceptions} of {max_exceptions})")
    if attempt >= max_attempts:
        return GiveUp(f"attempts exhausted ({attempt} of {max_attempts})")
    delay = backoff_delay(backoff, attempt, jitter)
    if retry_until is not None and now + delay > retry_until:
        return GiveUp("retry_until deadline passed")
    return Retry(delay)
