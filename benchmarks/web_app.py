"""The web app ``benchmarks/web.py`` serves with uvicorn: one async and one plain view
that dispatch a job, and a no-op view for the baseline of the same run.

Starlette runs the plain ``def`` view on its thread pool, as FastAPI, Django and Flask
servers run theirs, so its ``dispatch_blocking`` calls come from many threads at once.
The queue is the one the settings describe (``QUEUE_URL``), opened on the server's loop
at start-up by the FastAPI integration's lifespan (which Starlette takes as it is): the
plain view's blocking calls then run on that loop's driver, and the process holds one
pool.
"""

from __future__ import annotations

from pydantic import BaseModel
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route


class Signup(BaseModel):
    user_id: int


from gello_queue import Job  # noqa: E402  (after the payload model it names)
from gello_queue.contrib.fastapi import lifespan  # noqa: E402


class Welcome(Job[Signup]):
    async def handle(self, payload: Signup) -> None:
        return None


async def noop(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


async def async_view(request: Request) -> PlainTextResponse:
    job_id = await Welcome.dispatch(user_id=1)
    return PlainTextResponse(job_id)


def sync_view(request: Request) -> PlainTextResponse:
    return PlainTextResponse(Welcome.dispatch_blocking(user_id=1))


app = Starlette(
    routes=[
        Route("/noop", noop),
        Route("/async", async_view, methods=["POST"]),
        Route("/sync", sync_view, methods=["POST"]),
    ],
    lifespan=lifespan,
)
