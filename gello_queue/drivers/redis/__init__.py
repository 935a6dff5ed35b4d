"""Redis and Redis Cluster: atomic Lua scripts, server-side clock, blocking waits."""

from gello_queue.drivers.redis.driver import RedisDriver
from gello_queue.drivers.redis.urls import redact_url

__all__ = ["RedisDriver", "redact_url"]
