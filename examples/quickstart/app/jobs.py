"""The application's jobs."""

from __future__ import annotations

from pydantic import BaseModel, EmailStr

from app.services import alert, mailer
from gello_queue import Job


class WelcomePayload(BaseModel):
    user_id: int
    email: EmailStr


class SendWelcomeEmail(Job[WelcomePayload]):
    queue = "emails"  # default: QUEUE_DEFAULT
    tries = 3  # attempts before the failed store (QUEUE_MAX_TRIES)
    backoff = [60, 300, 900]  # seconds before each retry; or 30, or Exponential(base=2, cap=600)
    timeout = 30  # seconds per attempt (QUEUE_TIMEOUT)
    priority = 0  # 0..5, higher runs first

    async def handle(self, payload: WelcomePayload) -> None:
        await mailer.send(payload.email, "welcome", user_id=payload.user_id)

    async def failed(self, payload: WelcomePayload, error: BaseException) -> None:
        await alert(f"welcome email to {payload.email} failed: {error}")
