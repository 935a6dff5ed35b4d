"""The one error contract at the driver boundary: an outage is a ``DriverUnavailableError``.

Each client library says "the server cannot be reached" in its own words (redis-py's
``ConnectionError``, asyncpg's ``ConnectionDoesNotExistError``, aiormq's
``AMQPConnectionError``, botocore's ``EndpointConnectionError``, SQLite's
``SQLITE_CANTOPEN``...). A driver names them once, in its ``_outage`` method, and
``outage_boundary`` applies it to every public coroutine method of the class, so callers
(the worker, failover, the command line) catch one type and never a client's error.

An outage error is one line that names the server (its URL with the password hidden),
says why, and says what to check.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar
from urllib.parse import parse_qsl, urlsplit

from gello_queue.core.errors import DriverUnavailableError
from gello_queue.core.redaction import REDACTED, redact_url

_GUARDED = "__gello_outage_boundary__"


class Guarded(Protocol):
    def _outage(self, error: BaseException) -> DriverUnavailableError | None:
        """The ``DriverUnavailableError`` that ``error`` means, or None when it is not an
        outage (a bug, a refused statement): that one goes up as it is."""


C = TypeVar("C", bound=type[Any])


def outage_boundary(cls: C) -> C:
    """Make every public coroutine method of ``cls`` (inherited ones included) raise the
    driver's ``DriverUnavailableError`` for an outage, as ``cls._outage`` decides."""
    for name in dir(cls):
        if name.startswith("_"):
            continue
        member = inspect.getattr_static(cls, name)
        if inspect.iscoroutinefunction(member) and not hasattr(member, _GUARDED):
            setattr(cls, name, _guarded(member))
    return cls


def _guarded(method: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    @functools.wraps(method)
    async def guarded(self: Guarded, *args: Any, **kwargs: Any) -> Any:
        try:
            return await method(self, *args, **kwargs)
        except DriverUnavailableError:
            raise
        except Exception as exc:
            outage = self._outage(exc)
            if outage is None:
                raise
            # Not chained: the client's text may hold what the one line leaves out.
            raise outage from None

    setattr(guarded, _GUARDED, True)
    return guarded


SERVER_HINT = "check that the server is running and that the URL points at it"


def unavailable(
    server: str, where: str, error: BaseException, *, hint: str = SERVER_HINT
) -> DriverUnavailableError:
    """The one-line outage error: ``server`` (e.g. ``Redis``) at ``where`` (a URL or a
    path) could not be used because of ``error``; ``hint`` says what to check. The
    password of ``where`` is hidden, in ``where`` and in the client's message alike."""
    text = str(error).strip()
    reason = text.splitlines()[0].strip() if text else type(error).__name__
    secret = password_of(where)
    if secret:
        reason = reason.replace(secret, REDACTED)
    return DriverUnavailableError(
        f"cannot reach {server} at {redact_url(where)}: {redact_url(reason)} ({hint})"
    )


def password_of(url: str) -> str | None:
    """The password in ``url`` (userinfo or ``?password=``), so it can be scrubbed from a
    client library's message, which may quote it in forms ``redact_url`` cannot spot."""
    try:
        parts = urlsplit(url)
        if parts.password:
            return parts.password
    except ValueError:
        return None
    for key, value in parse_qsl(parts.query):
        if key.lower() == "password" and value:
            return value
    return None
