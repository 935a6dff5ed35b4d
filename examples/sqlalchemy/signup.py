"""Jobs held by a SQLAlchemy session: sent when it commits, dropped when it rolls back.

Run it from this directory: ``python signup.py`` (the queue is the one the settings
describe: SQLite in ./gello.db by default).
"""

from __future__ import annotations

from pydantic import BaseModel
from sqlalchemy import create_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from gello_queue import Job, default_queue
from gello_queue.contrib.sqlalchemy import dispatch_after_commit


class WelcomePayload(BaseModel):
    email: str


class SendWelcomeEmail(Job[WelcomePayload]):
    queue = "emails"

    async def handle(self, payload: WelcomePayload) -> None:
        print(f"mail to {payload.email}: welcome")


class Base(DeclarativeBase):
    pass


class Member(Base):
    __tablename__ = "members"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str]


def sign_up(session: Session, email: str, *, commit: bool) -> None:
    session.add(Member(email=email))
    dispatch_after_commit(session, SendWelcomeEmail.make(email=email))
    if commit:
        session.commit()
    else:
        session.rollback()


def main() -> None:
    engine = create_engine("sqlite:///members.db")
    Base.metadata.create_all(engine)
    queue = default_queue()
    before = queue.size_blocking("emails")
    with Session(engine) as session:
        sign_up(session, "ada@example.com", commit=True)
        sign_up(session, "bot@example.com", commit=False)
    print(f"queued {queue.size_blocking('emails') - before} of 2 sign-ups")


if __name__ == "__main__":
    main()
