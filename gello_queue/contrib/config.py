"""Settings from a framework's configuration (Django settings, Flask ``app.config``).

One rule for every framework: a key named as a gello setting and starting with
``QUEUE_`` or ``GELLO_`` (``QUEUE_URL``, ``QUEUE_DEFAULT``, ``GELLO_APP``), or any
setting's name behind ``GELLO_`` (``GELLO_REDIS_URL``, ``GELLO_DATABASE_URL``: a web
app's own ``DATABASE_URL`` is not the queue's), wins over the environment and ``.env``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from gello_queue import ConfigurationError, Queue, Settings, set_default_queue

__all__ = ["configure_default_queue", "settings_from"]

_PREFIXES = ("QUEUE_", "GELLO_")


def _setting_names() -> frozenset[str]:
    return frozenset(str(f.validation_alias) for f in Settings.model_fields.values())


def settings_from(config: Mapping[str, Any]) -> dict[str, Any]:
    """The gello settings named in ``config``, by their setting names."""
    names = _setting_names()
    found: dict[str, Any] = {}
    for key, value in config.items():
        if key in names and key.startswith(_PREFIXES):
            found.setdefault(key, value)
        elif key.startswith("GELLO_") and key[6:] in names:
            found[key[6:]] = value  # the GELLO_-prefixed spelling wins
    return found


def configure_default_queue(config: Mapping[str, Any]) -> Queue | None:
    """Make a queue from ``config``'s gello settings (over the environment) the default
    one, and return it; with none named, leave the default queue to the environment.

    Raises:
        ConfigurationError: a setting has a wrong value.
    """
    found = settings_from(config)
    if not found:
        return None
    try:
        settings = Settings(**found)  # over the environment, as pydantic-settings ranks them
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigurationError(f"invalid gello setting: {problems}") from None
    queue = Queue(settings=settings)
    set_default_queue(queue)
    return queue
