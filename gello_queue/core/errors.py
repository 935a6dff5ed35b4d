"""Errors a user or operator can meet, each with a message that says what to do."""

from __future__ import annotations


class GelloError(Exception):
    """Base of every error gello raises on purpose."""


class ConfigurationError(GelloError):
    """A setting or option is wrong; the message names it and the valid values."""


class PayloadValidationError(GelloError):
    """A payload does not match its job's model; nothing was enqueued."""


class UpcastError(GelloError):
    """A job's ``upcast`` raised, or returned something else than a dict, while upgrading a
    stored payload written by an older version of the job."""


class PayloadTooNewError(GelloError):
    """A stored payload was written by a newer version of its job class than the code
    running: a newer deploy dispatched it. Not a fault of the job: it waits for that code."""

    def __init__(self, message: str, *, stored: int, known: int) -> None:
        super().__init__(message)
        self.stored = stored
        self.known = known


class PayloadTooLargeError(GelloError):
    """A serialised job is over the configured size cap; nothing was enqueued."""


class UnknownJobError(GelloError):
    """A message names a job that is not registered in this process."""


class DuplicateJobNameError(GelloError):
    """Two job classes were registered under the same name."""


class EnvelopeError(GelloError):
    """A stored message is not a valid gello envelope."""


class DriverUnavailableError(GelloError):
    """The backend cannot be reached; the message names it with secrets redacted."""


class NotSupportedError(GelloError):
    """The driver cannot perform this operation (a declared capability it lacks)."""


class JobNotFoundError(GelloError):
    """No job (or failed job) has the given id."""


class WorkerNotFoundError(GelloError):
    """No live worker (or more than one) goes by the given id, name or host:pid."""


class JobFailedError(GelloError):
    """The job whose result was asked for ended in the failed store.

    Carries what was stored: ``job_id``, ``exception`` (the class name) and ``message``.
    """

    def __init__(self, job_id: str, exception: str, message: str) -> None:
        super().__init__(f"job {job_id} failed: {exception}: {message}")
        self.job_id = job_id
        self.exception = exception
        self.message = message


class ResultError(GelloError):
    """What ``handle`` returned cannot be kept as the job's result (not JSON, or too big)."""


# Control flow raised from inside ``handle``: not failures of gello itself.


class FailJob(Exception):
    """Raised inside ``handle`` to fail the job now, with no further retries."""


class ReleaseJob(Exception):
    """Raised inside ``handle`` to put the job back after ``delay_s`` without using an attempt."""

    def __init__(self, delay_s: float = 0.0, reason: str | None = None) -> None:
        super().__init__(reason or f"released for {delay_s:g}s")
        self.delay_s = delay_s
        self.reason = reason
