"""Encrypted payloads over every driver, through a real worker: what is stored holds no
plaintext (read raw from SQLite, PostgreSQL and Redis storage), the job runs with its
payload, keys rotate, and a message no key opens lands in the failed store with that
reason while the worker goes on."""

from __future__ import annotations

import asyncio
import sqlite3

import asyncpg
import pytest
from backends.postgres import POSTGRES_URL
from cryptography.fernet import Fernet
from helpers import eventually
from pydantic import BaseModel

from gello_queue import Job, JobRegistry, Queue, Settings, Worker
from gello_queue.core.encryption import Keyring
from gello_queue.core.envelope import Envelope
from gello_queue.drivers.postgres import PostgresDriver
from gello_queue.drivers.redis import RedisDriver
from gello_queue.drivers.sqlite import SqliteDriver
from gello_queue.ports import QueueDriver

registry = JobRegistry()
SECRET = "4111-1111-1111-1111"
OLD = Fernet.generate_key().decode()
NEW = Fernet.generate_key().decode()
seen: dict[str, str] = {}


class Card(BaseModel):
    number: str


class Charge(Job[Card], register=False):
    encrypted = True
    tries = 1

    async def handle(self, payload: Card) -> None:
        seen[self.job_id] = payload.number


registry.register(Charge)


def queue_on(driver: QueueDriver, keys: str | None) -> Queue:
    settings = Settings(QUEUE_ENCRYPTION_KEY=keys)  # type: ignore[call-arg]
    return Queue(
        f"memory://unused-{id(driver)}",
        settings=settings,
        registry=registry,
        factory=lambda: driver,
    )


async def raw_storage(driver: QueueDriver) -> str:
    """Everything the backend holds, read around the driver; what other drivers keep is
    read through ``find`` (the stored body as it is)."""
    if isinstance(driver, SqliteDriver):
        with sqlite3.connect(driver.path) as db:
            return "\n".join(db.iterdump())
    if isinstance(driver, PostgresDriver):
        con = await asyncpg.connect(POSTGRES_URL)
        try:
            tables = await con.fetch(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = $1",
                driver.schema,
            )
            rows = []
            for t in tables:
                name = f'"{driver.schema}"."{t["table_name"]}"'
                rows += [
                    r[0] for r in await con.fetch(f"SELECT row_to_json(t)::text FROM {name} t")
                ]
            return "\n".join(rows)
        finally:
            await con.close()
    if isinstance(driver, RedisDriver):
        client, parts = driver.redis, []
        async for key in client.scan_iter(match=f"{driver.prefix}*", count=1000):
            kind = await client.type(key)
            kind = kind.decode() if isinstance(kind, bytes) else kind
            if kind == "string":
                parts.append(repr(await client.get(key)))
            elif kind == "hash":
                parts.append(repr(await client.hgetall(key)))
            elif kind == "zset":
                parts.append(repr(await client.zrange(key, 0, -1)))
            elif kind == "list":
                parts.append(repr(await client.lrange(key, 0, -1)))
            elif kind == "set":
                parts.append(repr(await client.smembers(key)))
        return "\n".join(parts)
    return ""


async def work_until(queue: Queue, done: object) -> None:
    worker = Worker(connection=queue, registry=registry, sleep_s=0.02)
    running = asyncio.create_task(worker.start())
    try:
        await eventually(done, timeout_s=30)  # type: ignore[arg-type]
    finally:
        worker.stop()
        await asyncio.wait_for(running, 30)


@pytest.mark.timeout(90)
async def test_an_encrypted_job_is_stored_sealed_and_runs_with_its_payload(
    driver: QueueDriver,
) -> None:
    queue = queue_on(driver, NEW)
    job_id = await Charge.dispatch(number=SECRET, connection=queue)
    record = await driver.find(job_id)  # None on a broker: its waiting jobs are not found
    if record is not None:
        assert SECRET not in str(record.body)
        assert Envelope.decode(record.body).encrypted is not None
    raw = await raw_storage(driver)
    if isinstance(driver, SqliteDriver | PostgresDriver | RedisDriver):
        assert job_id in raw  # the dump does hold the job
    assert SECRET not in raw

    async def ran() -> bool:
        return job_id in seen

    await work_until(queue, ran)
    assert seen[job_id] == SECRET


@pytest.mark.timeout(90)
async def test_rotation_a_job_sealed_with_the_old_key_runs_after_a_new_key_is_put_first(
    driver: QueueDriver,
) -> None:
    before = await Charge.dispatch(number="before", connection=queue_on(driver, OLD))
    rotated = queue_on(driver, f"{NEW},{OLD}")
    after = await Charge.dispatch(number="after", connection=rotated)
    sealed = Charge.make(number="x").to_envelope(rotated.defaults, 0.0).encrypted or ""
    assert Keyring(NEW).open(sealed) == {"number": "x"}  # the first key encrypts

    async def both_ran() -> bool:
        return before in seen and after in seen

    await work_until(rotated, both_ran)
    assert (seen[before], seen[after]) == ("before", "after")


@pytest.mark.timeout(90)
async def test_a_message_no_key_opens_fails_with_that_reason_and_the_worker_goes_on(
    driver: QueueDriver,
) -> None:
    wrong_key = await Charge.dispatch(number="a", connection=queue_on(driver, OLD))
    tampered_env = Charge.make(number="b").to_envelope(
        queue_on(driver, NEW).defaults, await driver.now()
    )
    token = tampered_env.encrypted or ""
    altered = token[:-5] + ("A" if token[-5] != "A" else "B") + token[-4:]
    [tampered] = await driver.push([tampered_env.with_changes(encrypted=altered)])
    queue = queue_on(driver, NEW)
    fine = await Charge.dispatch(number="c", connection=queue)

    async def settled() -> bool:
        failed = [await driver.failed_find(i) for i in (wrong_key, tampered)]
        return fine in seen and all(failed)

    await work_until(queue, settled)
    for job_id in (wrong_key, tampered):
        failed = await driver.failed_find(job_id)
        assert failed is not None
        assert failed.exception == "DecryptionError"
        assert "cannot be decrypted" in failed.message
        assert failed.payload() == "encrypted"
    assert wrong_key not in seen
    assert tampered not in seen
    assert seen[fine] == "c"
