"""Selecting and grouping failed jobs: the filter language and the fingerprint."""

from __future__ import annotations

import hashlib
import re
import shlex
from dataclasses import dataclass, replace

from gello_queue.ports import FailedJob

_FILTER_KEYS = {"queue": "queue", "q": "queue", "name": "name", "job": "name"}
_FILTER_KEYS |= {"exc": "exception", "exception": "exception", "error": "exception"}
_FILTER_KEYS |= {"fp": "fingerprint", "group": "fingerprint"}

_VOLATILE = re.compile(
    r"[0-9a-f]{8}-[0-9a-f-]{27,}|0x[0-9a-f]+|\b[0-9a-f]{12,}\b|'[^']*'|\"[^\"]*\"|\d+(\.\d+)?",
    re.IGNORECASE,
)


def fingerprint(job: FailedJob) -> str:
    """Groups failures that are "the same": job, exception type and the message with
    ids, numbers and quoted values taken out."""
    normal = _VOLATILE.sub("#", job.message)
    return hashlib.sha1(f"{job.name}|{job.exception}|{normal}".encode()).hexdigest()[:10]


@dataclass(frozen=True, slots=True)
class FailedFilter:
    """Which failed jobs an action or listing concerns; every part must match.

    ``name``, ``exception`` and ``text`` are case-insensitive substrings; ``text`` is
    searched in the id, job name, exception and message.
    """

    queue: str | None = None
    name: str | None = None
    exception: str | None = None
    text: str | None = None
    fingerprint: str | None = None

    @classmethod
    def parse(cls, query: str) -> FailedFilter:
        """``queue:emails name:Invoice exc:Timeout "some words"`` → a filter."""
        parts: dict[str, str] = {}
        words: list[str] = []
        try:
            tokens = shlex.split(query)
        except ValueError:
            tokens = query.split()
        for token in tokens:
            key, sep, value = token.partition(":")
            if sep and key.lower() in _FILTER_KEYS and value:
                parts[_FILTER_KEYS[key.lower()]] = value
            else:
                words.append(token)
        return cls(text=" ".join(words) or None, **parts)

    @property
    def only_queue(self) -> bool:
        """True when the driver can apply the whole filter itself."""
        return (
            self.name is None
            and self.exception is None
            and self.text is None
            and self.fingerprint is None
        )

    def matches(self, job: FailedJob) -> bool:
        """Whether ``job`` is selected."""
        if self.queue is not None and job.queue != self.queue:
            return False
        if self.name is not None and self.name.lower() not in job.name.lower():
            return False
        if self.exception is not None and self.exception.lower() not in job.exception.lower():
            return False
        if self.fingerprint is not None and fingerprint(job) != self.fingerprint:
            return False
        if self.text is not None:
            haystack = f"{job.id} {job.name} {job.exception} {job.message}".lower()
            return self.text.lower() in haystack
        return True

    def describe(self) -> str:
        """The filter in the query language (empty when it selects everything)."""
        parts = [
            f"{k}:{v}"
            for k, v in (
                ("queue", self.queue),
                ("name", self.name),
                ("exc", self.exception),
                ("fp", self.fingerprint),
            )
            if v is not None
        ]
        if self.text is not None:
            parts.append(shlex.quote(self.text) if " " in self.text else self.text)
        return " ".join(parts)


@dataclass(frozen=True, slots=True)
class FailureGroup:
    """Failed jobs that share a fingerprint (see ``fingerprint``)."""

    fingerprint: str
    name: str
    exception: str
    message: str
    """The newest failure's message, as an example."""
    count: int
    queues: list[str]
    newest_at: float
    oldest_at: float


def merge_queue(match: FailedFilter | None, queue: str | None) -> FailedFilter:
    """``match`` (everything when None) narrowed to ``queue`` unless it names one."""
    match = match or FailedFilter()
    if queue is not None and match.queue is None:
        return replace(match, queue=queue)
    return match
