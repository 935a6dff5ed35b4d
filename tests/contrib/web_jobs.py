"""A job and a table shared by the integration tests."""

from __future__ import annotations

from pydantic import BaseModel
from sqlalchemy import String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from gello_queue import Job


class WelcomePayload(BaseModel):
    user_id: int


class Welcome(Job[WelcomePayload], register=False):
    name = "contrib.Welcome"

    async def handle(self, payload: WelcomePayload) -> None:
        """Sent, never run, by these tests."""


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(200))
