"""Cron schedules: next runs in a time zone, one catch-up at most, and several
schedulers dispatching each occurrence once, on every driver."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from orch_helpers import running, until
from pydantic import BaseModel

from gello_queue import ConfigurationError, Job, JobRegistry, Queue
from gello_queue.orchestration.schedule import (
    Schedule,
    Scheduler,
    ScheduleRegistry,
    occurrence_id,
)

registry = JobRegistry()
ran: list[float] = []


class P(BaseModel):
    list: str = "daily"


class Digest(Job[P], register=False):
    async def handle(self, payload: P) -> None:
        ran.append(self.envelope.middleware["scheduled_at"])


registry.register(Digest)


def paris(*args: int) -> float:
    return datetime(*args, tzinfo=ZoneInfo("Europe/Paris")).timestamp()  # type: ignore[misc]


def test_next_run_follows_the_time_zone_across_daylight_saving() -> None:
    schedules = ScheduleRegistry()
    s = schedules.add(Digest, cron="0 8 * * *", tz="Europe/Paris", payload={"list": "x"})
    # The night of 28-29 March 2026 moves Paris from UTC+1 to UTC+2.
    assert s.next_after(paris(2026, 3, 28, 12, 0)) == paris(2026, 3, 29, 8, 0)
    assert s.next_after(paris(2026, 3, 29, 8, 0)) == paris(2026, 3, 30, 8, 0)
    assert paris(2026, 3, 30, 8, 0) - paris(2026, 3, 29, 8, 0) == 86400
    assert s.latest_at(paris(2026, 3, 30, 7, 59)) == paris(2026, 3, 29, 8, 0)
    assert s.latest_at(paris(2026, 3, 30, 8, 0)) == paris(2026, 3, 30, 8, 0)


def test_six_fields_put_seconds_first_and_bad_declarations_are_refused() -> None:
    schedules = ScheduleRegistry()
    s = schedules.add(Digest, cron="*/10 * * * * *", name="ten")
    assert s.next_after(1_000_000_001.0) == 1_000_000_010.0
    with pytest.raises(ConfigurationError, match="invalid cron"):
        schedules.add(Digest, cron="every day")
    with pytest.raises(ConfigurationError, match="time zone"):
        schedules.add(Digest, cron="* * * * *", tz="Mars/Olympus")
    with pytest.raises(ConfigurationError, match="declared twice"):
        schedules.add(Digest, cron="* * * * *", name="ten")


def test_an_expression_no_date_matches_is_refused_at_declaration() -> None:
    schedules = ScheduleRegistry()
    for cron in ("0 0 30 2 *", "0 0 0 31 4 *"):  # 30 February; 31 April (seconds first)
        with pytest.raises(ConfigurationError, match="never fires"):
            schedules.add(Digest, cron=cron)
    assert len(schedules) == 0
    schedules.add(Digest, cron="0 0 29 2 *")  # leap years only: it does fire


async def test_a_schedule_failing_at_tick_does_not_stop_the_others() -> None:
    queue = Queue("memory://sched-isolated", registry=registry)
    schedules = ScheduleRegistry()
    schedules.add(Digest, cron="* * * * * *", name="every-second", catch_up=0)
    # Declared past the registry's check (as a year-limited expression ends up once the
    # year is over): croniter fails on every computation of its times.
    never = Schedule("feb-30", Digest, "0 0 30 2 *", "UTC", Digest.make(None))
    schedules.schedules = {"feb-30": never, **schedules.schedules}
    scheduler = Scheduler(queue, schedules)
    task = asyncio.create_task(scheduler.run())
    try:
        await until(lambda: scheduler.fired >= 2, timeout_s=10)
    finally:
        scheduler.stop()
        await asyncio.wait_for(task, 5)
    assert await queue.size() >= 2


REPORT_APP = """
from pydantic import BaseModel

from gello_queue import Job, schedule
from gello_queue.orchestration.schedule import Schedule, default_schedules

class Empty(BaseModel):
    pass

class Report(Job[Empty]):
    async def handle(self, payload: Empty) -> None: ...

schedule(Report, cron="0 8 * * *", name="daily")
"""


def _list_schedules(tmp_path: Path, app: str, *args: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "report_app.py").write_text(app)
    return subprocess.run(
        [str(Path(sys.executable).with_name("gello")), "queue:schedule:list", *args],
        cwd=tmp_path,
        env={**os.environ, "GELLO_APP": "report_app"},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_schedule_list_refuses_a_never_firing_declaration_in_one_line(tmp_path: Path) -> None:
    out = _list_schedules(tmp_path, REPORT_APP + 'schedule(Report, cron="0 0 30 2 *")\n')
    assert out.returncode != 0
    assert "Traceback" not in out.stderr
    [line] = out.stderr.strip().splitlines()
    assert "never fires" in line
    assert "'0 0 30 2 *'" in line


def test_schedule_list_marks_a_schedule_that_no_longer_fires(tmp_path: Path) -> None:
    # Past the declaration check (as a year-limited expression once its year is over).
    stale = (
        'default_schedules.schedules["feb-30"] = Schedule('
        '"feb-30", Report, "0 0 30 2 *", "UTC", Report.make({}))\n'
    )
    out = _list_schedules(tmp_path, REPORT_APP + stale, "--json")
    assert out.returncode == 0, out.stderr
    rows = {r["name"]: r for r in json.loads(out.stdout)}
    assert rows["daily"]["next_run"] > 0
    assert rows["feb-30"]["next_run"] is None
    assert rows["feb-30"]["next_run_local"].startswith("never")


def test_occurrence_ids_are_shared_by_schedulers_and_time_ordered() -> None:
    assert occurrence_id("a", 100.0) == occurrence_id("a", 100.0)
    assert occurrence_id("a", 100.0) != occurrence_id("b", 100.0)
    assert occurrence_id("a", 100.0) < occurrence_id("a", 101.0)


async def test_a_late_scheduler_fires_one_catch_up_at_most() -> None:
    queue = Queue("memory://sched-catch-up", registry=registry)
    schedules = ScheduleRegistry()
    schedules.add(Digest, cron="*/5 * * * *", name="five")  # every 5 minutes
    t0 = 1_800_000_000.0  # a multiple of 300: an occurrence
    scheduler = Scheduler(queue, schedules)
    # Started 12 minutes after an occurrence (two more missed): one catch-up, the latest.
    assert len(await scheduler.tick(t0 + 720)) == 1
    assert await scheduler.tick(t0 + 721) == []
    # Down (suspended) for half an hour: again one job, for the latest occurrence.
    assert len(await scheduler.tick(t0 + 2520)) == 1
    assert await queue.size() == 2
    none = Scheduler(queue, ScheduleRegistry())
    assert await none.tick(t0) == []
    strict = ScheduleRegistry()
    strict.add(Digest, cron="*/5 * * * *", name="strict", catch_up=0)
    assert await Scheduler(queue, strict).tick(t0 + 720) == []


async def test_several_schedulers_dispatch_each_occurrence_once(queue: Queue) -> None:
    ran.clear()
    schedules = ScheduleRegistry()
    schedules.add(Digest, cron="* * * * * *", name="every-second", catch_up=0)
    t0 = float(int(await (await queue.driver()).now()))
    schedulers = [Scheduler(queue, schedules) for _ in range(3)]
    for s in schedulers:
        s.start_at(t0 - 0.5)
    for step in range(3):
        now = t0 + step
        await asyncio.gather(*(s.tick(now) for s in schedulers))
    counts = await (await queue.driver()).counts()
    assert counts["default"].total == 3
    async with running(queue, registry, workers=2):
        await until(lambda: len(ran) == 3)
        # A late scheduler sees the occurrence was pushed and leaves it.
        late = Scheduler(queue, schedules)
        assert not await late._fire(next(iter(schedules)), t0)
        # Even pushed again (a scheduler that died before noting its push), an
        # occurrence that already ran is skipped by the worker.
        await (await queue.driver()).push([next(iter(schedules)).envelope(t0, queue)])
        await until(lambda: _empty(queue))
    assert sorted(ran) == [t0, t0 + 1, t0 + 2]


async def _empty(queue: Queue) -> bool:
    counts = await (await queue.driver()).counts()
    return all(c.total == 0 for c in counts.values())
