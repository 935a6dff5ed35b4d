"""PostgreSQL driver: SKIP LOCKED leases, LISTEN/NOTIFY wake-ups, versioned migrations."""

from gello_queue.drivers.postgres.driver import SCHEMA_VERSION, PostgresDriver
from gello_queue.drivers.postgres.redact import redact_url

__all__ = ["SCHEMA_VERSION", "PostgresDriver", "redact_url"]
