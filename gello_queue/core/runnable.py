"""Whether this code could run a stored message: what ``gello queue:check`` asks of every
job in storage before a deploy, answered as a worker would find out when taking it.

A message this code cannot run is *stranded*: its job name is not registered, its payload
does not validate even after upcasting, or a newer deploy wrote it (its envelope format
or its payload version is newer than this code understands).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from gello_queue.core.encryption import DecryptionError, Keyring, open_payload
from gello_queue.core.envelope import ENVELOPE_VERSION, Envelope, load_json
from gello_queue.core.errors import (
    EnvelopeError,
    PayloadTooNewError,
    PayloadValidationError,
    UnknownJobError,
    UpcastError,
)
from gello_queue.core.payload_versions import read_payload
from gello_queue.core.registry import JobRegistry


class StrandReason(StrEnum):
    """Why this code could not run a stored message."""

    NOT_REGISTERED = "not_registered"
    """No job class is registered under its name (renamed, moved or deleted)."""
    INVALID_PAYLOAD = "invalid_payload"
    """Its payload does not validate against the job's model, after upcasting (or the
    job's ``upcast`` fails on it)."""
    NEWER_VERSION = "newer_version"
    """A newer deploy wrote it: its payload version, or its envelope format, is newer than
    this code's."""
    UNREADABLE = "unreadable"
    """It is not a gello envelope at all (no code can run it)."""


@dataclass(frozen=True, slots=True)
class Stranding:
    """Why one stored message could not run here."""

    reason: StrandReason
    name: str
    """The job name it carries (``?`` when it cannot be read)."""
    detail: str
    """The error a worker would meet, in one line."""


def stranding_of_body(
    registry: JobRegistry, body: str | bytes, keyring: Keyring | None = None
) -> Stranding | None:
    """Why the stored ``body`` could not run against ``registry``; None when it could
    (``keyring`` opens encrypted payloads, see ``stranding_of``)."""
    try:
        data = load_json(body)
    except EnvelopeError as exc:
        return Stranding(StrandReason.UNREADABLE, "?", f"not a gello envelope: {exc}")
    name = str(data.get("name", "?")) if isinstance(data, dict) else "?"
    version = data.get("v") if isinstance(data, dict) else None
    if type(version) is int and version > ENVELOPE_VERSION:
        detail = (
            f"envelope format version {version} is newer than this code's version"
            f" {ENVELOPE_VERSION}: a newer gello wrote it"
        )
        return Stranding(StrandReason.NEWER_VERSION, name, detail)
    try:
        env = Envelope.from_dict(data)
    except EnvelopeError as exc:
        return Stranding(StrandReason.UNREADABLE, name, f"not a gello envelope: {exc}")
    return stranding_of(registry, env, keyring)


def stranding_of(
    registry: JobRegistry, env: Envelope, keyring: Keyring | None = None
) -> Stranding | None:
    """Why ``env`` could not run against ``registry``; None when it could.

    An encrypted payload is opened with ``keyring``; without one, only its version is
    checked (its fields cannot be read here, and the worker, holding the key, checks them).
    """
    try:
        job = registry.get(env.name)
    except UnknownJobError as exc:
        return Stranding(StrandReason.NOT_REGISTERED, env.name, str(exc))
    payload = env.payload
    if env.encrypted is not None:
        if keyring is None:
            if env.payload_version > job.version:
                detail = f"payload version {env.payload_version} is newer than {job.version}"
                return Stranding(StrandReason.NEWER_VERSION, env.name, detail)
            return None
        try:
            payload = open_payload(env.payload, env.encrypted, keyring)
        except DecryptionError as exc:
            return Stranding(StrandReason.INVALID_PAYLOAD, env.name, str(exc))
    try:
        read_payload(job, env.payload_version, payload)
    except PayloadTooNewError as exc:
        return Stranding(StrandReason.NEWER_VERSION, env.name, str(exc))
    except (UpcastError, PayloadValidationError) as exc:
        return Stranding(StrandReason.INVALID_PAYLOAD, env.name, str(exc))
    return None
