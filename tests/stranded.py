"""Storage as a deploy may find it, for the ``queue:check`` tests: jobs the code about to
run can run, and jobs it could not (a renamed job, payloads that no longer validate after
upcasting, messages a newer deploy wrote).

The code about to run: ``Invoice`` is at version 2 (version 1 stored ``amount`` in whole
euros), and ``SendFax`` was renamed ``SendFaxes``. ``registry()`` holds it for tests in
this process; ``tests/cli/app_versions.py`` registers it for the ``gello`` command.
"""

from __future__ import annotations

import time
from typing import Any

import orjson
from helpers import envelope, eventually
from pydantic import BaseModel

from gello_queue import FailedJob, Job, JobRegistry
from gello_queue.core.envelope import Envelope
from gello_queue.ports import QueueDriver


class Amount(BaseModel):
    cents: int
    currency: str


class Invoice(Job[Amount], register=False):
    version = 2

    @classmethod
    def upcast(cls, version: int, data: dict[str, Any]) -> dict[str, Any]:
        return {"cents": data["amount"] * 100, "currency": "EUR"}

    async def handle(self, payload: Amount) -> None:
        pass


class Fax(BaseModel):
    number: str


class SendFaxes(Job[Fax], register=False):
    async def handle(self, payload: Fax) -> None:
        pass


def registry() -> JobRegistry:
    jobs = JobRegistry()
    jobs.register(Invoice)
    jobs.register(SendFaxes)
    return jobs


def _newer_format(env: Envelope) -> str:
    """``env`` as a newer gello would store it: a newer envelope format."""
    return orjson.dumps({**env.to_dict(), "v": 2, "new_field": 1}).decode()


async def seed(driver: QueueDriver) -> dict[str, str]:
    """Store the jobs; return the ids of the first of each kind that cannot run."""
    later = time.time() + 3600
    fine = [
        envelope("billing", name="Invoice", payload={"amount": 5}),
        envelope(
            "billing", name="Invoice", payload={"cents": 1, "currency": "EUR"}, payload_version=2
        ),
    ]
    upcast_fails = envelope("billing", name="Invoice", payload={})
    invalid = envelope(
        "billing", name="Invoice", payload={"cents": "many", "currency": "EUR"}, payload_version=2
    )
    renamed = [
        envelope("faxes", name="SendFax", payload={"number": str(n)}, available_at=later)
        for n in range(2)
    ]
    newer = envelope(
        "reserved",
        name="Invoice",
        payload={"cents": 1, "currency": "EUR", "vat": 0},
        payload_version=3,
    )
    await driver.push([*fine, upcast_fails, invalid, *renamed, newer])

    async def reserve() -> list[Any]:
        return await driver.reserve(["reserved"], 1, lease_s=600, worker_id="w")

    await eventually(reserve)
    newer_format = envelope("billing", name="Invoice", payload={"cents": 1, "currency": "EUR"})
    runnable_failed = envelope("faxes", name="SendFaxes", payload={"number": "9"})
    await driver.failed_import(
        [
            FailedJob(e.id, e.queue, e.name, body, "X", "m", "", time.time(), 1)
            for e, body in (
                (newer_format, _newer_format(newer_format)),
                (runnable_failed, runnable_failed.encode().decode()),
            )
        ]
    )
    return {
        "invalid": upcast_fails.id,
        "renamed": renamed[0].id,
        "newer": newer.id,
        "newer_format": newer_format.id,
    }


def expected(ids: dict[str, str]) -> list[dict[str, Any]]:
    """The groups ``queue:check --json`` reports for what ``seed`` stored."""
    return [
        {
            "name": "Invoice",
            "reason": "invalid_payload",
            "count": 2,
            "sample_id": ids["invalid"],
            "detail": "Invoice.upcast from version 1 raised KeyError: 'amount'",
            "states": {"pending": 2},
        },
        {
            "name": "Invoice",
            "reason": "newer_version",
            "count": 2,
            "sample_id": ids["newer"],
            "detail": "payload version 3 of Invoice is newer than this code's version 2:"
            " it waits for a worker running the newer code",
            "states": {"reserved": 1, "failed": 1},
        },
        {
            "name": "SendFax",
            "reason": "not_registered",
            "count": 2,
            "sample_id": ids["renamed"],
            "detail": "no job named 'SendFax' is registered (did you mean 'SendFaxes'?):"
            " import the module that defines it in the worker's --app module",
            "states": {"scheduled": 2},
        },
    ]
