"""The shop's jobs: imported at start-up by gello's Django app, so workers know them."""

from pydantic import BaseModel, EmailStr

from gello_queue import Job


class WelcomePayload(BaseModel):
    email: EmailStr


class SendWelcomeEmail(Job[WelcomePayload]):
    queue = "emails"

    async def handle(self, payload: WelcomePayload) -> None:
        print(f"mail to {payload.email}: welcome")
