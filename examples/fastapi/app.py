"""A FastAPI app that queues a welcome email at sign-up.

Run it with ``uvicorn app:app``; a worker runs the job: ``gello queue:work --app app``.
"""

from __future__ import annotations

from fastapi import FastAPI
from pydantic import BaseModel, EmailStr

from gello_queue import Job
from gello_queue.contrib.fastapi import QueueDep, lifespan


class WelcomePayload(BaseModel):
    email: EmailStr


class SendWelcomeEmail(Job[WelcomePayload]):
    queue = "emails"

    async def handle(self, payload: WelcomePayload) -> None:
        print(f"mail to {payload.email}: welcome")


class Signup(BaseModel):
    email: EmailStr


# The lifespan opens the queue at start-up and closes it at shutdown.
app = FastAPI(lifespan=lifespan)


@app.post("/signup")
async def signup(body: Signup, queue: QueueDep) -> dict[str, str]:
    job_id = await SendWelcomeEmail.dispatch(email=body.email, connection=queue)
    return {"job": job_id}
