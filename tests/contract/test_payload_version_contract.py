"""Conformance of payload versions over every driver: a message an older deploy stored is
upcast before it runs; one a newer deploy stored waits, without using an attempt, until
newer code takes it; an upcast that raises fails the job with that reason."""

from __future__ import annotations

from typing import Any

from helpers import eventually
from pydantic import BaseModel

from gello_queue import Job, JobRegistry, Queue, Settings
from gello_queue.core.envelope import Envelope
from gello_queue.events import Events, JobReleased
from gello_queue.ports import QueueDriver, Reservation
from gello_queue.worker.executor import Executor, ExecutorOptions, Outcome

ran: list[tuple[int, dict[str, Any]]] = []


class AmountV1(BaseModel):
    amount: int
    """Whole euros."""


class InvoiceV1(Job[AmountV1], register=False):
    name = "Invoice"

    async def handle(self, payload: AmountV1) -> None:
        ran.append((1, payload.model_dump()))


class AmountV2(BaseModel):
    cents: int
    currency: str


class InvoiceV2(Job[AmountV2], register=False):
    name = "Invoice"
    version = 2

    @classmethod
    def upcast(cls, version: int, data: dict[str, Any]) -> dict[str, Any]:
        return {"cents": data.pop("amount") * 100, "currency": "EUR"}

    async def handle(self, payload: AmountV2) -> None:
        ran.append((2, payload.model_dump()))


class AmountV3(AmountV2):
    vat_cents: int


class InvoiceV3(Job[AmountV3], register=False):
    name = "Invoice"
    version = 3

    @classmethod
    def upcast(cls, version: int, data: dict[str, Any]) -> dict[str, Any]:
        if version == 1:
            return InvoiceV2.upcast(version, data)
        return {**data, "vat_cents": 0}

    async def handle(self, payload: AmountV3) -> None:
        ran.append((3, payload.model_dump()))


class BrokenUpcast(Job[AmountV2], register=False):
    name = "Invoice"
    version = 2

    @classmethod
    def upcast(cls, version: int, data: dict[str, Any]) -> dict[str, Any]:
        return {"cents": data["euros"] * 100, "currency": "EUR"}

    async def handle(self, payload: AmountV2) -> None:
        raise AssertionError("a payload that could not be upcast must not run")


def registry_of(job: type[Job[Any]]) -> JobRegistry:
    registry = JobRegistry()
    registry.register(job)
    return registry


def queue_on(driver: QueueDriver) -> Queue:
    return Queue(
        f"memory://unused-{id(driver)}",
        settings=Settings(),  # type: ignore[call-arg]
        registry=JobRegistry(),
        factory=lambda: driver,
    )


async def reserve_one(driver: QueueDriver) -> Reservation:
    async def take() -> list[Reservation]:
        return await driver.reserve(["default"], 1, lease_s=30, worker_id="w")

    [res] = await eventually(take)
    return res


def executor(driver: QueueDriver, job: type[Job[Any]], events: Events | None = None) -> Executor:
    # No wait before a newer message is offered again: the test takes it right back.
    options = ExecutorOptions(newer_payload_delay_s=0.0)
    return Executor(driver, registry_of(job), options, events=events or Events([]))


async def test_a_message_an_older_version_stored_is_upcast_and_runs(driver: QueueDriver) -> None:
    ran.clear()
    job_id = await InvoiceV1.dispatch(amount=12, connection=queue_on(driver))
    res = await reserve_one(driver)
    assert Envelope.decode(res.body).payload_version == 1
    # The deploy changed the model: the stored message meets version 2's code.
    assert await executor(driver, InvoiceV2).run(res) is Outcome.PROCESSED
    assert ran == [(2, {"cents": 1200, "currency": "EUR"})]
    assert await driver.find(job_id) is None
    assert await driver.failed_count() == 0


async def test_one_upcast_step_after_another_from_version_1_to_3(driver: QueueDriver) -> None:
    ran.clear()
    await InvoiceV1.dispatch(amount=3, connection=queue_on(driver))
    assert await executor(driver, InvoiceV3).run(await reserve_one(driver)) is Outcome.PROCESSED
    assert ran == [(3, {"cents": 300, "currency": "EUR", "vat_cents": 0})]


async def test_a_message_a_newer_version_stored_waits_for_newer_code(driver: QueueDriver) -> None:
    ran.clear()
    job_id = await InvoiceV3.dispatch(
        cents=500, currency="EUR", vat_cents=100, connection=queue_on(driver)
    )
    seen: list[Any] = []
    # A worker of the previous deploy (version 2) takes it during a rolling deploy.
    old = executor(driver, InvoiceV2, Events([seen.append]))
    assert await old.run(await reserve_one(driver)) is Outcome.RELEASED
    assert ran == []
    assert await driver.failed_count() == 0
    [released] = [e for e in seen if isinstance(e, JobReleased)]
    assert released.reason == (
        "payload version 3 of Invoice is newer than this code's version 2:"
        " it waits for a worker running the newer code"
    )
    # It is back, as dispatched, and the release used no attempt.
    res = await reserve_one(driver)
    back = Envelope.decode(res.body)
    assert (res.id, res.attempts) == (job_id, 1)
    assert back.payload_version == 3
    assert back.payload == {"cents": 500, "currency": "EUR", "vat_cents": 100}
    assert back.reason == released.reason
    # A worker of the new deploy runs it.
    assert await executor(driver, InvoiceV3).run(res) is Outcome.PROCESSED
    assert ran == [(3, {"cents": 500, "currency": "EUR", "vat_cents": 100})]
    assert await driver.failed_count() == 0


async def test_an_upcast_that_raises_fails_the_job_with_its_reason(driver: QueueDriver) -> None:
    job_id = await InvoiceV1.dispatch(amount=7, connection=queue_on(driver))
    assert await executor(driver, BrokenUpcast).run(await reserve_one(driver)) is Outcome.FAILED
    failed = await eventually(lambda: driver.failed_find(job_id))
    assert failed.exception == "UpcastError"
    assert failed.message == "Invoice.upcast from version 1 raised KeyError: 'euros'"
    # Stored as it was, so a fixed upcast can run it after `queue:retry`.
    stored = Envelope.decode(failed.body)
    assert (stored.payload_version, stored.payload) == (1, {"amount": 7})


async def test_a_payload_still_invalid_after_its_upcast_fails_naming_the_field(
    driver: QueueDriver,
) -> None:
    class NoCurrency(Job[AmountV2], register=False):
        name = "Invoice"
        version = 2

        @classmethod
        def upcast(cls, version: int, data: dict[str, Any]) -> dict[str, Any]:
            return {"cents": data["amount"] * 100}

    job_id = await InvoiceV1.dispatch(amount=7, connection=queue_on(driver))
    assert await executor(driver, NoCurrency).run(await reserve_one(driver)) is Outcome.FAILED
    failed = await eventually(lambda: driver.failed_find(job_id))
    assert failed.exception == "PayloadValidationError"
    assert failed.message == "payload (upcast from version 1) is invalid: currency: Field required"
