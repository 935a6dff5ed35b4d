"""The command line shows an encrypted payload as "encrypted"; ``--reveal`` decrypts it
only in a process that holds the key, and no command prints the key."""

from __future__ import annotations

import asyncio
import json

import pytest
from cli_harness import Cli
from cryptography.fernet import Fernet
from helpers import eventually
from pydantic import BaseModel

from gello_queue import Job, JobRegistry, Queue, Settings, Worker

KEY = Fernet.generate_key().decode()
SECRET = "4111-1111-1111-1111"
registry = JobRegistry()


class Card(BaseModel):
    number: str


class DeclinedCharge(Job[Card], register=False):
    encrypted = True
    tries = 1

    async def handle(self, payload: Card) -> None:
        raise RuntimeError("declined")


registry.register(DeclinedCharge)


async def failed_encrypted_job(cli: Cli) -> str:
    settings = Settings(  # type: ignore[call-arg]
        DATABASE_URL=cli.env["DATABASE_URL"], QUEUE_DRIVER="database", QUEUE_ENCRYPTION_KEY=KEY
    )
    queue = Queue(settings=settings, registry=registry)
    job_id = await DeclinedCharge.dispatch(number=SECRET, connection=queue)
    worker = Worker(connection=queue, registry=registry, sleep_s=0.02)
    running = asyncio.create_task(worker.start())
    try:
        driver = await queue.driver()
        await eventually(lambda: driver.failed_find(job_id), timeout_s=30)
    finally:
        worker.stop()
        await asyncio.wait_for(running, 30)
        await queue.close()
    return job_id


@pytest.mark.timeout(120)
async def test_failed_and_why_show_encrypted_and_reveal_needs_the_key(cli: Cli) -> None:
    job_id = await failed_encrypted_job(cli)

    listed = json.loads(cli.run("queue:failed", "--json").stdout)
    assert [(j["id"], j["payload"]) for j in listed] == [(job_id, "encrypted")]
    no_key = json.loads(cli.run("queue:failed", "--json", "--reveal").stdout)
    assert no_key[0]["payload"] == "encrypted"
    why = cli.run("queue:why", job_id).stdout
    assert "encrypted" in why
    assert SECRET not in why

    cli.env["QUEUE_ENCRYPTION_KEY"] = KEY
    kept = json.loads(cli.run("queue:failed", "--json").stdout)
    assert kept[0]["payload"] == "encrypted"  # the key alone does not reveal
    revealed = cli.run("queue:failed", "--json", "--reveal")
    assert json.loads(revealed.stdout)[0]["payload"] == {"number": SECRET}
    for out in (revealed, cli.run("queue:why", job_id), cli.run("queue:failed")):
        assert KEY not in out.stdout + out.stderr


def test_an_exported_encrypted_failed_job_imports_without_its_key() -> None:
    import orjson

    from gello_cli.commands.failed_io import FORMAT, validate
    from gello_queue.core.encryption import Keyring
    from gello_queue.core.job import JobDefaults

    env = DeclinedCharge.make(number=SECRET).to_envelope(JobDefaults(keyring=Keyring(KEY)), 0.0)
    line = {
        "format": FORMAT,
        "id": env.id,
        "queue": env.queue,
        "name": env.name,
        "body": env.encode().decode(),
        "exception": "X",
        "message": "m",
        "traceback": "",
        "failed_at": 1.0,
        "attempts": 1,
    }
    records, problems = validate([orjson.dumps(line)], registry)
    assert problems == []
    assert records[0]["envelope"].encrypted == env.encrypted
