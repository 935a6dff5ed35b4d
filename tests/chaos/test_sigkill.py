"""At-least-once under fire: SIGKILL random workers while they run 2,000 jobs.

Pass: every job completed, none lost, and every job that ran twice was in flight in a
worker that was killed. A SIGKILLed worker or ``--processes`` supervisor leaves no
process of its own behind still running a handler or serving the queues.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import psutil
import pytest
from chaos_harness import Backend, alive, descendants
from helpers import wait_for

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "cli"))

JOBS = 2000
WORKERS = 3
KILLS = 20
BOUND_S = 120
BLOCKING_S = 10.0
"""How long each blocking handler runs: far longer than a handler may outlive its worker."""
ORPHAN_DEADLINE_S = 3.0
"""How long a handler process may go on after its worker died."""
WORKER_STOP_S = 15.0
"""How long a worker may take to stop (releasing its jobs) after its supervisor died."""


def dispatch_all(
    backend: Backend, jobs: int, *, seconds: float = 0.04, blocking: bool = False
) -> None:
    from app_jobs import BlockingLedger, Ledger

    from gello_queue import Queue, Settings

    job = BlockingLedger if blocking else Ledger
    settings = Settings(QUEUE_PREFIX=backend.env.get("QUEUE_PREFIX", "gello:"))  # type: ignore[call-arg]
    queue = Queue(backend.url, settings=settings)
    for start in range(0, jobs, 500):
        queue.bulk_blocking(
            [job.make(key=f"j{i}", seconds=seconds) for i in range(start, min(start + 500, jobs))]
        )
    queue.close_blocking()


@pytest.mark.timeout(300)  # SQS on moto: rescues wait out its longer lease
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


def running_handlers(backend: Backend) -> set[int]:
    """The processes that started a handler the ledger has not seen finish."""
    started: dict[str, int] = {}
    for kind, key, pid in backend.entries():
        if kind == "start":
            started[key] = pid
        else:
            started.pop(key, None)
    return set(started.values())


def wait_for_handlers(backend: Backend, count: int) -> set[int]:
    """The running handlers' processes, once there are at least ``count``."""
    deadline = time.monotonic() + 90
    while len(running := running_handlers(backend)) < count:
        assert time.monotonic() < deadline, f"{len(running)} of {count} handlers started"
        time.sleep(0.05)
    return running


def survivors_after(pids: set[int], deadline_s: float) -> set[int]:
    """Those of ``pids`` still running once they all ended or ``deadline_s`` passed."""
    deadline = time.monotonic() + deadline_s
    while (running := alive(pids)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return running


def kill_all(pids: set[int]) -> None:
    for pid in alive(pids):
        psutil.Process(pid).kill()


def settle(backend: Backend, jobs: int, workers: list[subprocess.Popen[bytes]]) -> set[int]:
    """Wait until every job is done and nothing is left; stop ``workers``; return the pids
    that finished a handler."""
    wait_for(
        lambda: (
            len({key for kind, key, _ in backend.entries() if kind == "done"}) == jobs
            and not leftovers(backend)
        ),
        timeout_s=BOUND_S,
    )
    for worker in workers:
        worker.send_signal(signal.SIGTERM)
    for worker in workers:
        worker.wait(timeout=60)
    return {pid for kind, _, pid in backend.entries() if kind == "done"}


@pytest.mark.timeout(300)
def test_sigkill_worker_ends_the_blocking_handlers_it_runs(backend: Backend) -> None:
    """Plain ``def handle`` jobs run in child processes of the worker: SIGKILL the worker
    and they end with it, instead of running on (and again, once rescued) beside the new
    worker that takes their jobs."""
    jobs = 4
    dispatch_all(backend, jobs, seconds=BLOCKING_S, blocking=True)
    args = ("queue:work", "--concurrency", str(jobs), "--sleep", "0.05")
    worker = backend.spawn(*args)
    handlers = wait_for_handlers(backend, jobs)
    assert handlers <= descendants(worker.pid)
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=10)
    try:
        survivors = survivors_after(handlers, ORPHAN_DEADLINE_S)
        assert not survivors, f"handlers still running after their worker died: {survivors}"
    finally:
        kill_all(handlers)
    finished_by = settle(backend, jobs, [backend.spawn(*args)])
    assert not finished_by & handlers, "a handler of the killed worker finished its job"
    assert leftovers(backend) == {}


@pytest.mark.timeout(300)
def test_sigkill_supervisor_stops_its_workers(backend: Backend) -> None:
    """``--processes 2``: SIGKILL the supervisor and its workers stop (their handler
    processes with them) instead of serving on; a restarted supervisor then runs 2
    workers, not 4, and every job completes."""
    processes, concurrency = 2, 2
    jobs = processes * concurrency
    dispatch_all(backend, jobs, seconds=BLOCKING_S, blocking=True)
    args = ("queue:work", "--processes", str(processes), "--concurrency", str(concurrency))
    supervisor = backend.spawn(*args, "--sleep", "0.05")
    # As many handlers as workers, not one each: SQS may hand one worker every job.
    handlers = wait_for_handlers(backend, processes)
    tree = descendants(supervisor.pid)
    assert handlers <= tree
    supervisor.send_signal(signal.SIGKILL)
    supervisor.wait(timeout=10)
    try:
        survivors = survivors_after(handlers, ORPHAN_DEADLINE_S)
        assert not survivors, f"handlers still running after their supervisor died: {survivors}"
        survivors = survivors_after(tree, WORKER_STOP_S)
        assert not survivors, f"workers still serving after their supervisor died: {survivors}"
    finally:
        kill_all(tree)
    restarted = backend.spawn(*args, "--sleep", "0.05")
    wait_for(lambda: len(live_workers(backend)) == processes, timeout_s=90)
    workers = {p.pid for p in psutil.Process(restarted.pid).children()}
    assert len(workers) == processes
    assert live_workers(backend) <= workers
    finished_by = settle(backend, jobs, [restarted])
    assert not finished_by & handlers, "a handler of the killed supervisor finished its job"
    assert leftovers(backend) == {}


def live_workers(backend: Backend) -> set[int]:
    """Pids of the workers with a live heartbeat (a worker is named ``host:pid``)."""
    status = json.loads(backend.run("queue:status", "--json").stdout)
    return {int(w["name"].rsplit(":", 1)[1]) for w in status["workers"]}
