"""The FastAPI integration against the real framework: lifespan, dependency, fake."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx2
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from web_jobs import Welcome

from gello_queue import DriverUnavailableError, Queue, set_default_queue, testing
from gello_queue.contrib.fastapi import QueueDep, get_queue, lifespan, open_queue
from gello_queue.drivers.memory import MemoryDriver


def make_app(**options: object) -> FastAPI:
    app = FastAPI(**options)  # type: ignore[arg-type]

    @app.post("/users/{user_id}")
    async def signup(user_id: int, queue: QueueDep) -> dict[str, str]:
        job_id = await Welcome.dispatch(user_id=user_id, connection=queue)
        return {"job": job_id}

    @app.post("/sync/users/{user_id}")
    def signup_in_a_thread(user_id: int) -> dict[str, str]:
        return {"job": Welcome.dispatch_blocking(user_id=user_id)}

    return app


class Recorded(MemoryDriver):
    def __init__(self, log: list[str]) -> None:
        super().__init__()
        self.log = log

    async def open(self) -> None:
        self.log.append("open")

    async def close(self) -> None:
        self.log.append("close")


def test_the_lifespan_opens_the_queue_at_start_up_and_closes_it_at_shutdown() -> None:
    log: list[str] = []
    queue = Queue("memory://", factory=lambda: Recorded(log))
    set_default_queue(queue)
    try:
        with TestClient(make_app(lifespan=lifespan)) as client:
            assert log == ["open"]
            assert client.post("/users/1").status_code == 200
            assert log == ["open"]  # the view used the driver opened at start-up
        assert log == ["open", "close"]
    finally:
        set_default_queue(None)


def test_an_unreachable_backend_stops_the_start_up() -> None:
    set_default_queue(Queue("redis://127.0.0.1:1/0"))
    try:
        with pytest.raises(DriverUnavailableError), TestClient(make_app(lifespan=lifespan)):
            pass
    finally:
        set_default_queue(None)


def test_views_dispatch_to_the_fake_under_the_test_client() -> None:
    with testing.fake() as fake, TestClient(make_app(lifespan=lifespan)) as client:
        first = client.post("/users/1").json()["job"]
        client.post("/sync/users/2")
    fake.assert_pushed_times(Welcome, 2)
    fake.assert_pushed(Welcome, lambda p, job: p.user_id == 1 and job.id == first)
    fake.assert_pushed(Welcome, lambda p: p.user_id == 2)


def test_an_application_lifespan_opens_a_queue_of_its_own() -> None:
    queue = Queue(f"memory://gello-fastapi-{uuid.uuid4().hex}")

    @asynccontextmanager
    async def own_lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with open_queue(queue):
            yield

    app = make_app(lifespan=own_lifespan)
    app.dependency_overrides[get_queue] = lambda: queue
    with TestClient(app) as client:
        client.post("/users/1")
        client.post("/users/2")
        assert client.portal is not None
        assert client.portal.call(queue.size) == 2


async def test_the_httpx_asgi_transport_with_the_fake() -> None:
    transport = httpx2.ASGITransport(app=make_app())
    with testing.fake() as fake:
        async with httpx2.AsyncClient(transport=transport, base_url="http://app") as client:
            response = await client.post("/users/7")
    assert response.status_code == 200
    fake.assert_pushed(Welcome, lambda p: p.user_id == 7)


def test_a_starlette_app_takes_the_same_lifespan() -> None:
    async def signup(request: Request) -> JSONResponse:
        queue = get_queue()
        job_id = await Welcome.dispatch(
            user_id=int(request.path_params["user_id"]), connection=queue
        )
        return JSONResponse({"job": job_id})

    log: list[str] = []
    set_default_queue(Queue("memory://", factory=lambda: Recorded(log)))
    try:
        app = Starlette(
            routes=[Route("/users/{user_id}", signup, methods=["POST"])], lifespan=lifespan
        )
        with TestClient(app) as client:
            assert log == ["open"]
            assert client.post("/users/3").status_code == 200
        assert log == ["open", "close"]
    finally:
        set_default_queue(None)
