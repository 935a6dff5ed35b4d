"""Job.progress: what it accepts, what it refuses with one clear line, and the throttle
that keeps a tight loop from flooding the backend without losing the last value."""

from __future__ import annotations

import asyncio
import math

import pytest
from pydantic import BaseModel

from gello_queue import Job, testing
from gello_queue.core.progress import MAX_MESSAGE_CHARS, ProgressThrottle, check_progress
from gello_queue.core.records import Progress


class Item(BaseModel):
    n: int = 3


class Steps(Job[Item], register=False):
    async def handle(self, payload: Item) -> None:
        for i in range(1, payload.n + 1):
            await self.progress(i / payload.n, f"step {i}")


class Wrong(Job[Item], register=False):
    async def handle(self, payload: Item) -> None:
        await self.progress(40, "meant 40%")


@pytest.mark.parametrize("bad", [-0.01, 1.01, 40, math.nan, math.inf, "0.5", None, True])
def test_a_fraction_outside_0_to_1_is_refused_with_one_clear_line(bad: object) -> None:
    with pytest.raises(
        ValueError, match=r"^progress must be a fraction from 0 to 1 \(0.4 is 40%\), got "
    ) as err:
        check_progress(bad, None)  # type: ignore[arg-type]
    assert "\n" not in str(err.value)


def test_fractions_from_0_to_1_are_taken_as_floats() -> None:
    assert check_progress(0, None) == (0.0, None)
    assert check_progress(1, "done") == (1.0, "done")
    assert check_progress(0.4, "resizing 4/10") == (0.4, "resizing 4/10")


def test_a_long_message_is_cut_and_a_non_string_refused() -> None:
    _, message = check_progress(0.5, "x" * 5000)
    assert message is not None
    assert len(message) == MAX_MESSAGE_CHARS
    assert message.endswith("…")
    with pytest.raises(ValueError, match="a progress message must be a string, got int"):
        check_progress(0.5, 12)  # type: ignore[arg-type]


async def test_run_job_records_every_value_reported() -> None:
    run = await testing.run_job(Steps, n=4)
    run.assert_completed()
    assert run.progress == [(0.25, "step 1"), (0.5, "step 2"), (0.75, "step 3"), (1.0, "step 4")]


async def test_a_bad_fraction_fails_the_attempt_with_that_line() -> None:
    run = await testing.run_job(Wrong)
    run.assert_raised(ValueError, match="progress must be a fraction from 0 to 1")
    assert run.progress == []


async def test_progress_outside_a_worker_is_checked_and_goes_nowhere() -> None:
    # A unit test calling handle directly: nothing to write to, nothing fails.
    await Steps().handle(Item(n=2))
    with pytest.raises(ValueError, match="got 2"):
        await Steps().progress(2)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_the_throttle_writes_at_once_then_once_per_window_keeping_the_last() -> None:
    written: list[Progress] = []

    async def write(p: Progress) -> None:
        written.append(p)

    throttle = ProgressThrottle(write, every_s=0.05, wall=lambda: 7.0)
    await throttle.report(0.1, "a")
    for i in range(2, 50):
        await throttle.report(i / 100, str(i))
    assert [p.message for p in written] == ["a"]  # the rest waits for the window
    await asyncio.sleep(0.2)
    assert [p.message for p in written] == ["a", "49"]  # only the latest, when it closed
    await throttle.report(0.9, "late")
    await throttle.report(0.95, "last")
    await throttle.close()  # the attempt ends inside a window: the last value is written
    assert written[-1] == Progress(0.95, "last", 7.0)
    assert len(written) <= 4


async def test_closing_with_nothing_pending_writes_nothing() -> None:
    written: list[Progress] = []

    async def write(p: Progress) -> None:
        written.append(p)

    throttle = ProgressThrottle(write)
    await throttle.report(0.5, None)
    await throttle.close()
    assert written == [Progress(0.5, None, written[0].updated_at)]


async def test_progress_blocking_on_the_event_loop_says_to_await_progress() -> None:
    async def write(p: Progress) -> None:
        pass

    throttle = ProgressThrottle(write)
    with pytest.raises(RuntimeError, match=r"use await self.progress\(...\)"):
        throttle.report_blocking(0.5, None)
