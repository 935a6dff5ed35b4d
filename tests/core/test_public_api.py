"""The public surface is declared, exact and importable: adding or removing a name is a
decision, made here as well as in ``gello_queue/__init__.py``."""

from __future__ import annotations

import gello_queue

PUBLIC = [
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


def test_all_is_exactly_the_public_names() -> None:
    assert sorted(gello_queue.__all__) == PUBLIC


def test_every_public_name_is_importable() -> None:
    for name in PUBLIC:
        assert getattr(gello_queue, name) is not None, name
