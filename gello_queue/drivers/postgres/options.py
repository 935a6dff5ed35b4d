"""The driver's options as a URL carries them, and the NOTIFY channel they name.

``postgresql://host/db?schema=jobs&table_prefix=app_&listen=false``: gello's own query
parameters are taken out of the URL (asyncpg would send them to the server as settings)
and win over the keyword arguments.
"""

from __future__ import annotations

import hashlib
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from gello_queue.core.errors import ConfigurationError

_URL_OPTIONS = ("schema", "table_prefix", "listen", "durable_worker_commits")
"""gello's own query parameters; asyncpg would send unknown ones as server settings."""


def split_options(url: str) -> tuple[str, dict[str, str]]:
    """``url`` without gello's options (``?schema=jobs&listen=false``), and the options."""
    parts = urlsplit(url)
    if not parts.query:
        return url, {}
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    options = {k: v for k, v in pairs if k in _URL_OPTIONS}
    if not options:
        return url, {}
    rest = urlencode([(k, v) for k, v in pairs if k not in _URL_OPTIONS])
    return urlunsplit(parts._replace(query=rest)), options


def flag(value: str, name: str) -> bool:
    """The boolean URL option ``name`` given as ``value``."""
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ConfigurationError(f"PostgreSQL URL option {name}={value!r}: use true or false")


def channel(schema: str, prefix: str) -> str:
    """The NOTIFY channel of one installation (at most 63 bytes, or it is truncated)."""
    name = f"{prefix}{schema}"
    if len(name.encode()) <= 63:
        return name
    return "gello_" + hashlib.sha1(name.encode()).hexdigest()
