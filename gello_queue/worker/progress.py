"""Where a running job's progress goes: the driver's ``ProgressStore``, through the
throttle of ``gello_queue.core.progress``.

Progress is advice, not an outcome: a write the backend refuses (or a driver without the
port) is logged once per attempt, and the job runs on.
"""

from __future__ import annotations

from gello_queue.core.progress import KEEP_S, Listener, ProgressThrottle
from gello_queue.core.records import Progress
from gello_queue.core.redaction import redact_url
from gello_queue.observability import get_logger
from gello_queue.ports import ProgressStore, QueueDriver


def progress_throttle(
    driver: QueueDriver, job_id: str, name: str, listener: Listener | None = None
) -> ProgressThrottle:
    """The sink of one attempt of job ``job_id`` (of class ``name``) on ``driver``;
    ``listener`` is told of every value reported."""
    warned = False

    def warn(reason: str) -> None:
        nonlocal warned
        if not warned:
            warned = True
            get_logger().warning("progress_not_stored", job=name, id=job_id, reason=reason)

    async def write(progress: Progress) -> None:
        # Looked up per write (four a second at most), not per attempt: most jobs report
        # no progress, and a protocol check costs microseconds on every job.
        store = driver if isinstance(driver, ProgressStore) else None
        if store is None:
            warn(f"the {driver.name} driver keeps no job progress")
            return
        try:
            await store.progress_put(job_id, progress, KEEP_S)
        except Exception as exc:
            warn(f"{type(exc).__name__}: {redact_url(str(exc))}")

    return ProgressThrottle(write, listener=listener)
