"""The job API: declarations, validation at dispatch, registry and envelope building."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import BaseModel

from gello_queue import (
    ConfigurationError,
    DuplicateJobNameError,
    Exponential,
    Job,
    JobRegistry,
    PayloadTooLargeError,
    PayloadValidationError,
    UnknownJobError,
)
from gello_queue.core.job import JobDefaults

registry = JobRegistry()


class Welcome(BaseModel):
    user_id: int
    email: str


class SendWelcomeEmail(Job[Welcome], register=False):
    queue = "emails"
    priority = 2
    tries = 4
    backoff = [60, 300, 900]
    timeout = 12
    retry_until = timedelta(hours=1)


class Plain(Job[Welcome], register=False):
    name = "plain-job"


def test_name_defaults_to_class_name_and_model_comes_from_the_generic() -> None:
    assert SendWelcomeEmail.name == "SendWelcomeEmail"
    assert Plain.name == "plain-job"
    assert SendWelcomeEmail.payload_model is Welcome


def test_make_validates_and_builds_the_envelope() -> None:
    pending = SendWelcomeEmail.make(user_id="7", email="a@b.c")
    env = pending.to_envelope(JobDefaults(), now=1000.0)
    assert env.payload == {"user_id": 7, "email": "a@b.c"}
    assert (env.name, env.queue, env.priority, env.max_attempts) == (
        "SendWelcomeEmail",
        "emails",
        2,
        4,
    )
    assert env.backoff == [60.0, 300.0, 900.0]
    assert env.timeout == 12
    assert env.retry_until == 1000.0 + 3600
    assert env.available_at == 1000.0


def test_model_instance_and_options() -> None:
    pending = Plain.make(Welcome(user_id=1, email="x@y.z")).options(
        queue="other", priority=5, delay=timedelta(seconds=30)
    )
    env = pending.to_envelope(JobDefaults(queue="default", tries=7), now=0.0)
    assert (env.queue, env.priority, env.available_at, env.max_attempts) == ("other", 5, 30.0, 7)
    at = datetime(2030, 1, 1, tzinfo=UTC)
    env = Plain.make(user_id=1, email="q").options(at=at).to_envelope(JobDefaults(), now=0.0)
    assert env.available_at == at.timestamp()


def test_invalid_payload_names_the_field() -> None:
    with pytest.raises(
        PayloadValidationError, match=r"SendWelcomeEmail payload is invalid: user_id"
    ):
        SendWelcomeEmail.make(user_id="seven", email="a@b.c")
    with pytest.raises(PayloadValidationError, match="email: Field required"):
        SendWelcomeEmail.make(user_id=1)


def test_payload_over_the_cap_is_refused() -> None:
    pending = Plain.make(user_id=1, email="x" * 2000)
    with pytest.raises(PayloadTooLargeError, match="over the 1000-byte cap"):
        pending.to_envelope(JobDefaults(max_payload_bytes=1000), now=0.0)


def test_registry_rejects_duplicates_and_unknown_names() -> None:
    reg = JobRegistry()
    reg.register(SendWelcomeEmail)
    reg.register(SendWelcomeEmail)  # the same class again is fine

    class SendWelcomeEmail2(Job[Welcome], register=False):
        name = "SendWelcomeEmail"

    with pytest.raises(DuplicateJobNameError, match="taken by"):
        reg.register(SendWelcomeEmail2)
    with pytest.raises(UnknownJobError, match="no job named 'Nope'"):
        reg.get("Nope")
    assert reg.names() == ["SendWelcomeEmail"]


def test_bad_declarations_fail_at_import() -> None:
    with pytest.raises(ConfigurationError, match=r"priority must be 0\.\.5"):

        class TooUrgent(Job[Welcome], register=False):
            priority = 9

    with pytest.raises(ConfigurationError, match="tries must be >= 1"):

        class Never(Job[Welcome], register=False):
            tries = 0

    with pytest.raises(ConfigurationError, match="backoff"):

        class Odd(Job[Welcome], register=False):
            backoff = -5

    class Fine(Job[Welcome], register=False):
        backoff = Exponential(base=1, cap=10)

    assert Fine._backoff_spec["kind"] == "exponential"


@pytest.mark.parametrize("bad", [0, -1, True])
def test_max_exceptions_must_be_a_positive_count(bad: object) -> None:
    with pytest.raises(ConfigurationError, match="max_exceptions must be >= 1"):

        class Bad(Job[Welcome], register=False):
            max_exceptions = bad  # type: ignore[assignment]
