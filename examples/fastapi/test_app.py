"""The FastAPI example's tests: the fake under the test client, then a real queue."""

from __future__ import annotations

from pathlib import Path

from app import SendWelcomeEmail, app
from fastapi.testclient import TestClient

from gello_queue import Queue, set_default_queue
from gello_queue.testing import FakeQueue


def test_signup_queues_the_welcome_email(gello_fake: FakeQueue) -> None:
    with TestClient(app) as client:
        response = client.post("/signup", json={"email": "ada@example.com"})
    assert response.status_code == 200
    job_id = response.json()["job"]
    gello_fake.assert_pushed(SendWelcomeEmail, lambda p, job: job.id == job_id)
    gello_fake.assert_pushed(SendWelcomeEmail, lambda p: p.email == "ada@example.com")


def test_signup_stores_the_job_in_a_real_queue(tmp_path: Path) -> None:
    queue = Queue(f"sqlite:///{tmp_path / 'gello.db'}")
    set_default_queue(queue)
    try:
        with TestClient(app) as client:
            client.post("/signup", json={"email": "ada@example.com"})
            client.post("/signup", json={"email": "bob@example.com"})
        assert queue.size_blocking("emails") == 2
    finally:
        queue.close_blocking()
        set_default_queue(None)
