"""A job's payload version: written at dispatch, upcast step by step when older, refused
when newer than the code (the worker and ``queue:check`` both read payloads this way)."""

from __future__ import annotations

import types
from typing import Any

import orjson
import pytest
from pydantic import BaseModel

from gello_queue import ConfigurationError, Job, PayloadTooNewError, UpcastError
from gello_queue.core.job import JobDefaults
from gello_queue.core.payload_versions import read_payload, upcast_payload


class Order(BaseModel):
    sku: str
    quantity: int = 1


class PlaceOrder(Job[Order], register=False):
    version = 3
    steps: list[int] = []

    @classmethod
    def upcast(cls, version: int, data: dict[str, Any]) -> dict[str, Any]:
        cls.steps.append(version)
        if version == 1:
            data["sku"] = data.pop("product")
            return data
        quantity = data.pop("qty", 1)
        return {**data, "quantity": quantity}


def test_dispatch_writes_the_class_version() -> None:
    env = PlaceOrder.make(sku="A-1").to_envelope(JobDefaults(), now=0.0)
    assert env.payload_version == 3
    assert orjson.loads(env.encode())["payload_version"] == 3


def test_each_older_step_is_upcast_in_turn_and_the_stored_data_is_left_alone() -> None:
    PlaceOrder.steps.clear()
    stored = {"product": "A-1", "qty": 4}
    data, model = read_payload(PlaceOrder, 1, stored)
    assert PlaceOrder.steps == [1, 2]
    assert data == {"sku": "A-1", "quantity": 4}
    assert model == Order(sku="A-1", quantity=4)
    assert stored == {"product": "A-1", "qty": 4}


def test_the_current_version_is_not_upcast() -> None:
    PlaceOrder.steps.clear()
    stored = {"sku": "A-1"}
    assert upcast_payload(PlaceOrder, 3, stored) is stored
    assert PlaceOrder.steps == []


def test_a_newer_version_is_refused_with_both_versions() -> None:
    with pytest.raises(PayloadTooNewError) as raised:
        read_payload(PlaceOrder, 4, {"sku": "A-1"})
    assert (raised.value.stored, raised.value.known) == (4, 3)
    assert str(raised.value) == (
        "payload version 4 of PlaceOrder is newer than this code's version 3:"
        " it waits for a worker running the newer code"
    )


def test_an_upcast_returning_no_dict_is_named() -> None:
    class Sloppy(Job[Order], register=False):
        version = 2

        @classmethod
        def upcast(cls, version: int, data: dict[str, Any]) -> dict[str, Any]:
            return None  # type: ignore[return-value]

    with pytest.raises(UpcastError, match=r"^Sloppy.upcast from version 1 returned NoneType"):
        read_payload(Sloppy, 1, {"sku": "A"})


def test_without_an_upcast_the_old_payload_is_validated_as_it_is() -> None:
    class AddsADefault(Job[Order], register=False):
        version = 2

    assert read_payload(AddsADefault, 1, {"sku": "A"})[1] == Order(sku="A", quantity=1)


@pytest.mark.parametrize("version", [0, -1, True, "2", 1.5])
def test_a_version_must_be_a_whole_number_from_1(version: Any) -> None:
    with pytest.raises(ConfigurationError, match="version must be a whole number >= 1"):
        types.new_class(
            "Bad", (Job[Order],), {"register": False}, lambda ns: ns.update(version=version)
        )


def test_an_upcast_written_as_an_instance_method_is_refused_at_import() -> None:
    with pytest.raises(ConfigurationError, match=r"Invoice.upcast must be a @classmethod"):

        class Invoice(Job[Order], register=False):
            version = 2

            def upcast(self, version: int, data: dict[str, Any]) -> dict[str, Any]:  # type: ignore[override]
                return data
