"""The password in a connection URL, to scrub it from third-party messages; the shared
``redact_url`` hides it in text gello shows."""

from __future__ import annotations

from gello_queue.drivers.outage import password_of
from gello_queue.observability import redact_url

__all__ = ["password_of", "redact_url"]
