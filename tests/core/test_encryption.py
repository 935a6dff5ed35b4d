"""Encrypted payloads: sealing, key rotation, refusals, and the key kept out of sight."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from pydantic import BaseModel

from gello_queue import ConfigurationError, Job, Settings
from gello_queue.core.encryption import ENCRYPTED, DecryptionError, Keyring, shown_payload
from gello_queue.core.envelope import Envelope
from gello_queue.core.job import JobDefaults
from gello_queue.core.records import FailedJob

OLD = Fernet.generate_key().decode()
NEW = Fernet.generate_key().decode()


class Card(BaseModel):
    number: str


class Charge(Job[Card], register=False):
    encrypted = True


class Plain(Job[Card], register=False):
    pass


def test_an_encrypted_job_stores_only_a_token_that_opens_to_its_payload() -> None:
    env = Charge.make(number="4111 1111").to_envelope(JobDefaults(keyring=Keyring(NEW)), 0.0)
    body = env.encode()
    assert b"4111" not in body
    assert env.payload == {}
    stored = Envelope.decode(body)
    assert stored.encrypted is not None
    assert Keyring(NEW).open(stored.encrypted) == {"number": "4111 1111"}


def test_encrypt_all_seals_every_job_and_plain_jobs_stay_plain_without_it() -> None:
    keyring = Keyring(NEW)
    plain = Plain.make(number="1").to_envelope(JobDefaults(keyring=keyring), 0.0)
    assert (plain.payload, plain.encrypted) == ({"number": "1"}, None)
    sealed = Plain.make(number="1").to_envelope(JobDefaults(keyring=keyring, encrypt_all=True), 0.0)
    assert sealed.payload == {}
    assert keyring.open(sealed.encrypted or "") == {"number": "1"}


def test_dispatching_an_encrypted_job_without_a_key_says_how_to_make_one() -> None:
    with pytest.raises(ConfigurationError, match=r"Charge is encrypted.*generate_key"):
        Charge.make(number="1").to_envelope(JobDefaults(), 0.0)
    with pytest.raises(ConfigurationError, match="QUEUE_ENCRYPT_ALL"):
        Plain.make(number="1").to_envelope(JobDefaults(encrypt_all=True), 0.0)


def test_rotation_the_first_key_encrypts_and_every_key_decrypts() -> None:
    before = Keyring(OLD).seal({"n": 1})
    rotated = Keyring(f"{NEW}, {OLD}")
    assert rotated.open(before) == {"n": 1}  # stored before the rotation
    after = rotated.seal({"n": 2})
    assert Keyring(NEW).open(after) == {"n": 2}
    with pytest.raises(DecryptionError):
        Keyring(OLD).open(after)  # the old key no longer encrypts


def test_an_altered_token_or_a_wrong_key_is_refused() -> None:
    token = Keyring(NEW).seal({"n": 1})
    altered = token[:-5] + ("A" if token[-5] != "A" else "B") + token[-4:]
    with pytest.raises(DecryptionError, match="cannot be decrypted"):
        Keyring(NEW).open(altered)
    with pytest.raises(DecryptionError, match="cannot be decrypted"):
        Keyring(OLD).open(token)


@pytest.mark.parametrize("bad", ["", " , ", "not-a-key", f"{NEW},short"])
def test_a_bad_key_is_one_line_that_never_shows_the_keys(bad: str) -> None:
    with pytest.raises(ConfigurationError, match="QUEUE_ENCRYPTION_KEY") as raised:
        Keyring(bad)
    assert NEW not in str(raised.value)
    assert "not-a-key" not in str(raised.value)


def test_the_key_is_never_in_repr() -> None:
    settings = Settings(QUEUE_ENCRYPTION_KEY=f"{NEW},{OLD}")  # type: ignore[call-arg]
    keyring = settings.keyring()
    assert keyring is not None
    for shown in (repr(settings), str(settings), repr(keyring), repr(settings.model_dump())):
        assert NEW not in shown
        assert OLD not in shown
    assert repr(keyring) == "Keyring(2 keys)"


def test_a_bad_key_in_the_settings_is_a_configuration_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from gello_queue import load_settings

    monkeypatch.setenv("QUEUE_ENCRYPTION_KEY", "secret-but-not-fernet")
    with pytest.raises(ConfigurationError, match="is not a Fernet key") as raised:
        load_settings()
    assert "secret-but-not-fernet" not in str(raised.value)


def test_tools_show_an_encrypted_payload_as_encrypted_unless_revealed_with_the_key() -> None:
    env = Charge.make(number="4111").to_envelope(JobDefaults(keyring=Keyring(NEW)), 0.0)
    data = env.to_dict()
    assert shown_payload(data) == ENCRYPTED
    assert shown_payload(data, Keyring(NEW)) == ENCRYPTED  # not asked to reveal
    assert shown_payload(data, Keyring(NEW), reveal=True) == {"number": "4111"}
    assert str(shown_payload(data, Keyring(OLD), reveal=True)).startswith(ENCRYPTED)
    failed = FailedJob(env.id, "default", "Charge", env.encode().decode(), "X", "", "", 0.0, 1)
    assert failed.payload() == ENCRYPTED
    assert failed.payload(Keyring(NEW)) == {"number": "4111"}


def test_the_job_detail_of_the_dashboard_shows_encrypted() -> None:
    from gello_queue.core.records import JobRecord
    from gello_queue.core.states import JobState
    from gello_queue.inspection import detail_of_failed, detail_of_record

    env = Charge.make(number="4111").to_envelope(JobDefaults(keyring=Keyring(NEW)), 0.0)
    body = env.encode().decode()
    record = JobRecord(env.id, "default", JobState.PENDING, 0, 0, 0.0, 0.0, body)
    failed = FailedJob(env.id, "default", "Charge", body, "X", "", "", 0.0, 1)
    assert detail_of_record(record).payload == ENCRYPTED
    assert detail_of_failed(failed).payload == ENCRYPTED


async def test_the_sync_connection_runs_an_encrypted_job() -> None:
    from gello_queue import JobRegistry, Queue

    ran: list[str] = []

    class Remember(Job[Card], register=False):
        encrypted = True

        async def handle(self, payload: Card) -> None:
            ran.append(payload.number)

    registry = JobRegistry()
    registry.register(Remember)
    settings = Settings(QUEUE_ENCRYPTION_KEY=NEW)  # type: ignore[call-arg]
    queue = Queue("sync://", settings=settings, registry=registry)
    await Remember.dispatch(number="4111", connection=queue)
    await queue.close()
    assert ran == ["4111"]


async def test_run_job_seals_and_opens_an_encrypted_job() -> None:
    from gello_queue import testing

    class Remember(Job[Card], register=False):
        encrypted = True

        async def handle(self, payload: Card) -> str:
            return payload.number

    run = await testing.run_job(Remember, number="4111")
    assert run.result == "4111"


async def test_the_fake_records_an_encrypted_job_without_a_key_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from gello_queue.testing import fake

    monkeypatch.delenv("QUEUE_ENCRYPTION_KEY", raising=False)
    with fake() as queue:
        await Charge.dispatch(Card(number="4111"))
        queue.assert_pushed(Charge, lambda card: card.number == "4111")
        [pushed] = queue.pushed_jobs
        assert pushed.envelope.encrypted is not None  # sealed as a real dispatch is
        assert b"4111" not in pushed.envelope.encode()


async def test_a_job_added_to_a_batch_from_a_running_job_is_sealed() -> None:
    from gello_queue import Queue, set_default_queue
    from gello_queue.drivers.memory import MemoryDriver
    from gello_queue.orchestration.batch import BatchHandle

    settings = Settings(QUEUE_ENCRYPTION_KEY=NEW)  # type: ignore[call-arg]
    set_default_queue(Queue("memory://", settings=settings))
    driver = MemoryDriver()
    await driver.open()
    try:
        [job_id] = await BatchHandle(driver, "b1").add([Charge.make(number="4111")])
        record = await driver.find(job_id)
        assert record is not None
        assert "4111" not in record.body
        sealed = Envelope.decode(record.body).encrypted
        assert Keyring(NEW).open(sealed or "") == {"number": "4111"}
    finally:
        set_default_queue(None)
        await driver.close()
