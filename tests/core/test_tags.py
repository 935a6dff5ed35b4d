"""Tags set at dispatch: the class's own, a method's, and those of the payload's ids."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from cryptography.fernet import Fernet
from pydantic import BaseModel

from gello_queue import Job, Queue
from gello_queue.core.encryption import Keyring
from gello_queue.core.envelope import Envelope
from gello_queue.core.errors import ConfigurationError
from gello_queue.core.pending_dispatch import JobDefaults
from gello_queue.core.registry import JobRegistry
from gello_queue.core.runnable import StrandReason, stranding_of
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


class SealedInvoice(Job[Invoice], register=False):
    encrypted = True
    tags = ("billing",)
    version = 2

    @classmethod
    def upcast(cls, version: int, data: dict[str, Any]) -> dict[str, Any]:
        return {**data, "order_id": "upcast"}

    async def handle(self, payload: Invoice) -> None:
        return None


def test_an_encrypted_job_keeps_its_ids_out_of_its_tags() -> None:
    keyring = Keyring(Fernet.generate_key().decode())
    env = SealedInvoice.make(customer_id=42).to_envelope(JobDefaults(keyring=keyring), 0.0)
    assert env.tags == ["billing"]
    assert env.payload == {}  # the ids are only in the token


def test_queue_check_opens_an_encrypted_payload_only_with_the_key() -> None:
    check = JobRegistry()
    check.register(SealedInvoice)
    keyring = Keyring(Fernet.generate_key().decode())
    bad = keyring.seal({"amount": 1})  # no customer_id: invalid for this model
    env = SealedInvoice.make(customer_id=1).to_envelope(JobDefaults(keyring=keyring), 0.0)
    stored = env.with_changes(encrypted=bad, payload_version=1)
    # Without the key its fields cannot be read: only its version is judged.
    assert stranding_of(check, stored) is None
    newer = stranding_of(check, stored.with_changes(payload_version=3))
    assert newer is not None
    assert newer.reason == StrandReason.NEWER_VERSION
    found = stranding_of(check, stored, keyring)
    assert found is not None
    assert found.reason == StrandReason.INVALID_PAYLOAD
    assert "customer_id" in found.detail
    other = Keyring(Fernet.generate_key().decode())
    undecryptable = stranding_of(check, stored, other)
    assert undecryptable is not None
    assert undecryptable.reason == StrandReason.INVALID_PAYLOAD
    # A good one, upcast from version 1, runs.
    assert stranding_of(check, env.with_changes(payload_version=1), keyring) is None
