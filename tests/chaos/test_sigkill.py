"""At-least-once under fire: SIGKILL random workers while they run 2,000 jobs.

Pass: every job completed, none lost, and every job that ran twice was in flight in a
worker that was killed.
"""

from __future__ import annotations

import json
import random
import signal
import sys
import time
from collections import defaultdict
from pathlib import Path

import pytest
from chaos_harness import Backend

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "cli"))

JOBS = 2000
WORKERS = 3
KILLS = 20
BOUND_S = 120


def dispatch_all(backend: Backend, jobs: int) -> None:
    from app_jobs import Ledger

    from gello_queue import Queue, Settings

    settings = Settings(QUEUE_PREFIX=backend.env.get("QUEUE_PREFIX", "gello:"))  # type: ignore[call-arg]
    queue = Queue(backend.url, settings=settings)
    for start in range(0, jobs, 500):
        queue.bulk_blocking(
            [Ledger.make(key=f"j{i}", seconds=0.04) for i in range(start, start + 500)]
        )
    queue.close_blocking()


def test_sigkill_random_workers_loses_nothing(backend: Backend) -> None:
    if backend.name == "sqs":
        # moto's server scans the whole queue on every receive (1.5 s per receive at
        # 2,000 messages): the same run, scaled to what it serves within the bound.
        run_chaos(backend, 500, 10)
        return
    run_chaos(backend, JOBS, KILLS)


@pytest.mark.soak
@pytest.mark.timeout(1800)
def test_soak_sigkill_many_workers_for_minutes(backend: Backend) -> None:
    run_chaos(backend, 20_000, 150)


def run_chaos(backend: Backend, jobs: int, kills: int) -> None:
    bound = max(BOUND_S, jobs / 50)
    dispatch_all(backend, jobs)
    args = ("queue:work", "--concurrency", "4", "--sleep", "0.05")
    workers = [backend.spawn(*args) for _ in range(WORKERS)]
    killed: set[int] = set()
    rng = random.Random(7)
    started = time.monotonic()
    while len(killed) < kills and time.monotonic() - started < bound:
        time.sleep(rng.uniform(0.2, 0.4))
        victim = workers.pop(rng.randrange(len(workers)))
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=10)
        killed.add(victim.pid)
        workers.append(backend.spawn(*args))

    def done_keys() -> set[str]:
        return {key for kind, key, _ in backend.entries() if kind == "done"}

    # Done, and nothing left: a job a killed worker finished but never acknowledged
    # comes back (and runs again) once its lease lapses.
    deadline = time.monotonic() + bound
    while (len(done_keys()) < jobs or leftovers(backend)) and time.monotonic() < deadline:
        time.sleep(0.2)
    elapsed = time.monotonic() - started
    for worker in workers:
        worker.send_signal(signal.SIGTERM)
    for worker in workers:
        worker.wait(timeout=60)

    starts: dict[str, list[int]] = defaultdict(list)
    for kind, key, pid in backend.entries():
        if kind == "start":
            starts[key].append(pid)
    done = done_keys()
    lost = jobs - len(done)
    duplicates = {key: pids for key, pids in starts.items() if len(pids) > 1}
    print(
        f"\n{backend.name}: jobs {jobs}, kills {len(killed)}, lost {lost},"
        f" duplicates {len(duplicates)}, {elapsed:.1f} s"
    )
    assert len(killed) >= kills
    assert lost == 0, f"{lost} jobs never completed"
    for key, pids in duplicates.items():
        # Every run but the last was cut short by a kill.
        assert set(pids[:-1]) <= killed, f"{key} ran twice without a kill: {pids}"
    assert leftovers(backend) == {}
    assert elapsed < bound


def leftovers(backend: Backend) -> dict[str, dict[str, object]]:
    """Queues that still hold pending, reserved or failed jobs."""
    status = json.loads(backend.run("queue:status", "--json").stdout)
    return {
        q: c for q, c in status["queues"].items() if c["pending"] or c["reserved"] or c["failed"]
    }
