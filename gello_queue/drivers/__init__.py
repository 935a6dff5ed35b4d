"""Drivers behind the ports, chosen from a URL and imported lazily.

``import gello_queue`` loads no client library: redis and asyncpg are imported only when
a URL asks for them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from gello_queue.core.errors import ConfigurationError
from gello_queue.ports import QueueDriver

DriverFactory = Callable[[], QueueDriver]
"""Builds a fresh, unopened driver; called once per event loop that uses a connection."""

SCHEMES = (
    "memory://",
    "sync://",
    "sqlite:///",
    "postgresql://",
    "redis://",
    "rediss://",
    "redis+cluster://",
    "amqp://",
    "amqps://",
    "failover:",
    "sqs://",
)


@dataclass(frozen=True, slots=True)
class Pool:
    """A driver's connection pool as the settings size it (None: the driver's default)."""

    min: int | None = None
    max: int | None = None
    timeout_s: float | None = None

    def options(self, **names: str) -> dict[str, Any]:
        """The sizes that are set, under the driver's own argument names."""
        values = {"min": self.min, "max": self.max, "timeout_s": self.timeout_s}
        return {arg: values[key] for key, arg in names.items() if values[key] is not None}


def factory_from_url(url: str, *, prefix: str = "gello:", pool: Pool = Pool()) -> DriverFactory:
    """Return a factory of drivers for ``url``.

    Raises:
        ConfigurationError: the scheme is unknown; the message lists the valid ones.
    """
    scheme = urlsplit(url).scheme.lower()
    if scheme == "failover":
        from gello_queue.drivers.failover import FailoverDriver

        parts = [factory_from_url(u.strip(), prefix=prefix, pool=pool) for u in url[9:].split("|")]
        return lambda: FailoverDriver([make() for make in parts])
    if scheme == "memory":
        from gello_queue.drivers.memory import MemoryDriver, named_store

        store = named_store(urlsplit(url).netloc or "default")
        return lambda: MemoryDriver(store)
    if scheme == "sync":
        raise ConfigurationError(
            "sync:// runs jobs through the worker: open it with gello_queue.Queue('sync://')"
        )
    if scheme == "sqlite":
        from gello_queue.drivers.sqlite import SqliteDriver

        path = sqlite_path(url)
        return lambda: SqliteDriver(path)
    if scheme in ("postgresql", "postgres"):
        from gello_queue.drivers.postgres import PostgresDriver

        sized = pool.options(min="pool_min", max="pool_max", timeout_s="pool_timeout_s")
        return lambda: PostgresDriver(url, **sized)
    if scheme in ("redis", "rediss", "redis+cluster", "rediss+cluster"):
        from gello_queue.drivers.redis import RedisDriver

        sized = pool.options(max="pool_max", timeout_s="pool_timeout_s")
        return lambda: RedisDriver(url, prefix=prefix, **sized)
    if scheme in ("amqp", "amqps"):
        from gello_queue.drivers.composite import default_queue, store_factory
        from gello_queue.drivers.rabbitmq import RabbitMQDriver

        stores, default = store_factory(url), default_queue()
        return lambda: RabbitMQDriver(url, stores(), prefix=prefix, default_queue=default)
    if scheme == "sqs":
        from gello_queue.drivers.composite import default_queue, store_factory
        from gello_queue.drivers.sqs import SqsDriver, options_from_url
        from gello_queue.settings import load_settings

        settings = load_settings()
        options = options_from_url(
            url,
            access_key_id=settings.aws_access_key_id,
            secret_access_key=settings.aws_secret_access_key,
        )
        stores, default = store_factory(url), default_queue()
        return lambda: SqsDriver(options, stores(), prefix=prefix, default_queue=default)
    raise ConfigurationError(
        f"unknown queue URL scheme {scheme or url!r}: use one of {', '.join(SCHEMES)}"
    )


def sqlite_path(url: str) -> str:
    """The file of a ``sqlite:///relative`` or ``sqlite:////absolute`` URL."""
    path = url.split("://", 1)[1]
    if path in ("", "/"):
        raise ConfigurationError("sqlite URL needs a file: sqlite:///gello.db")
    return path[1:] if path.startswith("/") else path
