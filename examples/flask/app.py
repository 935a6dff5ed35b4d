"""A Flask app that queues a welcome email once the new member is committed.

Run it with ``flask --app app run``; a worker runs the job: ``gello queue:work --app app``.
"""

from __future__ import annotations

from flask import Flask, request
from flask_sqlalchemy import SQLAlchemy
from pydantic import BaseModel, EmailStr
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from gello_queue import Job
from gello_queue.contrib.flask import Gello


class WelcomePayload(BaseModel):
    email: EmailStr


class SendWelcomeEmail(Job[WelcomePayload]):
    queue = "emails"

    async def handle(self, payload: WelcomePayload) -> None:
        print(f"mail to {payload.email}: welcome")


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)
gello = Gello()


class Member(db.Model):  # type: ignore[name-defined,misc]
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(unique=True)


def create_app(**config: object) -> Flask:
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///members.db"
    app.config.update(config)  # QUEUE_URL, QUEUE_DEFAULT... are read from here too
    db.init_app(app)
    gello.init_app(app)
    with app.app_context():
        db.create_all()

    @app.post("/signup")
    def signup() -> tuple[dict[str, str], int]:
        email = request.get_json()["email"]
        db.session.add(Member(email=email))
        # Sent when the session commits; a rollback drops it.
        gello.dispatch(SendWelcomeEmail.make(email=email), after_commit=True)
        if email.endswith("@spam.example"):
            db.session.rollback()
            return {"error": "refused"}, 422
        db.session.commit()
        return {"member": email}, 201

    return app
