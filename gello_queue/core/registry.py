"""Job classes by registered name: the only way a stored message finds its code.

A message names a job; the worker looks that name up here and never imports a path
taken from the message.
"""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING, Any

from gello_queue.core.errors import DuplicateJobNameError, UnknownJobError

if TYPE_CHECKING:
    from gello_queue.core.job import Job


class JobRegistry:
    """A mapping of job names to job classes; a duplicate name is an error."""

    def __init__(self) -> None:
        self._jobs: dict[str, type[Job[Any]]] = {}

    def register(self, job: type[Job[Any]]) -> None:
        """Add ``job`` under ``job.name``.

        Raises:
            DuplicateJobNameError: another class already has that name.
        """
        existing = self._jobs.get(job.name)
        if existing is not None and not _same(existing, job):
            raise DuplicateJobNameError(
                f"job name {job.name!r} is taken by {_origin(existing)}; "
                f"give {_origin(job)} another `name`"
            )
        self._jobs[job.name] = job

    def get(self, name: str) -> type[Job[Any]]:
        """The class registered as ``name``.

        Raises:
            UnknownJobError: nothing is registered under that name.
        """
        try:
            return self._jobs[name]
        except KeyError:
            close = difflib.get_close_matches(name, self._jobs, n=3)
            hint = f" (did you mean {', '.join(map(repr, close))}?)" if close else ""
            raise UnknownJobError(
                f"no job named {name!r} is registered{hint}: import the module that defines"
                " it in the worker's --app module"
            ) from None

    def names(self) -> list[str]:
        """Registered names, sorted."""
        return sorted(self._jobs)

    def __contains__(self, name: object) -> bool:
        return name in self._jobs


def _origin(job: type[Any]) -> str:
    return f"{job.__module__}.{job.__qualname__}"


def _same(a: type[Any], b: type[Any]) -> bool:
    # The same class imported twice (e.g. a module also run as __main__) is no duplicate.
    if a.__qualname__ != b.__qualname__:
        return False
    return a.__module__ == b.__module__ or "__main__" in (a.__module__, b.__module__)


default_registry = JobRegistry()
"""Where job classes register themselves unless they name another registry."""
