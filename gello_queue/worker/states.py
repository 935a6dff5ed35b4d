"""Why a worker stops, and the exit code that says so: shared by the loop and its
maintenance. The states themselves are ``core.states.WorkerState``."""

from __future__ import annotations

from enum import StrEnum


class ExitReason(StrEnum):
    """Why ``start()`` returned; the CLI maps it to the process exit code."""

    STOPPED = "stopped"
    EMPTY = "empty"
    MAX_JOBS = "max_jobs"
    MAX_TIME = "max_time"
    MEMORY = "memory"
    RESTART = "restart"
    QUIET = "quiet"


EXIT_CODES = {ExitReason.MEMORY: 12}
"""Process exit codes other than 0; 12 (as Laravel) tells a process manager to restart."""
