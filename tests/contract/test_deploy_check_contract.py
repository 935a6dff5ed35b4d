"""Conformance of the deploy check over every driver: the jobs in storage that the code
about to run could not run are found in every state a driver can list, a page at a time;
a driver that cannot list its queued jobs checks its failed store and says what it left."""

from __future__ import annotations

import pytest
import stranded
from helpers import envelope

from gello_queue.inspection import Inspector, deploy_check
from gello_queue.inspection import base as inspection_base
from gello_queue.ports import Capability, QueueDriver


class _Opened:
    """A queue whose driver is already open, for the inspector."""

    def __init__(self, driver: QueueDriver) -> None:
        self._driver = driver

    async def driver(self) -> QueueDriver:
        return self._driver


def inspector(driver: QueueDriver) -> Inspector:
    return Inspector(_Opened(driver))  # type: ignore[arg-type]


async def test_every_job_this_code_could_not_run_is_reported_by_name_and_reason(
    driver: QueueDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Pages of two jobs: every listing and the failed store are read over several pages.
    monkeypatch.setattr(deploy_check, "SCAN_PAGE", 2)
    monkeypatch.setattr(inspection_base, "SCAN_PAGE", 2)
    ids = await stranded.seed(driver)
    report = await inspector(driver).check_runnable(stranded.registry())
    assert not report.ok
    data = report.to_json()
    if Capability.LIST_JOBS in driver.capabilities:
        assert report.checked == {"pending": 4, "scheduled": 2, "reserved": 1, "failed": 2}
        assert data["stranded"] == stranded.expected(ids)
        assert report.stranded_count == 6
        assert report.unchecked == []
    else:
        assert report.checked == {"pending": 0, "scheduled": 0, "reserved": 0, "failed": 2}
        [group] = data["stranded"]
        assert group["reason"] == "newer_version"
        assert group["sample_id"] == ids["newer_format"]
        assert group["detail"] == (
            "envelope format version 2 is newer than this code's version 1: a newer gello wrote it"
        )
        assert report.unchecked == [
            f"pending, scheduled and reserved jobs: the {driver.name} driver cannot list the"
            " messages it holds, so only the failed store was checked"
        ]


async def test_storage_this_code_can_run_entirely_is_ok(driver: QueueDriver) -> None:
    await driver.push(
        [
            envelope(name="Invoice", payload={"amount": 5}),
            envelope(name="SendFaxes", payload={"number": "1"}),
        ]
    )
    report = await inspector(driver).check_runnable(stranded.registry())
    assert report.ok
    assert report.stranded == []
    assert report.to_json()["stranded_count"] == 0
