"""The Flask example's tests: a committed sign-up queues the email, a refused one does not."""

from __future__ import annotations

from pathlib import Path

from app import SendWelcomeEmail, create_app

from gello_queue.testing import FakeQueue


def test_a_committed_signup_queues_the_email(gello_fake: FakeQueue, tmp_path: Path) -> None:
    client = create_app(
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'members.db'}"
    ).test_client()
    assert client.post("/signup", json={"email": "ada@example.com"}).status_code == 201
    gello_fake.assert_pushed_times(SendWelcomeEmail, 1)
    gello_fake.assert_pushed(SendWelcomeEmail, lambda p: p.email == "ada@example.com")


def test_a_rolled_back_signup_queues_nothing(gello_fake: FakeQueue, tmp_path: Path) -> None:
    client = create_app(
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'members.db'}"
    ).test_client()
    assert client.post("/signup", json={"email": "bot@spam.example"}).status_code == 422
    gello_fake.assert_nothing_pushed()
