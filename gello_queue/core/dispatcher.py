"""Where ``Job.dispatch`` sends a job when no connection is given, as a core port.

``Queue`` sits above core (it owns drivers and settings), so core cannot import it. The
dispatch facade registers its default here when it loads instead, and core asks this
module: the dependency points down, and the queue is plugged in at start-up.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from gello_queue.core.errors import ConfigurationError

if TYPE_CHECKING:
    from gello_queue.core.job import PendingDispatch


class Dispatcher(Protocol):
    """What a dispatch needs of a connection: ``gello_queue.Queue`` is one."""

    async def dispatch(self, pending: PendingDispatch) -> str: ...

    def dispatch_blocking(self, pending: PendingDispatch) -> str: ...


_default: Callable[[], Any] | None = None


def provide_default(factory: Callable[[], Any]) -> None:
    """Name the function that returns the process's default connection (built lazily)."""
    global _default
    _default = factory


def default_connection() -> Any:
    """The process's default connection, as the dispatch facade provides it.

    Typed ``Any`` on purpose: callers above core (batches, chains) use more of it than
    ``Dispatcher`` names, and it is the facade's own ``Queue``.

    Raises:
        ConfigurationError: nothing provided one (``gello_queue`` was not imported whole).
    """
    if _default is None:
        raise ConfigurationError(
            "no default queue: import gello_queue (which provides it) or pass connection="
        )
    return _default()
