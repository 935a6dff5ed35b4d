"""The stored envelope: versioned JSON, strict about what it accepts."""

from __future__ import annotations

import dataclasses
import pickle

import orjson
import pytest

from gello_queue.core.envelope import Envelope, new_id
from gello_queue.core.errors import EnvelopeError


def test_round_trip_keeps_every_field() -> None:
    env = Envelope(
        id=new_id(),
        name="SendInvoice",
        queue="emails",
        payload={"n": 1},
        payload_version=4,
        attempts=2,
        max_attempts=5,
        priority=3,
        timeout=9.5,
        backoff=[1.0, 2.0],
        retry_until=123.0,
        available_at=10.0,
        created_at=5.0,
        unique_key="k",
        batch_id="b",
        chain=[Envelope(id=new_id(), name="Next", queue="emails", payload={}).to_dict()],
        middleware={"rate": 1},
        trace={"traceparent": "00-x"},
        tags=["billing"],
        reason="rate limited",
        exceptions=2,
    )
    assert Envelope.decode(env.encode()) == env


def test_a_message_stored_before_the_exceptions_count_reads_as_none_raised() -> None:
    old = Envelope(id=new_id(), name="N", queue="q", payload={}).to_dict()
    del old["exceptions"]
    assert Envelope.from_dict(old).exceptions == 0


def test_encode_writes_every_field_as_the_dataclass_does() -> None:
    # encode spells the fields out for speed: a field added to the dataclass must be
    # added there too, in the same place.
    full = Envelope(
        id=new_id(),
        name="N",
        queue="q",
        payload={"a": [1, "é", None], "b": {"c": 1.5}},
        payload_version=2,
        attempts=1,
        timeout=2.0,
        backoff={"kind": "exponential"},
        retry_until=3.0,
        available_at=4.25,
        created_at=4.0,
        unique_key="k",
        unique_mode="debounce",
        unique_for=1.5,
        batch_id="b",
        chain=[{"name": "Next"}],
        middleware={"once": "x"},
        trace={"traceparent": "00-x"},
        tags=["t"],
        reason="why",
        exceptions=1,
    )
    for env in (full, Envelope(id="i", name="n", queue="q", payload={})):
        assert env.encode() == orjson.dumps(env)
        assert list(orjson.loads(env.encode())) == [f.name for f in dataclasses.fields(env)]


def test_ids_are_time_ordered() -> None:
    ids = [new_id() for _ in range(50)]
    assert ids == sorted(ids)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"\x80\x04not json", "not valid JSON"),
        (b"[1, 2]", "expected a JSON object"),
        (b'{"v": 99}', "unsupported envelope version"),
        (b'{"v": 1, "id": "x", "name": "A", "queue": "q"}', "missing field 'payload'"),
        (b'{"v": 1, "id": "x", "name": "A", "queue": "q", "payload": 3}', "must be a JSON object"),
        (
            b'{"v": 1, "id": "x", "name": "A", "queue": "q", "payload": {}, "attempts": "x"}',
            "malformed",
        ),
        (
            b'{"v": 1, "id": "x", "name": "A", "queue": "q", "payload": {}, "payload_version": 0}',
            "'payload_version' must be a whole number >= 1, got 0",
        ),
        (
            b'{"v": 1, "id": "x", "name": "A", "queue": "q", "payload": {},'
            b' "payload_version": "2"}',
            "'payload_version' must be a whole number >= 1, got '2'",
        ),
    ],
)
def test_bad_bodies_are_named(body: bytes, reason: str) -> None:
    with pytest.raises(EnvelopeError, match=reason):
        Envelope.decode(body)


def test_a_body_written_before_payload_versions_is_version_1() -> None:
    body = b'{"v": 1, "id": "x", "name": "A", "queue": "q", "payload": {"n": 1}}'
    assert Envelope.decode(body).payload_version == 1


def test_a_pickle_is_never_unpickled() -> None:
    with pytest.raises(EnvelopeError, match="not valid JSON"):
        Envelope.decode(pickle.dumps({"v": 1, "name": "os.system"}))


def test_with_changes_copies_every_field_but_the_changed_ones() -> None:
    env = Envelope(id="a", name="SendEmail", queue="mail", payload={"to": "x"}, tags=["customer:1"])
    changed = env.with_changes(attempts=2, reason="rate limited")
    assert (changed.attempts, changed.reason) == (2, "rate limited")
    assert (env.attempts, env.reason) == (0, None)
    assert changed.to_dict() | {"attempts": 0, "reason": None} == env.to_dict()


def test_with_changes_refuses_a_name_that_is_no_field() -> None:
    env = Envelope(id="a", name="SendEmail", queue="mail", payload={})
    with pytest.raises(TypeError, match="no field 'atempts'"):
        env.with_changes(atempts=2)
