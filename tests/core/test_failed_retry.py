"""The job a failed record goes back as when it is retried (``core.failed_retry``)."""

from __future__ import annotations

from helpers import envelope

from gello_queue.core.failed_retry import Retried, rebuild_retried


def test_an_envelope_goes_back_fresh_and_due_now() -> None:
    env = envelope(
        "billing", attempts=3, max_attempts=5, priority=4, created_at=10.0, reason="boom"
    )
    got = rebuild_retried(env.id, "mail", "Mailer", env.encode().decode(), 500.0)
    back = env.with_changes(queue="mail", attempts=0, available_at=500.0, reason=None)
    assert got == Retried(
        id=env.id,
        queue="mail",
        name=env.name,
        priority=4,
        available_at=500.0,
        created_at=10.0,
        attempts=0,
        max_attempts=5,
        body=back.encode().decode(),
        envelope=back,
    )


def test_a_body_that_is_no_envelope_goes_back_as_it_was() -> None:
    got = rebuild_retried("p", "mail", "?", "not json {", 500.0)
    assert got == Retried("p", "mail", "?", 0, 500.0, 500.0, 0, 1, "not json {", None)
