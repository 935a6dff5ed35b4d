"""SQS for the conformance suite: moto's server mode on a free loopback port, started
once per test process; each test gets its own queue-name prefix (its queues are deleted
afterwards) and its own SQLite store.

A server that does not come up fails the test: SQS is part of the suite.
"""

from __future__ import annotations

import atexit
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from backends.servers import SECRET
from gello_queue.drivers.sqlite import SqliteDriver
from gello_queue.drivers.sqs import SqsDriver, SqsOptions

CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
_server: dict[str, Any] = {}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# moto's server is threaded and its receive checks visibility and marks a message
# received without a lock, so two concurrent receives can both get one message (SQS
# itself can deliver twice too, rarely). The chaos tests count runs per job: serve
# receives one at a time, long polls sleeping outside the lock.
_LAUNCH = """
import sys, threading, time
from moto.sqs import models
lock = threading.Lock()
original = models.SQSBackend.receive_message
def receive(self, queue_name, count, wait_seconds_timeout, visibility_timeout, names=None):
    end = time.time() + (wait_seconds_timeout or 0)
    while True:
        with lock:
            got = original(self, queue_name, count, 0, visibility_timeout, names)
        if got or time.time() >= end:
            return got
        time.sleep(0.02)
models.SQSBackend.receive_message = receive
from moto.server import main
main(sys.argv[1:])
"""


def endpoint() -> str:
    """The URL of this process's moto server, started on first use."""
    if "url" in _server:
        return str(_server["url"])
    port = _free_port()
    proc = start_moto(port)
    atexit.register(_stop, proc)
    _server["url"] = f"http://127.0.0.1:{port}"
    return str(_server["url"])


def start_moto(port: int) -> subprocess.Popen[bytes]:
    """A moto server on ``port``, answering when this returns."""
    proc = subprocess.Popen(
        [sys.executable, "-c", _LAUNCH, "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"moto server did not start on port {port}") from None
            time.sleep(0.05)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        proc.wait(timeout=10)


def options(url: str | None = None, secret: str | None = None) -> SqsOptions:
    return SqsOptions(
        region="us-east-1",
        endpoint_url=url or endpoint(),
        access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
        secret_access_key=secret or CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )


def unique_prefix() -> str:
    """A queue-name prefix no other test uses."""
    return f"gtest-{uuid.uuid4().hex[:12]}-"


@asynccontextmanager
async def open_driver(request: Any) -> AsyncIterator[SqsDriver]:
    tmp = request.getfixturevalue("tmp_path")
    driver = SqsDriver(options(), SqliteDriver(tmp / "store.db"), prefix=unique_prefix())
    await driver.open()
    try:
        yield driver
    finally:
        await driver.delete_queues()
        await driver.close()


def peer(driver: SqsDriver) -> SqsDriver:
    """Another driver (its own client) on the same queues and store file."""
    assert isinstance(driver.store, SqliteDriver)
    return SqsDriver(driver.options, SqliteDriver(driver.store.path), prefix=driver.prefix)


def unreachable(request: Any) -> SqsDriver:
    """An unopened driver for a loopback port nothing listens on (its store is fine)."""
    tmp = request.getfixturevalue("tmp_path")
    broken = options(f"http://127.0.0.1:{_free_port()}", secret=SECRET)
    return SqsDriver(broken, SqliteDriver(tmp / "store.db"), prefix=unique_prefix())


@asynccontextmanager
async def dying(request: Any) -> AsyncIterator[tuple[SqsDriver, Callable[[], None]]]:
    """An open driver on a moto server of its own, and the function that stops it."""
    tmp = request.getfixturevalue("tmp_path")
    port = _free_port()
    proc = start_moto(port)
    url = f"http://127.0.0.1:{port}"
    driver = SqsDriver(options(url), SqliteDriver(tmp / "store.db"), prefix=unique_prefix())
    await driver.open()
    try:
        yield driver, lambda: _stop(proc)
    finally:
        await driver.close()
        _stop(proc)


def chaos_url(store: Path) -> str:
    """A ``sqs://`` URL on the moto server with its own SQLite store (for subprocesses)."""
    return f"sqs://testing:testing@/?region=us-east-1&endpoint={endpoint()}&store=sqlite:///{store}"


def _client() -> Any:
    import boto3

    return boto3.client("sqs", region_name="us-east-1", endpoint_url=endpoint(),
                        aws_access_key_id="testing", aws_secret_access_key="testing")  # fmt: skip


def delete_queues(prefix: str) -> None:
    """Delete every queue whose name starts with ``prefix`` (blocking)."""
    client = _client()
    for url in client.list_queues(QueueNamePrefix=prefix).get("QueueUrls") or []:
        client.delete_queue(QueueUrl=url)


def overwrite_body(prefix: str, queue: str, job_id: str, body: str) -> None:
    """Replace the body of job ``job_id`` waiting in ``queue``, as a foreign producer would:
    the message is received, sent again with the new body, and deleted."""
    client = _client()
    url = client.get_queue_url(QueueName=f"{prefix}{queue}")["QueueUrl"]
    others: list[dict[str, Any]] = []
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        got = client.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30,
                                     MessageAttributeNames=["All"]).get("Messages") or []  # fmt: skip
        match = None
        for message in got:
            attrs = message.get("MessageAttributes") or {}
            if match is None and attrs.get("gello-id", {}).get("StringValue") == job_id:
                match = message
            else:
                others.append(message)
        if match is not None:
            attrs = match.get("MessageAttributes") or {}
            client.send_message(QueueUrl=url, MessageBody=body, MessageAttributes=attrs)
            client.delete_message(QueueUrl=url, ReceiptHandle=match["ReceiptHandle"])
            for other in others:  # sent again, so our receives do not count as attempts
                client.send_message(QueueUrl=url, MessageBody=other["Body"],
                                    MessageAttributes=other.get("MessageAttributes") or {})  # fmt: skip
                client.delete_message(QueueUrl=url, ReceiptHandle=other["ReceiptHandle"])
            return
    raise AssertionError(f"{job_id} is not in {queue}")
