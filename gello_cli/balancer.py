"""``gello queue:work --queue a,b --processes 2..8 --balance auto``: a supervisor whose
children each serve one queue, moved between queues by workload, as Horizon's
``balance = auto``.

Every ``cooldown_s`` it reads each queue's pending jobs and typical run time (the median
of the last five minutes, from the stored timings) through the public ``Inspector``, asks
``gello_queue.core.balance.rebalance`` for the next allocation and applies it: new
children start at once, surplus ones get SIGTERM and finish their running jobs (their
``--grace``). Each change is one ``balanced`` log line and an operational event that
the dashboard (overview hints, workers screen) and ``queue:status`` show. A backend
that does not answer keeps the allocation as it is.
"""

from __future__ import annotations

import os
import signal
import socket
import time
from collections.abc import Sequence

from gello_cli.supervisor import Supervisor
from gello_cli.tui.backend import Backend
from gello_queue import Queue
from gello_queue.inspection import BalanceLimits, Inspector, rebalance, workload

STATS_WINDOW_S = 300.0
"""Run times are the median of the last five minutes."""


class BalancingSupervisor(Supervisor):
    """A ``Supervisor`` whose children serve one queue each; see the module docstring."""

    def __init__(
        self,
        argv: Sequence[str],
        queues: Sequence[str],
        limits: BalanceLimits,
        *,
        cooldown_s: float,
        url: str | None,
    ) -> None:
        limits.check_queues(len(queues))
        self.queues = list(queues)
        self.limits = limits
        self.cooldown_s = cooldown_s
        self.url = url
        self.allocation = rebalance({}, dict.fromkeys(self.queues, 0.0), _unshifted(limits))
        self.retired: set[str] = set()
        """Children told to stop by a decision: not restarted when they exit."""
        self.next_index = dict.fromkeys(self.queues, 0)
        self.decided_at = time.monotonic()
        self._backend: Backend | None = None
        super().__init__(argv, sum(self.allocation.values()), bounded=False)

    def run(self) -> int:
        try:
            return super().run()
        finally:
            if self._backend is not None:
                self._backend.close()

    # -- the supervisor's hooks ---------------------------------------------------------
    def _argv(self, slot: str) -> list[str]:
        return [*self.argv, "--queue", queue_of(slot)]

    def _first_slots(self) -> list[str]:
        return [self._new_slot(q) for q, n in self.allocation.items() for _ in range(n)]

    def _restarts(self, slot: str) -> bool:
        return slot not in self.retired

    def _tick(self) -> None:
        """Decide once per cooldown, and apply the decision."""
        if time.monotonic() - self.decided_at < self.cooldown_s:
            return
        self.decided_at = time.monotonic()
        try:
            loads = self.workloads()
        except Exception as exc:  # the backend is down: keep the processes as they are
            self.log.warning("balance_skipped", error=repr(exc))
            return
        wanted = rebalance(self.allocation, loads, self.limits)
        if wanted != self.allocation:
            self.log.info(
                "balanced",
                processes={q: f"{self.allocation[q]}->{wanted[q]}" for q in self.queues},
                workload_s={q: round(loads[q], 1) for q in self.queues},
            )
            detail = ", ".join(
                f"{q} {self.allocation[q]}->{wanted[q]} ({loads[q]:.0f}s of work)"
                for q in self.queues
                if wanted[q] != self.allocation[q]
            )
            self._apply(wanted)
            self._record(detail)

    # -- deciding -----------------------------------------------------------------------
    def workloads(self) -> dict[str, float]:
        """Each queue's pending jobs times their median run time (seconds of work)."""
        if self._backend is None:
            self._backend = Backend(Queue(self.url))

        async def read(inspector: Inspector) -> dict[str, float]:
            snapshot = await inspector.snapshot()
            stats = await inspector.stats(window_s=STATS_WINDOW_S)
            loads = {}
            for queue in self.queues:
                row = stats.queue(queue)
                counts = snapshot.queues.get(queue)
                pending = 0 if counts is None else counts.pending
                loads[queue] = workload(pending, None if row is None else row.run_p(0.5))
            return loads

        return self._backend.call_blocking(read, timeout_s=10)

    def _record(self, detail: str) -> None:
        """Keep the decision in the backend, for the dashboards and ``queue:status``."""
        me = f"{socket.gethostname()}:{os.getpid()}"
        assert self._backend is not None  # the workloads were read through it
        try:
            self._backend.call_blocking(lambda i: i.record_balance(me, detail), timeout_s=10)
        except Exception as exc:  # the decision stands; only its record is lost
            self.log.warning("balance_not_recorded", error=repr(exc))

    def _apply(self, wanted: dict[str, int]) -> None:
        for queue in self.queues:
            live = sorted(
                (s for s in self.children if queue_of(s) == queue and s not in self.retired),
                key=lambda s: int(s.rpartition("-")[2]),
            )
            for slot in live[wanted[queue] :]:  # the newest go first
                self.retired.add(slot)
                self.children[slot].send_signal(signal.SIGTERM)
            for _ in range(wanted[queue] - len(live)):
                self.start_child(self._new_slot(queue))
        self.allocation = wanted

    def _new_slot(self, queue: str) -> str:
        index = self.next_index[queue]
        self.next_index[queue] = index + 1
        return f"{queue}-{index}"


def queue_of(slot: str) -> str:
    """The queue a balanced child's slot (``emails-3``) serves."""
    return slot.rpartition("-")[0]


def _unshifted(limits: BalanceLimits) -> BalanceLimits:
    """``limits`` allowing any move: the first allocation is the target itself."""
    return BalanceLimits(
        limits.total_min,
        limits.total_max,
        limits.min_per_queue,
        limits.max_per_queue,
        max_shift=limits.total_max,
    )
