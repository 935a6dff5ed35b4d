"""The quickstart's tests: gello's pytest fixtures, in sync and async tests.

Async tests need pytest-asyncio in auto mode: `asyncio_mode = "auto"` under
`[tool.pytest.ini_options]` (see this example's pyproject.toml).
"""

from __future__ import annotations

import pytest
from app.jobs import SendWelcomeEmail

from gello_queue import PayloadValidationError, testing
from gello_queue.testing import FakeQueue, QueueHarness


def test_signup_queues_the_welcome_email(gello_fake: FakeQueue) -> None:
    SendWelcomeEmail.dispatch_blocking(user_id=1, email="ada@example.com")
    gello_fake.assert_pushed(SendWelcomeEmail, lambda p: p.email == "ada@example.com")
    gello_fake.assert_pushed_on("emails", SendWelcomeEmail)
    gello_fake.assert_count(1)


def test_an_invalid_email_is_refused_before_anything_is_queued(gello_fake: FakeQueue) -> None:
    with pytest.raises(PayloadValidationError, match="email"):
        SendWelcomeEmail.dispatch_blocking(user_id=1, email="not an address")
    gello_fake.assert_nothing_pushed()


async def test_the_job_sends_the_mail(capsys: pytest.CaptureFixture[str]) -> None:
    run = await testing.run_job(SendWelcomeEmail, user_id=1, email="ada@example.com")
    run.assert_completed()
    assert "mail to ada@example.com: welcome {'user_id': 1}" in capsys.readouterr().out


async def test_the_whole_flow(gello_queue: QueueHarness) -> None:
    await SendWelcomeEmail.dispatch(user_id=1, email="ada@example.com")
    await gello_queue.drain()
    gello_queue.assert_processed(SendWelcomeEmail, 1)
