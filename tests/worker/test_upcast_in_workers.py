"""A worker upcasts a stored payload wherever the job runs: a blocking ``handle`` in a
child process gets the upcast payload too."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import orjson
from helpers import envelope
from pydantic import BaseModel

from gello_queue import Job, JobRegistry, Queue, Worker

registry = JobRegistry()


class Entry(BaseModel):
    ledger: str
    cents: int


class Record(Job[Entry], register=False):
    """Version 1 stored ``amount`` in euros."""

    version = 2
    tries = 1

    @classmethod
    def upcast(cls, version: int, data: dict[str, Any]) -> dict[str, Any]:
        return {"ledger": data["ledger"], "cents": data["amount"] * 100}

    def handle(self, payload: Entry) -> None:  # type: ignore[override]
        Path(payload.ledger).write_bytes(orjson.dumps(payload.model_dump()))


registry.register(Record)


async def test_a_blocking_handle_in_a_child_process_gets_the_upcast_payload(
    tmp_path: Path,
) -> None:
    queue = Queue(f"sqlite:///{tmp_path / 'q.db'}", registry=registry)
    ledger = str(tmp_path / "ledger.json")
    stored = envelope(name="Record", payload={"ledger": ledger, "amount": 4}, payload_version=1)
    try:
        await (await queue.driver()).push([stored])
        worker = Worker(connection=queue, stop_when_empty=True, sleep_s=0.02)
        await asyncio.wait_for(worker.start(), 60)
        assert worker.status().processed == 1
        assert orjson.loads(Path(ledger).read_bytes()) == {"ledger": ledger, "cents": 400}
    finally:
        await queue.close()
