"""``gello queue:work --processes N``: one command that runs N worker processes.

The supervisor starts N copies of the same ``queue:work`` command (without
``--processes``), restarts any that exits (a crash, ``--memory``, ``queue:restart``), and on
SIGTERM/SIGINT forwards the signal and waits for every child, so a process manager sees
one process. Bounded runs (``--stop-when-empty``, ``--once``, ``--max-jobs``,
``--max-time``) are not restarted: the supervisor ends when all children have.

Children never outlive the supervisor: should it die without forwarding a signal
(SIGKILL, a crash), each child stops at once as after a second SIGINT, releasing its
running jobs, so a restarted supervisor's N workers are the only ones serving.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from types import FrameType

import structlog

RESTART_BACKOFF_S = (0.1, 0.5, 1.0, 2.0, 5.0)
"""Delay before restarting a child that keeps crashing, by consecutive crash count."""


class Supervisor:
    """Keeps ``processes`` children running ``argv``."""

    def __init__(self, argv: Sequence[str], processes: int, *, bounded: bool) -> None:
        self.argv = list(argv)
        self.processes = processes
        self.bounded = bounded
        self.children: dict[str, subprocess.Popen[bytes]] = {}
        self.crashes: dict[str, int] = {}
        self.stopping = False
        self.log = structlog.get_logger("gello")
        self.lifeline = -1

    def _argv(self, slot: str) -> list[str]:
        """The command of the child in ``slot``."""
        return self.argv

    def start_child(self, slot: str) -> None:
        self.children[slot] = subprocess.Popen(
            [*self._argv(slot), "--name-suffix", f"-{slot}", "--lifeline-fd", str(self.lifeline)],
            pass_fds=(self.lifeline,),
        )
        self.log.info("process_started", slot=slot, pid=self.children[slot].pid)

    def _first_slots(self) -> list[str]:
        return [str(n) for n in range(self.processes)]

    def _tick(self) -> None:
        """Called between polls of the children (a balancing supervisor decides here)."""

    def _restarts(self, slot: str) -> bool:
        """Whether the child that left ``slot`` is replaced (not one stopped on purpose)."""
        return True

    def _forward(self, signum: int, _: FrameType | None) -> None:
        self.stopping = True
        for child in self.children.values():
            if child.poll() is None:
                child.send_signal(signum)

    def run(self) -> int:
        """Supervise until stopped (or, for bounded runs, until every child ended)."""
        signal.signal(signal.SIGTERM, self._forward)
        signal.signal(signal.SIGINT, self._forward)
        # Children inherit the read end; only this process holds the write end and never
        # writes, so they read end-of-file exactly when it has exited, however it ended.
        self.lifeline, writer = os.pipe()
        try:
            return self._supervise()
        finally:
            os.close(writer)
            os.close(self.lifeline)

    def _supervise(self) -> int:
        for slot in self._first_slots():
            self.start_child(slot)
        worst = 0
        while self.children:
            time.sleep(0.1)
            if not self.stopping:
                self._tick()
            for slot, child in list(self.children.items()):
                code = child.poll()
                if code is None:
                    continue
                del self.children[slot]
                worst = max(worst, code if code != 12 else 0)
                if self.stopping or (self.bounded and code == 0) or not self._restarts(slot):
                    continue
                crashes = self.crashes.get(slot, 0) + (1 if code not in (0, 12) else 0)
                self.crashes[slot] = crashes
                self.log.warning("process_exited", slot=slot, pid=child.pid, exit_code=code)
                time.sleep(
                    RESTART_BACKOFF_S[min(crashes, len(RESTART_BACKOFF_S) - 1)] if crashes else 0
                )
                if not self.stopping:
                    self.start_child(slot)
        return worst


def stop_with_supervisor(
    loop: asyncio.AbstractEventLoop, lifeline: int, stop_now: Callable[[], None]
) -> None:
    """In a supervised worker: call ``stop_now`` once the supervisor has exited.

    The supervisor never writes to ``lifeline``, so it turns readable only at end-of-file,
    and does so at once if the supervisor ended before this was called.
    """

    def gone() -> None:
        loop.remove_reader(lifeline)
        structlog.get_logger("gello").error("supervisor_gone", pid=os.getpid())
        stop_now()

    loop.add_reader(lifeline, gone)


def supervise(args: Sequence[str], processes: int, *, bounded: bool) -> int:
    """Run the supervisor over ``gello queue:work`` with ``args``; return its exit code."""
    argv = [sys.executable, "-m", "gello_cli", "queue:work", *args]
    return Supervisor(argv, processes, bounded=bounded).run()
