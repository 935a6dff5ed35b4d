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
plus these modules:

- ``gello_queue.middleware``: the ready-made job middleware (``RateLimited``...);
- ``gello_queue.events``: the lifecycle events a worker or a queue announces;
- ``gello_queue.testing`` and the pytest plugin: fakes for an application's own tests;
- ``gello_queue.inspection``: the read model, admin actions and tooling the CLI and the
  dashboard use. ``gello_cli`` imports nothing else of the library than this and the
  root (an import-linter contract in ``pyproject.toml`` holds it to that).

Every other module (``core``, ``ports``, ``drivers``, ``worker``, ``orchestration``,
``settings``, ``health``, ``metrics``...) is internal: it may change between releases
without notice; what of it is supported is re-exported here or by those modules.
"""

from gello_queue.core.envelope import Envelope
from gello_queue.core.errors import (
    ConfigurationError,
    DriverUnavailableError,
    DuplicateJobNameError,
    EnvelopeError,
    FailJob,
    GelloError,
    JobFailedError,
    JobNotFoundError,
    NotSupportedError,
    PayloadTooLargeError,
    PayloadTooNewError,
    PayloadValidationError,
    ReleaseJob,
    UnknownJobError,
    UpcastError,
    WorkerNotFoundError,
)
from gello_queue.core.job import Job, PendingDispatch
from gello_queue.core.registry import JobRegistry, default_registry
from gello_queue.core.retry import Exponential
from gello_queue.core.states import JobState, WorkerState
from gello_queue.core.unique import DispatchResult
from gello_queue.job_status import JobFailure, JobStatus
from gello_queue.orchestration.admin import Batches
from gello_queue.orchestration.batch import Batch, BatchHandle
from gello_queue.orchestration.chain import Chain
from gello_queue.orchestration.schedule import Schedule, Scheduler, ScheduleRegistry, schedule
from gello_queue.ports import (
    BatchRecord,
    FailedJob,
    JobRecord,
    Progress,
    QueueCounts,
    WorkerRecord,
)
from gello_queue.queue import Queue, default_queue, set_default_queue
from gello_queue.settings import Settings, load_settings
from gello_queue.worker.runtime import Worker, WorkerStatus
from gello_queue.worker.states import ExitReason

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
    "JobFailedError",
    "JobFailure",
    "JobNotFoundError",
    "JobRecord",
    "JobRegistry",
    "JobState",
    "JobStatus",
    "NotSupportedError",
    "PayloadTooLargeError",
    "PayloadTooNewError",
    "PayloadValidationError",
    "PendingDispatch",
    "Progress",
    "Queue",
    "QueueCounts",
    "ReleaseJob",
    "Schedule",
    "ScheduleRegistry",
    "Scheduler",
    "Settings",
    "UnknownJobError",
    "UpcastError",
    "Worker",
    "WorkerNotFoundError",
    "WorkerRecord",
    "WorkerState",
    "WorkerStatus",
    "default_queue",
    "default_registry",
    "load_settings",
    "schedule",
    "set_default_queue",
]
