"""Payload schema evolution: reading a stored payload into the model of the code running.

A job class declares ``version`` (1 by default) and writes it into every message it
dispatches (``Envelope.payload_version``). A message written by an older version is
upgraded one step at a time with the class's ``upcast`` before the model validates it,
so a deploy that changes the payload model does not fail the jobs the previous deploy
left in storage. A message written by a newer version (a newer deploy dispatched it
while this code's workers still run) cannot be read here: it is not the job's fault, and
the worker puts it back for the newer code without using an attempt.

The worker, ``Queue`` tools and ``gello queue:check`` all read stored payloads through
``read_payload``, so they agree on what this code can run.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from gello_queue.core.errors import PayloadTooNewError, PayloadValidationError, UpcastError
from gello_queue.core.pending_dispatch import describe

if TYPE_CHECKING:
    from gello_queue.core.job import Job

NEWER_PAYLOAD_RETRY_S = 10.0
"""Seconds a worker puts back a message written by a newer version of its job before it
is offered again: long enough not to spin on it, short enough for a rolling deploy's new
workers to take it soon."""


def upcast_payload(job: type[Job[Any]], version: int, data: dict[str, Any]) -> dict[str, Any]:
    """``data``, stored at ``version``, in the shape of ``job.version``: each older step
    upgraded by ``job.upcast(step, data)`` in turn. ``data`` itself is left as it was.

    Raises:
        PayloadTooNewError: ``version`` is newer than ``job.version``.
        UpcastError: ``upcast`` raised, or returned something else than a dict.
    """
    if version > job.version:
        raise PayloadTooNewError(
            f"payload version {version} of {job.name} is newer than this code's version"
            f" {job.version}: it waits for a worker running the newer code",
            stored=version,
            known=job.version,
        )
    if version == job.version:
        return data
    # A copy: an upcast that changes the dict in place and then fails must not leave a
    # half-upgraded payload in the message stored as failed.
    data = copy.deepcopy(data)
    for step in range(version, job.version):
        try:
            data = job.upcast(step, data)
        except Exception as exc:
            raise UpcastError(
                f"{job.name}.upcast from version {step} raised {type(exc).__name__}: {exc}"
            ) from exc
        if not isinstance(data, dict):
            raise UpcastError(
                f"{job.name}.upcast from version {step} returned {type(data).__name__}, not a dict"
            )
    return data


def read_payload(
    job: type[Job[Any]], version: int, data: dict[str, Any]
) -> tuple[dict[str, Any], BaseModel]:
    """The stored payload ``data`` (written at ``version``) upcast to ``job.version``, as
    JSON and validated by the job's model.

    Raises:
        PayloadTooNewError: ``version`` is newer than ``job.version``.
        UpcastError: ``upcast`` failed.
        PayloadValidationError: the (upcast) payload does not match the model; the
            message names each wrong field.
    """
    current = upcast_payload(job, version, data)
    try:
        return current, job.payload_model.model_validate(current)
    except ValidationError as exc:
        upcast = f" (upcast from version {version})" if version != job.version else ""
        raise PayloadValidationError(f"payload{upcast} is invalid: {describe(exc)}") from None
