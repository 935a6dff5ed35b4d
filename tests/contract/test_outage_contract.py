"""Conformance: an outage is a ``DriverUnavailableError`` on every driver.

A server that does not answer, or that stops under an open driver, makes each port call
raise ``DriverUnavailableError``: one line naming the server, without its password, and
never a client library's own error, which callers (the worker, failover, the command
line) would not recognise.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from backends import DYING, UNREACHABLE
from backends.servers import SECRET
from helpers import envelope

from gello_queue.core.errors import DriverUnavailableError
from gello_queue.ports import QueueDriver, Reservation

Call = Callable[[QueueDriver], Awaitable[Any]]

QUEUE_CALLS: dict[str, Call] = {
    "push": lambda d: d.push([envelope()]),
    "reserve": lambda d: d.reserve(["default"], 1, lease_s=30, worker_id="w"),
}


def assert_outage(error: BaseException) -> None:
    assert isinstance(error, DriverUnavailableError), f"raw client error: {error!r}"
    message = str(error)
    assert message, repr(error)
    assert "\n" not in message, message
    assert SECRET not in message, message


async def outcome(call: Awaitable[Any]) -> BaseException | None:
    try:
        await call
    except Exception as exc:
        return exc
    return None


@pytest.mark.parametrize("name", sorted(UNREACHABLE))
async def test_an_unreachable_server_is_one_line_without_the_password(
    name: str, request: pytest.FixtureRequest
) -> None:
    driver = UNREACHABLE[name](request)
    try:
        opened = await outcome(driver.open())
        errors = [opened] if opened is not None else []
        if opened is None:
            # A driver that connects lazily (SQS) meets the outage at its first call.
            for call in (*QUEUE_CALLS.values(), lambda d: d.counts()):
                error = await outcome(call(driver))
                assert error is not None, f"{name}: a call succeeded with no server"
                errors.append(error)
        for error in errors:
            assert_outage(error)
            # It names what it could not reach: the server's address, or the file.
            assert "cannot reach" in str(error), error
            assert "127.0.0.1:" in str(error) or name == "sqlite", error
    finally:
        await driver.close()


@pytest.mark.parametrize("name", sorted(DYING))
async def test_a_server_that_stops_makes_the_next_calls_unavailable(
    name: str, request: pytest.FixtureRequest
) -> None:
    async with DYING[name](request) as (driver, stop):
        await driver.push([envelope()])
        held: list[Reservation] = await driver.reserve(["default"], 1, lease_s=30, worker_id="w")
        assert len(held) == 1
        stop()
        for label, call in {**QUEUE_CALLS, "ack": lambda d: d.ack(held)}.items():
            error = await outcome(call(driver))
            assert error is not None, f"{name}: {label} succeeded with the server stopped"
            assert_outage(error)
