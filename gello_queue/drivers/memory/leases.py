"""Leases in the memory driver after reserving: release, fail, renewal and rescue."""

from __future__ import annotations

from collections.abc import Sequence

from gello_queue.core.envelope import Envelope
from gello_queue.core.rescue import LOST_WORKER_EXCEPTION, LOST_WORKER_REASON, rescue_fails
from gello_queue.drivers.memory.store import MemoryStore
from gello_queue.ports import Failure, RescueResult, Reservation


class Leases:
    """Each call acts only while the caller's token still holds the job's lease."""

    def __init__(self, store: MemoryStore) -> None:
        self.store = store

    async def release(self, reservation: Reservation, envelope: Envelope, delay_s: float) -> bool:
        s = self.store
        with s.lock:
            job = s.held(reservation)
            if job is None:
                return False
            job.token = job.reserved_by = job.lease_expires_at = None
            job.attempts = envelope.attempts
            job.available_at = s.clock() + delay_s
            job.body = envelope.encode().decode()
            s.reserved.discard(job.id)
            s.file(job)
            s.version += 1
            return True

    async def fail(self, reservation: Reservation, body: str, failure: Failure) -> bool:
        s = self.store
        with s.lock:
            job = s.held(reservation)
            if job is None:
                return False
            s.drop(job)
            s.to_failed(job, body, failure)
            return True

    async def extend(self, reservations: Sequence[Reservation], lease_s: float) -> list[str]:
        lost: list[str] = []
        with self.store.lock:
            now = self.store.clock()
            for res in reservations:
                job = self.store.held(res)
                if job is None:
                    lost.append(res.id)
                else:
                    job.lease_expires_at = now + lease_s
        return lost

    async def rescue(self) -> RescueResult:
        s = self.store
        result = RescueResult()
        with s.lock:
            now = s.clock()
            for job in [s.jobs[i] for i in s.reserved]:
                if job.lease_expires_at is None or job.lease_expires_at > now:
                    continue
                if job.reserved_by:
                    result.held_by[job.id] = job.reserved_by
                if rescue_fails(job.attempts, job.max_attempts):
                    s.drop(job)
                    failure = Failure(LOST_WORKER_EXCEPTION, LOST_WORKER_REASON)
                    s.to_failed(job, job.body, failure)
                    result.failed.append(job.id)
                else:
                    job.token = job.reserved_by = job.lease_expires_at = None
                    job.available_at = now
                    s.reserved.discard(job.id)
                    s.file(job)
                    result.requeued.append(job.id)
            if result.requeued:
                s.version += 1
        return result
