"""Tags set at dispatch: the class's own, a method's, and those of the payload's ids."""

from __future__ import annotations

import uuid

import pytest
from pydantic import BaseModel

from gello_queue import Job, Queue
from gello_queue.core.envelope import Envelope
from gello_queue.core.errors import ConfigurationError
from gello_queue.core.registry import JobRegistry
from gello_queue.core.tags import MAX_TAGS, auto_tags, job_tags
from gello_queue.testing import fake

registry = JobRegistry()


class Invoice(BaseModel):
    customer_id: int
    order_id: str = "A-7"
    amount: float = 9.5
    paid: bool = False


class SendInvoice(Job[Invoice], register=False):
    tags = ("billing",)

    async def handle(self, payload: Invoice) -> None:
        return None


class Remind(Job[Invoice], register=False):
    def tags(self, payload: Invoice) -> list[str]:  # type: ignore[override]
        return ["reminders", f"amount:{payload.amount:g}", "billing"]

    async def handle(self, payload: Invoice) -> None:
        return None


class BadTags(Job[Invoice], register=False):
    tags = ("", "ok")

    async def handle(self, payload: Invoice) -> None:
        return None


for _cls in (SendInvoice, Remind, BadTags):
    registry.register(_cls)


def test_ids_in_the_payload_tag_the_job() -> None:
    assert auto_tags({"customer_id": 42, "order_id": "A-7", "amount": 3, "id": 1}) == [
        "customer:42",
        "order:A-7",
    ]
    # Flags, empty strings, nested values and a bare "_id" are no ids.
    assert auto_tags({"paid_id": True, "x_id": "", "y_id": {"a": 1}, "_id": 5}) == []


async def test_dispatch_stores_the_class_tags_then_the_payload_ids() -> None:
    queue = Queue(f"memory://tags-{uuid.uuid4().hex}", registry=registry)
    job_id = await SendInvoice.dispatch(customer_id=42, connection=queue)
    driver = await queue.driver()
    record = await driver.find(job_id)
    assert record is not None
    assert Envelope.decode(record.body).tags == ["billing", "customer:42", "order:A-7"]


def test_a_tags_method_sees_the_validated_payload_and_repeats_are_dropped() -> None:
    with fake() as queue:
        Remind.dispatch_blocking(customer_id=7, amount=12)
    [pushed] = queue.pushed(Remind)
    assert pushed.envelope.tags == [
        "reminders",
        "amount:12",
        "billing",
        "customer:7",
        "order:A-7",
    ]


def test_a_bad_tag_is_refused_at_dispatch_and_many_ids_are_capped() -> None:
    with fake(), pytest.raises(ConfigurationError, match="tags must be non-empty strings"):
        BadTags.dispatch_blocking(customer_id=1)
    many = {f"thing{i}_id": i for i in range(50)}
    assert len(auto_tags(many)) == 50
    assert len(job_tags((), lambda: (None, None), many)) == MAX_TAGS
