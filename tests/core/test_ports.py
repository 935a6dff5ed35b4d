"""The ports: small capabilities, implemented by every driver class itself, with no
attribute forwarding, and optional ports found by type."""

from __future__ import annotations

import ast
import pathlib
from collections.abc import Sequence

import pytest
from helpers import envelope

import gello_queue
from gello_queue.core.envelope import Envelope
from gello_queue.core.errors import DriverUnavailableError, NotSupportedError
from gello_queue.dispatch_hooks import DispatchHooks, HookedDriver
from gello_queue.drivers.failover import FailoverDriver
from gello_queue.drivers.memory import MemoryDriver
from gello_queue.drivers.postgres import PostgresDriver
from gello_queue.drivers.rabbitmq import RabbitMQDriver
from gello_queue.drivers.redis import RedisDriver
from gello_queue.drivers.sqlite import SqliteDriver
from gello_queue.drivers.sqs import SqsDriver
from gello_queue.ports import (
    OPTIONAL_PORTS,
    PORTS,
    Capability,
    QueueDriver,
    Reservation,
    ReserveWait,
    port_methods,
    require,
)
from gello_queue.worker.inline import SyncDriver

DRIVERS = [
    MemoryDriver,
    SyncDriver,
    SqliteDriver,
    PostgresDriver,
    RedisDriver,
    RabbitMQDriver,
    SqsDriver,
    FailoverDriver,
]


@pytest.mark.parametrize("port", PORTS + OPTIONAL_PORTS, ids=lambda p: p.__name__)
def test_every_port_is_small(port: type) -> None:
    assert 1 <= len(port_methods(port)) <= 12


def test_the_connection_port_is_the_mandatory_ports_and_nothing_more() -> None:
    assert set(port_methods(QueueDriver)) == set()
    assert QueueDriver.__mro__[1 : 1 + len(PORTS)] == PORTS


@pytest.mark.parametrize("driver", DRIVERS, ids=lambda d: d.__name__)
def test_every_driver_class_implements_every_operation_itself(driver: type) -> None:
    # Looked up on the class: an instance's ``__getattr__`` forwarding would not count.
    missing = [m for m in port_methods(*PORTS) if not callable(getattr(driver, m, None))]
    assert missing == []


def test_the_library_forwards_no_attribute() -> None:
    root = pathlib.Path(gello_queue.__file__).parent
    forwarding = [
        f"{path.relative_to(root)}:{node.lineno}"
        for path in root.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.name in ("__getattr__", "__getattribute__")
    ]
    assert forwarding == []


class Waiting(MemoryDriver):
    async def reserve_wait(
        self,
        queues: Sequence[str],
        limit: int,
        *,
        lease_s: float,
        worker_id: str,
        timeout_s: float,
    ) -> list[Reservation]:
        return await self.reserve(queues, limit, lease_s=lease_s, worker_id=worker_id)


async def test_a_hooked_view_offers_the_ports_and_the_optional_port_of_its_driver() -> None:
    plain = HookedDriver.of(MemoryDriver(), DispatchHooks())
    waiting = HookedDriver.of(Waiting(), DispatchHooks())
    assert not isinstance(plain, ReserveWait)
    assert isinstance(waiting, ReserveWait)
    for view in (plain, waiting):
        assert isinstance(view, QueueDriver)
        assert all(callable(getattr(view, m)) for m in port_methods(*PORTS))


async def test_a_missing_capability_is_one_error_naming_driver_and_capability() -> None:
    class Plain(MemoryDriver):
        name = "plain"
        capabilities = frozenset({Capability.CLEAR})

    require(Plain(), Capability.CLEAR)
    with pytest.raises(NotSupportedError) as refused:
        require(Plain(), Capability.UNIQUE_MODES)
    assert str(refused.value) == (
        "the plain driver cannot honour unique_for, until-processing and debounce at push"
        " (it lacks the 'unique_modes' capability)"
    )


class Switchable(MemoryDriver):
    """A memory driver whose server can be 'down': every call then is an outage."""

    down = False

    def _check(self) -> None:
        if self.down:
            raise DriverUnavailableError("down")

    async def push(self, envelopes: Sequence[Envelope]) -> list[str]:
        self._check()
        return await super().push(envelopes)

    async def lock_acquire(self, key: str, owner: str, ttl_s: float) -> bool:
        self._check()
        return await super().lock_acquire(key, owner, ttl_s)

    async def lock_release(self, key: str, owner: str) -> bool:
        self._check()
        return await super().lock_release(key, owner)

    async def counter_incr(self, key: str, by: int, ttl_s: float) -> int:
        self._check()
        return await super().counter_incr(key, by, ttl_s)


async def test_locks_and_counters_stay_on_one_connection_across_a_failover() -> None:
    first, second = Switchable(), MemoryDriver()
    failover = FailoverDriver([first, second], retry_after_s=0.0)
    await failover.open()
    assert await failover.lock_acquire("report", "job-1", 60) is True
    assert await failover.counter_incr("sent", 1, 60) == 1
    first.down = True
    await failover.push([envelope()])  # dispatch fails over to the second
    assert await failover.lock_acquire("report", "job-2", 60) is False  # still held
    assert await failover.counter_incr("sent", 1, 60) == 2
    first.down = False
    # Released where it was taken, whatever answered in between.
    assert await failover.lock_release("report", "job-1") is True
    assert await failover.lock_owner("report") is None
    assert await second.lock_owner("report") is None
    assert await first.lock_owner("report") is None
