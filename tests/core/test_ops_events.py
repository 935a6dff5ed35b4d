"""Rescue results grouped by the worker that held the jobs, events stored and read back as
they were, and the line an operator reads."""

from __future__ import annotations

import time

from gello_queue.drivers.common import EVENTS_KEPT, EVENTS_KEPT_S, kept_events
from gello_queue.inspection import EventKind, OpsEvent, event_line
from gello_queue.ports import RescueResult


def test_a_rescue_is_grouped_by_the_worker_that_held_each_job() -> None:
    result = RescueResult(
        requeued=["a", "b", "c"], failed=["d"], held_by={"a": "w1", "b": "w2", "d": "w1"}
    )
    assert result.by_worker() == {
        "w1": (["a"], ["d"]),
        "w2": (["b"], []),
        None: (["c"], []),  # its lease named no worker
    }


def test_an_event_reads_back_as_it_was_stored() -> None:
    event = OpsEvent(EventKind.RESCUE, 1700000000.25, "vm:1/é", ("a", "b"), ("b",), "vm:2/x")
    assert OpsEvent.from_json(event.to_json()) == event


def test_the_line_names_the_worker_the_count_and_the_time() -> None:
    at = time.mktime((2026, 12, 3, 15, 27, 53, 0, 0, -1))
    three = OpsEvent(EventKind.RESCUE, at, "vm:14517/emails-1", ("a", "b", "c"), ("c",))
    assert event_line(three) == (
        "3 jobs of vm:14517/emails-1 rescued at 15:27:53"
        " (1 on their last attempt, to the failed store)"
    )
    unnamed = OpsEvent(EventKind.RESCUE, at, "", ("a",))
    assert event_line(unnamed) == "1 job of a worker that left no name rescued at 15:27:53"
    by_id = OpsEvent(EventKind.RESCUE, at, "01a23bc8-03d4-7455-9a50-b142e673a7f1", ("a",))
    assert event_line(by_id) == "1 job of worker …e673a7f1 rescued at 15:27:53"


def test_only_the_newest_young_events_are_kept() -> None:
    now = 1_000_000.0
    old = OpsEvent(EventKind.RESCUE, now - EVENTS_KEPT_S - 1, "old")
    many = [OpsEvent(EventKind.RESCUE, now - 500 + i, f"w{i}") for i in range(EVENTS_KEPT + 3)]
    kept = kept_events([old, *many], now)
    assert len(kept) == EVENTS_KEPT
    assert kept[0].worker == f"w{EVENTS_KEPT + 2}"  # newest first
    assert kept[-1].worker == "w3"  # the three oldest and the expired one made room


def test_a_balancing_decision_reads_back_and_says_what_moved() -> None:
    at = time.mktime((2026, 12, 3, 15, 27, 53, 0, 0, -1))
    event = OpsEvent(
        EventKind.BALANCED, at, "vm:900", detail="emails 1->2 (840s of work)", by="vm:900"
    )
    assert OpsEvent.from_json(event.to_json()) == event
    assert event_line(event) == (
        "processes rebalanced at 15:27:53 by vm:900: emails 1->2 (840s of work)"
    )
    # An event stored before details existed reads with none.
    older = '{"kind": "rescue", "at": 1.0, "worker": "w", "jobs": ["a"]}'
    assert OpsEvent.from_json(older).detail == ""
