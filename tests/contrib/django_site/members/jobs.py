from pydantic import BaseModel

from gello_queue import Job


class GreetPayload(BaseModel):
    member_id: int


class Greet(Job[GreetPayload]):
    name = "members.Greet"

    async def handle(self, payload: GreetPayload) -> None:
        """Sent, never run, by these tests."""
