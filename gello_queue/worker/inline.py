"""The ``sync`` connection: runs each job inline at dispatch, as Laravel's sync connection does.

It is a memory driver whose ``push`` runs the worker's executor, so it lives beside the
worker rather than among the drivers (which never import the worker).

For development and tests: dispatch returns after the job ran. A failing job is recorded
in the (in-memory) failed store and its exception is raised to the caller; delays are
ignored and there are no retries.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from gello_queue.core.encryption import Keyring
from gello_queue.core.envelope import Envelope
from gello_queue.core.errors import GelloError
from gello_queue.core.registry import JobRegistry, default_registry
from gello_queue.drivers.memory import MemoryDriver
from gello_queue.worker.executor import MAX_RESULT_BYTES, Executor, ExecutorOptions, Outcome

if TYPE_CHECKING:
    pass


class SyncJobFailed(GelloError):
    """A job run inline by the sync driver failed; see the failed store for details."""


class SyncDriver(MemoryDriver):
    """A memory driver whose ``push`` runs the jobs right away."""

    name = "sync"

    def __init__(
        self,
        registry: JobRegistry | None = None,
        *,
        keep_results_s: int = 0,
        max_result_bytes: int = MAX_RESULT_BYTES,
        keep_completed: int = 0,
        keep_completed_payloads: bool = False,
        keyring: Keyring | None = None,
    ) -> None:
        super().__init__()
        self.registry = registry or default_registry
        self.options = ExecutorOptions(
            backoff=0.0,
            keep_results_s=keep_results_s,
            max_result_bytes=max_result_bytes,
            keep_completed=keep_completed,
            keep_completed_payloads=keep_completed_payloads,
            keyring=keyring,
        )

    async def push(self, envelopes: Sequence[Envelope]) -> list[str]:
        now = await self.now()
        ids = await super().push(
            [e.with_changes(available_at=now, max_attempts=1) for e in envelopes]
        )
        executor = Executor(self, self.registry, self.options, worker_name="sync")
        for env in envelopes:
            for res in await self.reserve([env.queue], 1, lease_s=3600, worker_id="sync"):
                if await executor.run(res) is Outcome.FAILED:
                    failed = await self.failed_find(res.id)
                    detail = f"{failed.exception}: {failed.message}" if failed else "failed"
                    raise SyncJobFailed(f"job {env.name} ({res.id}) failed: {detail}")
        return ids
