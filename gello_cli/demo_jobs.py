"""The jobs of ``gello demo``: its app module, which a worker imports as any app's
(``gello queue:work --app gello_cli.demo_jobs``).

Importing it registers the jobs, so only the demo and a worker named to serve it import it.
"""

from __future__ import annotations

import asyncio

from pydantic import BaseModel, EmailStr

from gello_queue import Job

_attempts: dict[int, int] = {}


class WelcomePayload(BaseModel):
    user_id: int
    email: EmailStr


class SendWelcomeEmail(Job[WelcomePayload]):
    """Always succeeds."""

    queue = "emails"
    tries = 3

    async def handle(self, payload: WelcomePayload) -> None:
        await asyncio.sleep(0.05)


class ReportPayload(BaseModel):
    report_id: int


class GenerateReport(Job[ReportPayload]):
    """Fails on its first attempt (a flaky dependency), succeeds on the retry."""

    tries = 3
    backoff = 0.5

    async def handle(self, payload: ReportPayload) -> None:
        _attempts[payload.report_id] = _attempts.get(payload.report_id, 0) + 1
        if _attempts[payload.report_id] == 1:
            raise ConnectionError("report service timed out")


class ChargePayload(BaseModel):
    order_id: int
    cents: int


class ChargeCard(Job[ChargePayload]):
    """Always fails: it ends in the failed store after its tries."""

    queue = "payments"
    tries = 2
    backoff = 0.3

    async def handle(self, payload: ChargePayload) -> None:
        raise ValueError(f"card declined for order {payload.order_id}")
