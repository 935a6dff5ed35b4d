"""The password in a connection URL, to scrub it from third-party messages; the shared
``redact_url`` hides it in text gello shows."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

from gello_queue.observability import redact_url

__all__ = ["password_of", "redact_url"]


def password_of(url: str) -> str | None:
    """The password in ``url``, so it can be scrubbed from third-party messages."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.password:
        return parts.password
    for key, value in parse_qsl(parts.query):
        if key.lower() == "password" and value:
            return value
    return None
