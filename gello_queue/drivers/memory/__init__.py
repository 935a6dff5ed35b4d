"""In-process driver: plain dicts in a store shared by the event loops of one process."""

from gello_queue.drivers.memory.driver import MemoryDriver
from gello_queue.drivers.memory.store import MemoryStore, named_store

__all__ = ["MemoryDriver", "MemoryStore", "named_store"]
