"""Secrets in failures never reach the operator's screen: URL passwords in a failure's
message and traceback are redacted when it is stored (every driver), and payload fields
named like secrets are redacted wherever the CLI prints a payload, unless ``--reveal``."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import orjson
import pytest
from backends import BACKENDS
from helpers import envelope
from obs_harness import REDIS_URL, clean_env, gello

from gello_queue.diagnosis import diagnose
from gello_queue.drivers import factory_from_url
from gello_queue.ports import Failure, QueueDriver

PASSWORD = "Rp@ss/w0rd"
URL = f"redis://default:{PASSWORD}@cache:6379/0"
PAYLOAD = {"user": "ada", "password": "hunter2", "api_key": "k-123", "nested": {"token": "tok-9q"}}
SECRETS = (PASSWORD, "Rp@", "w0rd", "hunter2", "k-123", "tok-9q")


def _traceback() -> str:
    return (
        "Traceback (most recent call last):\n"
        '  File "app.py", line 3, in handle\n'
        f"ConnectionError: cannot reach {URL}\n"
    )


def _leaks(text: str) -> list[str]:
    return [secret for secret in SECRETS if secret in text]


async def _fail_one(driver: QueueDriver) -> str:
    env = envelope("mail", name="SendMail", payload=PAYLOAD)
    await driver.push([env])
    (res,) = await driver.reserve(["mail"], 1, lease_s=30, worker_id="w")
    failure = Failure("ConnectionError", f"cannot reach {URL}", _traceback())
    assert await driver.fail(res, env.encode().decode(), failure)
    return env.id


@pytest.fixture(params=sorted(BACKENDS))
async def driver(request: pytest.FixtureRequest) -> Any:
    async with BACKENDS[request.param](request) as opened:
        yield opened


async def test_a_stored_failure_holds_no_url_password(driver: QueueDriver) -> None:
    job_id = await _fail_one(driver)
    stored = await driver.failed_find(job_id)
    assert stored is not None
    assert stored.message == "cannot reach redis://default:***@cache:6379/0"
    assert "redis://default:***@cache:6379/0" in stored.traceback
    assert _leaks(stored.message + stored.traceback) == []
    found = await diagnose(driver, job_id)
    assert _leaks(found.text() + orjson.dumps(found.to_json()).decode()) == []


def _store(url: str, prefix: str) -> str:
    async def main() -> str:
        driver = factory_from_url(url, prefix=prefix)()
        await driver.open()
        try:
            return await _fail_one(driver)
        finally:
            await driver.close()

    return asyncio.run(main())


def _clean_redis(prefix: str) -> None:
    from backends.redis import delete_prefix

    from gello_queue.drivers.redis import RedisDriver

    async def main() -> None:
        driver = RedisDriver(REDIS_URL, prefix=prefix)
        await driver.open()
        try:
            await delete_prefix(driver, prefix)
        finally:
            await driver.close()

    asyncio.run(main())


@pytest.mark.parametrize("backend", ["sqlite", "redis"])
def test_the_cli_shows_failures_without_their_secrets(backend: str, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'q.db'}" if backend == "sqlite" else REDIS_URL
    prefix = f"gtest:{uuid.uuid4().hex}:"
    try:
        job_id = _store(url, prefix)
        env = clean_env(QUEUE_URL=url, QUEUE_PREFIX=prefix)
        export = tmp_path / "failed.jsonl"
        runs = [
            ("queue:failed",),
            ("queue:failed", "--json"),
            ("queue:why", job_id),
            ("queue:why", job_id, "--json"),
            ("queue:failed", "--export", str(export)),
        ]
        for args in runs:
            out = gello(env, *args)
            assert out.returncode == 0, out.stderr
            assert _leaks(out.stdout + out.stderr) == [], args
        assert _leaks(export.read_text()) == []

        (row,) = orjson.loads(gello(env, "queue:failed", "--json").stdout)
        assert row["payload"] == {
            "user": "ada",
            "password": "***",
            "api_key": "***",
            "nested": {"token": "***"},
        }
        assert row["message"] == "cannot reach redis://default:***@cache:6379/0"
        (shown,) = orjson.loads(gello(env, "queue:failed", "--json", "--reveal").stdout)
        assert shown["payload"] == PAYLOAD
        gello(env, "queue:failed", "--export", str(export), "--reveal")
        (line,) = export.read_text().splitlines()
        assert orjson.loads(orjson.loads(line)["body"])["payload"] == PAYLOAD
    finally:
        if backend == "redis":
            _clean_redis(prefix)
