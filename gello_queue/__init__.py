"""gello: a job queue with Laravel's API, asyncio speed and a terminal dashboard.

Define a job::

    from pydantic import BaseModel
    from gello_queue import Job

    class WelcomePayload(BaseModel):
        user_id: int
        email: str

    class SendWelcomeEmail(Job[WelcomePayload]):
        tries = 3
        backoff = [60, 300, 900]

        async def handle(self, payload: WelcomePayload) -> None: ...

    job_id = await SendWelcomeEmail.dispatch(user_id=1, email="ada@example.com")

The supported surface is ``__all__`` here (pinned by ``tests/core/test_public_api.py``),
plus three modules for tools: ``gello_queue.inspection`` (the read model and admin
actions the CLI and dashboard use), ``gello_queue.testing`` and the pytest plugin. Every
other module is internal: it may change between releases without notice.
"""

from gello_queue.core.envelope import Envelope
from gello_queue.core.errors import (
    ConfigurationError,
    DriverUnavailableError,
    DuplicateJobNameError,
    EnvelopeError,
    FailJob,
    GelloError,
    JobNotFoundError,
    NotSupportedError,
    PayloadTooLargeError,
    PayloadValidationError,
    ReleaseJob,
    UnknownJobError,
)
from gello_queue.core.job import Job, PendingDispatch
from gello_queue.core.registry import JobRegistry, default_registry
from gello_queue.core.retry import Exponential
from gello_queue.core.states import JobState
from gello_queue.core.unique import DispatchResult
from gello_queue.orchestration.admin import Batches
from gello_queue.orchestration.batch import Batch, BatchHandle
from gello_queue.orchestration.chain import Chain
from gello_queue.orchestration.schedule import Schedule, Scheduler, ScheduleRegistry, schedule
from gello_queue.ports import BatchRecord, FailedJob, JobRecord, QueueCounts, WorkerRecord
from gello_queue.queue import Queue, default_queue, set_default_queue
from gello_queue.settings import Settings, load_settings
from gello_queue.worker.runtime import Worker, WorkerStatus
from gello_queue.worker.states import ExitReason, WorkerState

# The composition root: name the worker's default extensions (metrics, probes, tracing,
# retention), which live above the worker and so cannot be imported by it.
from gello_queue import extensions as _extensions  # noqa: F401  isort: skip

__all__ = [
    "Batch",
    "BatchHandle",
    "BatchRecord",
    "Batches",
    "Chain",
    "ConfigurationError",
    "DispatchResult",
    "DriverUnavailableError",
    "DuplicateJobNameError",
    "Envelope",
    "EnvelopeError",
    "ExitReason",
    "Exponential",
    "FailJob",
    "FailedJob",
    "GelloError",
    "Job",
    "JobNotFoundError",
    "JobRecord",
    "JobRegistry",
    "JobState",
    "NotSupportedError",
    "PayloadTooLargeError",
    "PayloadValidationError",
    "PendingDispatch",
    "Queue",
    "QueueCounts",
    "ReleaseJob",
    "Schedule",
    "ScheduleRegistry",
    "Scheduler",
    "Settings",
    "UnknownJobError",
    "Worker",
    "WorkerRecord",
    "WorkerState",
    "WorkerStatus",
    "default_queue",
    "default_registry",
    "load_settings",
    "schedule",
    "set_default_queue",
]
