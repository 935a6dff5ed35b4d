"""The auto-balancing decision: processes follow the workload, within the bounds, a few
at a time."""

from __future__ import annotations

import pytest

from gello_queue.core.balance import (
    BalanceLimits,
    parse_processes,
    rebalance,
    target,
    workload,
)
from gello_queue.core.errors import ConfigurationError


def test_processes_go_where_the_work_is() -> None:
    limits = BalanceLimits(2, 8)
    # 1,000 jobs of 0.5 s on emails, 10 of 0.1 s on reports.
    loads = {"emails": workload(1000, 0.5), "reports": workload(10, 0.1)}
    assert target(loads, limits) == {"emails": 7, "reports": 1}


def test_every_queue_keeps_its_minimum_and_none_passes_its_maximum() -> None:
    limits = BalanceLimits(2, 8, min_per_queue=1, max_per_queue=5)
    loads = {"a": 900.0, "b": 0.0, "c": 0.0}
    assert target(loads, limits) == {"a": 5, "b": 1, "c": 1}


def test_an_idle_pool_keeps_its_minimum_spread_evenly() -> None:
    limits = BalanceLimits(4, 8, min_per_queue=1)
    assert target({"a": 0.0, "b": 0.0}, limits) == {"a": 2, "b": 2}
    assert target({"a": 0.0, "b": 0.0}, BalanceLimits(1, 8, min_per_queue=0)) == {"a": 1, "b": 0}


def test_rounding_never_passes_the_pool_maximum() -> None:
    limits = BalanceLimits(1, 4)
    goal = target({"a": 1.0, "b": 1.0, "c": 1.0}, limits)
    assert sum(goal.values()) == 4
    assert all(n >= 1 for n in goal.values())


def test_a_decision_moves_each_queue_by_at_most_the_max_shift() -> None:
    limits = BalanceLimits(2, 8, max_shift=1)
    current = {"emails": 1, "reports": 4}
    loads = {"emails": 5000.0, "reports": 0.0}
    first = rebalance(current, loads, limits)
    assert first == {"emails": 2, "reports": 3}
    allocation = first
    for _ in range(10):
        allocation = rebalance(allocation, loads, limits)
    assert allocation == {"emails": 7, "reports": 1}


def test_growing_waits_for_room_in_the_pool() -> None:
    limits = BalanceLimits(2, 4, max_shift=3)
    # Full pool; b must shrink before a can grow, and both happen in one decision.
    assert rebalance({"a": 1, "b": 3}, {"a": 100.0, "b": 1.0}, limits) == {"a": 3, "b": 1}
    assert sum(rebalance({"a": 2, "b": 2}, {"a": 100.0, "b": 100.0}, limits).values()) <= 4


def test_a_new_queue_starts_from_nothing() -> None:
    assert rebalance({}, {"a": 10.0}, BalanceLimits(1, 3, max_shift=2)) == {"a": 2}


@pytest.mark.parametrize(("text", "bounds"), [("4", (4, 4)), ("2..8", (2, 8)), ("1..1", (1, 1))])
def test_processes_parse_as_a_count_or_a_range(text: str, bounds: tuple[int, int]) -> None:
    assert parse_processes(text) == bounds


@pytest.mark.parametrize("text", ["0", "8..2", "two", "2..", "..4", "-1"])
def test_bad_process_counts_say_what_to_give(text: str) -> None:
    with pytest.raises(ConfigurationError, match="--processes"):
        parse_processes(text)


def test_limits_that_cannot_hold_are_refused() -> None:
    with pytest.raises(ConfigurationError, match=r"--processes 3\.\.2"):
        BalanceLimits(3, 2)
    with pytest.raises(ConfigurationError, match="--max-processes"):
        BalanceLimits(1, 4, min_per_queue=2, max_per_queue=1)
    with pytest.raises(ConfigurationError, match="3 queues at --min-processes 2 need 6"):
        BalanceLimits(1, 4, min_per_queue=2).check_queues(3)
