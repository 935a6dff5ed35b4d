"""An encrypted job whose ``handle`` is a plain ``def`` gets its decrypted payload in a
thread and in a child process alike (the message itself stays encrypted)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from cryptography.fernet import Fernet
from pydantic import BaseModel

from gello_queue import Job, JobRegistry, Queue, Settings, Worker

registry = JobRegistry()


class Card(BaseModel):
    number: str


class LastDigitsInThread(Job[Card], register=False):
    run_in = "thread"
    encrypted = True
    keep_result = 60
    tries = 1

    def handle(self, payload: Card) -> str:  # type: ignore[override]
        return payload.number[-4:]


class LastDigitsInChild(Job[Card], register=False):
    encrypted = True  # run_in "process": a child process, as the worker has a pool
    keep_result = 60
    tries = 1

    def handle(self, payload: Card) -> str:  # type: ignore[override]
        return payload.number[-4:]


registry.register(LastDigitsInThread)
registry.register(LastDigitsInChild)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("job", [LastDigitsInThread, LastDigitsInChild])
async def test_a_plain_def_handle_gets_the_decrypted_payload(
    tmp_path: Any, job: type[Job[Any]]
) -> None:
    settings = Settings(QUEUE_ENCRYPTION_KEY=Fernet.generate_key().decode())  # type: ignore[call-arg]
    queue = Queue(f"memory://{tmp_path.name}", settings=settings, registry=registry)
    job_id = await job.dispatch(number="4111111111114242", connection=queue)
    worker = Worker(connection=queue, stop_when_empty=True, sleep_s=0.02)
    await asyncio.wait_for(worker.start(), 50)
    assert (worker.status().processed, worker.status().failed) == (1, 0)
    assert (await queue.status(job_id)).result == "4242"
    await queue.close()
