"""gello: a job queue with Laravel's API, asyncio speed and a terminal dashboard."""

__all__: list[str] = []
