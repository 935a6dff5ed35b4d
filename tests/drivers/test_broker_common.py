"""What RabbitMQ and SQS share, tested once per broker: what a broker cannot do, lazy
imports, and the real `gello` command end to end; and a release on a FIFO queue."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from backends import BACKENDS
from backends import rabbitmq as rabbitmq_backend
from backends import sqs as sqs_backend
from helpers import envelope, eventually

from gello_queue import NotSupportedError
from gello_queue.core.envelope import Envelope
from gello_queue.core.states import JobState

W = "worker-1"
CLI = Path(__file__).resolve().parent.parent / "cli"
GELLO = str(Path(sys.executable).with_name("gello"))


@dataclass(frozen=True)
class Broker:
    """How one broker differs in these tests."""

    name: str
    capabilities: frozenset[str]
    clients: tuple[str, ...]
    """Modules its client library loads (``import gello_queue`` must load none)."""
    env: Callable[[], dict[str, str]]
    """Settings for the `gello` command, with a fresh ``QUEUE_PREFIX``."""
    cleanup: Callable[[str], None]
    """Deletes the queues under a prefix that other processes made."""
    secret: str
    """What `queue:status` must not show of the connection's credentials."""


def _rabbitmq_env() -> dict[str, str]:
    return {
        "QUEUE_DRIVER": "rabbitmq",
        "RABBITMQ_URL": rabbitmq_backend.RABBITMQ_URL,
        "QUEUE_PREFIX": f"gcli.{uuid.uuid4().hex[:12]}.",
    }


def _sqs_env() -> dict[str, str]:
    return {
        "QUEUE_DRIVER": "sqs",
        "SQS_ENDPOINT_URL": sqs_backend.endpoint(),
        "AWS_DEFAULT_REGION": "us-east-1",
        "QUEUE_PREFIX": sqs_backend.unique_prefix(),
        **sqs_backend.CREDENTIALS,
    }


BROKERS = {
    "rabbitmq": Broker(
        "rabbitmq",
        frozenset({"clear", "unique_modes"}),
        ("aio_pika", "aiormq"),
        _rabbitmq_env,
        rabbitmq_backend.delete_queues,
        ":guest@",
    ),
    "sqs": Broker(
        "sqs",
        frozenset({"unique_modes"}),
        ("aiobotocore", "botocore"),
        _sqs_env,
        sqs_backend.delete_queues,
        "testing",
    ),
}


async def test_a_release_on_a_fifo_queue_sends_the_new_envelope_keeping_its_attempts(
    request: pytest.FixtureRequest,
) -> None:
    # On a plain queue this is in the contract (test_settle_contract): SQS FIFO queues
    # send messages their own way.
    queue = "work.fifo"
    async with BACKENDS["sqs"](request) as driver:
        env = envelope(queue, max_attempts=1)
        await driver.push([env])
        [res] = await eventually(lambda: driver.reserve([queue], 1, lease_s=30, worker_id=W))
        back = Envelope.decode(res.body).with_changes(attempts=0, reason="rate limited")
        assert await driver.release(res, back, 0.3) is True
        assert await driver.release(res, back, 0) is False
        [again] = await eventually(
            lambda: driver.reserve([queue], 1, lease_s=30, worker_id=W), timeout_s=10
        )
        assert (again.id, again.attempts) == (env.id, 1)  # the delay's hops used none either
        assert Envelope.decode(again.body).reason == "rate limited"


@pytest.mark.parametrize("name", sorted(BROKERS))
async def test_what_a_broker_cannot_do_is_one_clear_error(
    name: str, request: pytest.FixtureRequest
) -> None:
    broker = BROKERS[name]
    async with BACKENDS[name](request) as driver:
        assert driver.capabilities == broker.capabilities
        calls = [
            lambda: driver.jobs("default", JobState.PENDING),
            lambda: driver.cancel("not-a-unique-job"),
            lambda: driver.promote("x"),
        ]
        if "clear" not in broker.capabilities:
            calls.append(lambda: driver.clear("default"))
        for call in calls:
            with pytest.raises(
                NotSupportedError, match=f"the {name} driver cannot .* lacks the .* capability"
            ):
                await call()


@pytest.mark.parametrize("name", sorted(BROKERS))
def test_importing_gello_loads_no_broker_client(name: str) -> None:
    loaded = " or ".join(f"{m!r} in sys.modules" for m in BROKERS[name].clients)
    code = f"import sys, gello_queue, gello_queue.drivers; assert not ({loaded})"
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("name", sorted(BROKERS))
def test_the_gello_command_end_to_end(name: str, tmp_path: Path) -> None:
    broker = BROKERS[name]
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("QUEUE_", "DATABASE_", "REDIS_"))
    }
    env.update(
        QUEUE_BROKER_STORE=f"sqlite:///{tmp_path / 'store.db'}",
        PYTHONPATH=str(CLI),
        GELLO_APP="app_jobs",
        GELLO_TEST_LEDGER=str(tmp_path / "ledger.txt"),
        GELLO_TEST_FLAG=str(tmp_path / "flag"),
        QUEUE_LEASE="2",
        **broker.env(),
    )

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [GELLO, *args], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
        )

    def gello(*args: str) -> subprocess.CompletedProcess[str]:
        out = run(*args)
        assert out.returncode == 0, f"gello {' '.join(args)}: {out.stderr}"
        return out

    def done() -> list[str]:
        ledger = tmp_path / "ledger.txt"
        lines = ledger.read_text().splitlines() if ledger.exists() else []
        return sorted(line.split()[1] for line in lines if line.startswith("done"))

    try:
        for key in ("a", "b"):
            gello("queue:dispatch", "Ledger", "--payload", json.dumps({"key": key}))
        broken = gello("queue:dispatch", "Toggle", "--payload", '{"key": "t"}').stdout.strip()
        status = json.loads(gello("queue:status", "--json").stdout)
        assert status["queues"]["default"]["pending"] == 3
        gello("queue:work", "--stop-when-empty", "--sleep", "0.05")
        assert done() == ["a", "b"]
        failed = json.loads(gello("queue:failed", "--json").stdout)
        assert [(f["id"], f["name"], f["attempts"]) for f in failed] == [(broken, "Toggle", 2)]
        assert "failed" in gello("queue:why", broken).stdout
        (tmp_path / "flag").touch()
        assert "Retried 1 job(s)." in gello("queue:retry-all").stdout
        gello("queue:work", "--stop-when-empty", "--sleep", "0.05")
        assert done() == ["a", "b", "t"]
        if "clear" in broker.capabilities:
            gello("queue:dispatch", "Ledger", "--payload", '{"key": "c"}', "--delay", "60")
            assert "Cleared 1 jobs" in gello("queue:clear", "default", "--force").stdout
        else:
            cleared = run("queue:clear", "default", "--force")
            assert cleared.returncode != 0
            assert cleared.stderr.strip() == (
                f"error: the {name} driver cannot delete the pending jobs of a queue"
                " (it lacks the 'clear' capability)"
            )
        assert broker.secret not in gello("queue:status").stdout
    finally:
        broker.cleanup(env["QUEUE_PREFIX"])
