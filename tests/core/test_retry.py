"""Retry decisions are pure functions of the attempt, the policy and ``now``."""

from __future__ import annotations

import pytest

from gello_queue.core.errors import ConfigurationError
from gello_queue.core.retry import (
    Exponential,
    GiveUp,
    Retry,
    backoff_delay,
    decide,
    normalize_backoff,
    parse_backoff_option,
)


def test_fixed_and_listed_backoff() -> None:
    assert backoff_delay(normalize_backoff(10), 1) == 10
    listed = normalize_backoff([60, 300, 900])
    assert [backoff_delay(listed, n) for n in (1, 2, 3, 4)] == [60, 300, 900, 900]


def test_exponential_backoff_caps_and_jitters_within_half() -> None:
    spec = normalize_backoff(Exponential(base=2, factor=3, cap=50, jitter=False))
    assert [backoff_delay(spec, n) for n in (1, 2, 3, 4)] == [2, 6, 18, 50]
    jittered = normalize_backoff(Exponential(base=10, factor=2, cap=1000, jitter=True))
    assert backoff_delay(jittered, 1, jitter=0.0) == 5
    assert backoff_delay(jittered, 1, jitter=0.999) == pytest.approx(10, abs=0.01)


def test_decide_retries_then_gives_up() -> None:
    common = {"max_attempts": 3, "backoff": [5, 10], "retry_until": None, "now": 100.0}
    assert decide(attempt=1, **common) == Retry(5)  # type: ignore[arg-type]
    assert decide(attempt=2, **common) == Retry(10)  # type: ignore[arg-type]
    assert decide(attempt=3, **common) == GiveUp("attempts exhausted (3 of 3)")  # type: ignore[arg-type]


def test_decide_respects_retry_until_and_permanent_failures() -> None:
    out = decide(attempt=1, max_attempts=9, backoff=30.0, retry_until=120.0, now=100.0)
    assert out == GiveUp("retry_until deadline passed")
    out = decide(attempt=1, max_attempts=9, backoff=10.0, retry_until=120.0, now=100.0)
    assert out == Retry(10)
    out = decide(attempt=1, max_attempts=9, backoff=0, retry_until=None, now=0, permanent=True)
    assert isinstance(out, GiveUp)


def test_decide_gives_up_at_max_exceptions_with_tries_left() -> None:
    common = {"attempt": 2, "max_attempts": 10, "backoff": 5.0, "retry_until": None, "now": 0.0}
    assert decide(**common, exceptions=2, max_exceptions=3) == Retry(5)  # type: ignore[arg-type]
    out = decide(**common, exceptions=3, max_exceptions=3)  # type: ignore[arg-type]
    assert out == GiveUp("max_exceptions reached (3 of 3)")
    assert decide(**common, exceptions=50) == Retry(5)  # type: ignore[arg-type]
    out = decide(**common, exceptions=3, max_exceptions=3, permanent=True)  # type: ignore[arg-type]
    assert out == GiveUp("failed permanently")


@pytest.mark.parametrize("bad", [-1, [], [1, "x"], True, {"kind": "zigzag"}, "10"])
def test_bad_backoff_is_a_clear_error(bad: object) -> None:
    with pytest.raises(ConfigurationError, match="backoff"):
        normalize_backoff(bad)  # type: ignore[arg-type]


def test_cli_backoff_option() -> None:
    assert parse_backoff_option("10") == 10.0
    assert parse_backoff_option("1,2,3") == [1.0, 2.0, 3.0]
    with pytest.raises(ConfigurationError, match="--backoff"):
        parse_backoff_option("soon")
