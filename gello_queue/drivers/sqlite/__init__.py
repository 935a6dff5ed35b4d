"""The embedded default: a persistent queue in one SQLite file, no server needed."""

from gello_queue.drivers.sqlite.driver import SqliteDriver

__all__ = ["SqliteDriver"]
