"""Cron schedules: jobs dispatched at the occurrences of a cron expression.

Declare them in the application module, next to the jobs::

    schedule(SendDigest, cron="0 8 * * *", tz="Europe/Paris", payload={"list": "daily"})
    schedule(Ping, cron="*/10 * * * * *")  # six fields: seconds first

and run ``gello queue:schedule`` (or ``gello queue:work --scheduler``). Expressions are
parsed by croniter; times are computed in the schedule's time zone, so "08:00 Paris"
stays 08:00 across daylight-saving changes.

Several schedulers may run at once (one per host), with no leader: each occurrence is
pushed with an id and a unique key derived from the schedule and the occurrence, so
concurrent pushes fold into one job, and a copy pushed after the first completed is
skipped by the worker (the occurrence's completion marker). A shared counter per
occurrence spares most duplicate pushes. A scheduler that was down fires at most one
catch-up: the latest occurrence missed within ``catch_up`` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from gello_queue.core.envelope import Envelope
from gello_queue.core.errors import ConfigurationError
from gello_queue.core.job import Job, PendingDispatch, check_stored_size
from gello_queue.observability import get_logger
from gello_queue.orchestration.steps import KEEP_S

if TYPE_CHECKING:
    from gello_queue.queue import Queue

DEFAULT_CATCH_UP_S = 3600.0
"""A scheduler that starts late fires the latest occurrence missed within this window."""


@dataclass(frozen=True)
class Schedule:
    """One cron schedule of a job."""

    name: str
    job: type[Job[Any]]
    cron: str
    tz: str
    dispatch: PendingDispatch
    catch_up_s: float = DEFAULT_CATCH_UP_S

    def _iter(self, start: float) -> Any:
        when = datetime.fromtimestamp(start, ZoneInfo(self.tz))
        return _croniter()(self.cron, when, second_at_beginning=True)

    def next_after(self, ts: float) -> float:
        """The first occurrence strictly after ``ts`` (epoch seconds)."""
        return float(self._iter(ts).get_next(float))

    def latest_at(self, ts: float) -> float:
        """The last occurrence at or before ``ts``."""
        upcoming = self.next_after(ts - 1e-6)
        return upcoming if upcoming <= ts else float(self._iter(ts).get_prev(float))

    def envelope(self, occurrence: float, queue: Queue) -> Envelope:
        """The job of one occurrence: the same id and key whoever pushes it."""
        env = self.dispatch.to_envelope(queue.defaults, time.time())
        scheduled = env.with_changes(
            id=occurrence_id(self.name, occurrence),
            unique_key=f"gello:schedule:{self.name}:{occurrence!r}",
            unique_mode=None,
            unique_for=None,
            middleware={**env.middleware, "once": True, "scheduled_at": occurrence},
        )
        check_stored_size(scheduled, queue.defaults.max_payload_bytes)  # with its key
        return scheduled


def _croniter() -> Any:
    # Imported on first use: ``import gello_queue`` stays light.
    from croniter import croniter  # type: ignore[import-untyped]

    return croniter


def _check_fires(s: Schedule) -> None:
    """Refuse an expression no date matches (30 February, a past year): croniter accepts
    its syntax, then fails on every next-run computation."""
    from croniter import CroniterBadDateError

    try:
        s.next_after(time.time())
    except CroniterBadDateError:
        raise ConfigurationError(
            f"cron expression {s.cron!r} for {s.job.name} never fires: no date matches it "
            "(such as 30 February, or a year already past); fix its day, month or year fields"
        ) from None


def occurrence_id(name: str, occurrence: float) -> str:
    """A UUIDv7-shaped id (time-ordered) that every scheduler derives alike."""
    ms = int(occurrence * 1000) & (2**48 - 1)
    h = hashlib.blake2b(f"{name}@{occurrence!r}".encode(), digest_size=16).hexdigest()
    raw = f"{ms:012x}7{h[:3]}{'89ab'[int(h[3], 16) % 4]}{h[4:19]}"
    return f"{raw[:8]}-{raw[8:12]}-{raw[12:16]}-{raw[16:20]}-{raw[20:32]}"


@dataclass
class ScheduleRegistry:
    """The schedules an application declares."""

    schedules: dict[str, Schedule] = field(default_factory=dict)

    def add(
        self,
        job: type[Job[Any]],
        *,
        cron: str,
        tz: str = "UTC",
        payload: Any = None,
        name: str | None = None,
        queue: str | None = None,
        priority: int | None = None,
        catch_up: float = DEFAULT_CATCH_UP_S,
    ) -> Schedule:
        """Declare that ``job`` runs with ``payload`` at every occurrence of ``cron``.

        Raises:
            ConfigurationError: invalid expression or time zone, or a duplicate name.
            PayloadValidationError: the payload does not match the job's model.
        """
        if not _croniter().is_valid(cron, second_at_beginning=True):
            raise ConfigurationError(f"invalid cron expression {cron!r} for {job.name}")
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigurationError(f"unknown time zone {tz!r} for {job.name}") from None
        pending = job.make(payload).options(queue=queue, priority=priority)
        key = name or f"{job.name}@{cron}@{tz}"
        if key in self.schedules:
            raise ConfigurationError(f"schedule {key!r} is declared twice: give it a name=")
        found = Schedule(key, job, cron, tz, pending, max(catch_up, 0.0))
        _check_fires(found)
        self.schedules[key] = found
        return found

    def __iter__(self) -> Any:
        return iter(self.schedules.values())

    def __len__(self) -> int:
        return len(self.schedules)


default_schedules = ScheduleRegistry()


def schedule(
    job: type[Job[Any]],
    *,
    cron: str,
    tz: str = "UTC",
    payload: Any = None,
    name: str | None = None,
    queue: str | None = None,
    priority: int | None = None,
    catch_up: float = DEFAULT_CATCH_UP_S,
) -> Schedule:
    """Declare a cron schedule in the default registry (see ``ScheduleRegistry.add``)."""
    return default_schedules.add(
        job,
        cron=cron,
        tz=tz,
        payload=payload,
        name=name,
        queue=queue,
        priority=priority,
        catch_up=catch_up,
    )


class Scheduler:
    """Dispatches the occurrences of schedules as they come due.

    Args:
        connection: the ``Queue`` to dispatch to.
        schedules: the registry to serve (the default one when omitted).
        clock: epoch seconds; injectable for tests.
    """

    def __init__(
        self,
        connection: Queue,
        schedules: ScheduleRegistry | None = None,
        *,
        clock: Callable[[], float] = time.time,
        max_sleep_s: float = 1.0,
    ) -> None:
        self.connection = connection
        self.schedules = schedules if schedules is not None else default_schedules
        self.clock = clock
        self.max_sleep_s = max_sleep_s
        self.next_at: dict[str, float] = {}
        self.fired = 0
        self._stop = asyncio.Event()

    def start_at(self, now: float) -> None:
        """Begin at ``now``: the latest occurrence within the catch-up window is due."""
        for s in self.schedules:
            self.next_at[s.name] = self._first_due(s, now)

    @staticmethod
    def _first_due(s: Schedule, now: float) -> float:
        latest = s.latest_at(now)
        return latest if now - latest <= s.catch_up_s else s.next_after(now)

    async def tick(self, now: float | None = None) -> list[str]:
        """Dispatch what is due at ``now``; return the ids pushed. Missed occurrences
        collapse into one (the latest)."""
        now = self.clock() if now is None else now
        starting = not self.next_at
        pushed: list[str] = []
        for s in self.schedules:
            # Each schedule on its own: one that fails (its backend push, or times
            # croniter cannot compute) is logged and must not keep the others from firing.
            try:
                occurrence = self._due(s, now, starting)
                if occurrence is not None and await self._fire(s, occurrence):
                    pushed.append(occurrence_id(s.name, occurrence))
            except Exception as exc:
                get_logger().error("schedule_error", schedule=s.name, error=repr(exc))
        return pushed

    def _due(self, s: Schedule, now: float, starting: bool) -> float | None:
        """The occurrence of ``s`` to fire at ``now`` (its next one then noted), if any."""
        due = self.next_at.get(s.name)
        if due is None:
            due = self._first_due(s, now) if starting else s.next_after(now)
            self.next_at[s.name] = due
        if due > now:
            return None
        occurrence = max(due, s.latest_at(now))
        self.next_at[s.name] = s.next_after(now)
        return occurrence

    async def _fire(self, s: Schedule, occurrence: float) -> bool:
        driver = await self.connection.driver()
        mark = f"gello:schedule:{s.name}:{occurrence!r}"
        if await driver.counter_incr(mark, 0, KEEP_S) > 0:
            return False  # another scheduler pushed it already
        env = s.envelope(occurrence, self.connection)
        await driver.push([env])
        await driver.counter_incr(mark, 1, KEEP_S)
        self.fired += 1
        get_logger().info("scheduled", schedule=s.name, job=s.job.name, at=occurrence, id=env.id)
        return True

    def sleep_for(self, now: float) -> float:
        """Seconds until the next occurrence, capped so a stop is noticed quickly."""
        upcoming = min(self.next_at.values(), default=now + self.max_sleep_s)
        return min(max(upcoming - now, 0.0), self.max_sleep_s)

    async def run(self) -> None:
        """Tick until ``stop()``; a failing backend is logged and retried."""
        log = get_logger()
        log.info("scheduler_started", schedules=len(self.schedules))
        while not self._stop.is_set():
            try:
                await self.tick()
            except Exception as exc:
                log.error("scheduler_error", error=repr(exc))
            delay = self.sleep_for(self.clock())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), max(delay, 0.005))
        log.info("scheduler_stopped", fired=self.fired)

    def stop(self) -> None:
        """Make ``run`` return after its current tick."""
        self._stop.set()
