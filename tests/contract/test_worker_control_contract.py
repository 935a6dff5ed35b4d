"""Conformance of commands to one worker: left by one process, taken once by the worker's
own, the newest replacing an older one, and dropped with the worker."""

from __future__ import annotations

import pytest

from gello_queue.ports import QueueDriver, WorkerRecord


def record(worker_id: str) -> WorkerRecord:
    return WorkerRecord(
        worker_id, "web-1", "host", 42, ["default"], 4, "running", 0, 0, [], 1.0, 10
    )


@pytest.mark.inline_too
async def test_a_command_is_taken_once_by_its_worker(driver: QueueDriver) -> None:
    await driver.worker_command("w-1", "pause")
    assert await driver.worker_command_take("w-2") is None  # another worker's
    assert await driver.worker_command_take("w-1") == "pause"
    assert await driver.worker_command_take("w-1") is None


@pytest.mark.inline_too
async def test_the_newest_command_replaces_one_not_yet_taken(driver: QueueDriver) -> None:
    await driver.worker_command("w-1", "pause")
    await driver.worker_command("w-1", "resume")
    await driver.worker_command("w-1", "stop")
    assert await driver.worker_command_take("w-1") == "stop"
    assert await driver.worker_command_take("w-1") is None


async def test_a_command_left_by_another_process_reaches_the_worker(
    driver: QueueDriver, peer: QueueDriver
) -> None:
    await peer.worker_command("w-1", "quiet")
    assert await driver.worker_command_take("w-1") == "quiet"
    assert await peer.worker_command_take("w-1") is None


@pytest.mark.inline_too
async def test_a_worker_that_is_gone_leaves_no_command_behind(driver: QueueDriver) -> None:
    await driver.worker_beat(record("w-1"), ttl_s=30)
    await driver.worker_command("w-1", "pause")
    await driver.worker_gone("w-1")
    assert await driver.worker_command_take("w-1") is None
    # A worker whose id starts like another's keeps its own.
    await driver.worker_command("w-10", "stop")
    await driver.worker_gone("w-1")
    assert await driver.worker_command_take("w-10") == "stop"
