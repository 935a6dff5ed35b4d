"""The ``Inspector``'s deploy check: every job in storage that the code about to run could
not, grouped by job name and reason (``gello queue:check``).

Jobs are read a page at a time (waiting, scheduled and reserved ones by offset, failed
ones by cursor), so the check holds one page in memory whatever the backlog. On live
storage a job that moves between pages may be counted twice or not at all: the check is
meant for a copy of production storage, or for storage at rest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gello_queue.core.encryption import Keyring
from gello_queue.core.registry import JobRegistry
from gello_queue.core.runnable import Stranding, StrandReason, stranding_of_body
from gello_queue.core.states import JobState
from gello_queue.inspection.base import SCAN_PAGE, InspectorBase
from gello_queue.inspection.failed import FailedFilter
from gello_queue.ports import Capability

CHECKED_STATES = (JobState.PENDING, JobState.SCHEDULED, JobState.RESERVED, JobState.FAILED)


@dataclass(slots=True)
class StrandedGroup:
    """The stored jobs of one name that this code could not run, for one reason."""

    name: str
    reason: StrandReason
    count: int
    sample_id: str
    """One of them, to look at with ``gello queue:why``."""
    detail: str
    """What a worker would meet with the sample, in one line."""
    states: dict[str, int] = field(default_factory=dict)
    """How many of them are pending, scheduled, reserved or failed."""


@dataclass(frozen=True, slots=True)
class DeployCheck:
    """What ``check_runnable`` found."""

    checked: dict[str, int]
    """Jobs read per state (pending, scheduled, reserved, failed)."""
    stranded: list[StrandedGroup]
    """Biggest group first."""
    unchecked: list[str]
    """What could not be read, in words (a driver that cannot list its queued jobs)."""

    @property
    def ok(self) -> bool:
        """Whether every job read could run here."""
        return not self.stranded

    @property
    def stranded_count(self) -> int:
        """Jobs this code could not run."""
        return sum(g.count for g in self.stranded)

    def to_json(self) -> dict[str, Any]:
        """The ``--json`` form."""
        return {
            "ok": self.ok,
            "checked": self.checked,
            "stranded_count": self.stranded_count,
            "stranded": [
                {
                    "name": g.name,
                    "reason": str(g.reason),
                    "count": g.count,
                    "sample_id": g.sample_id,
                    "detail": g.detail,
                    "states": g.states,
                }
                for g in self.stranded
            ],
            "unchecked": self.unchecked,
        }


class _Tally:
    def __init__(self) -> None:
        self.checked = {str(s): 0 for s in CHECKED_STATES}
        self.groups: dict[tuple[str, StrandReason], StrandedGroup] = {}

    def add(self, job_id: str, state: JobState, found: Stranding | None) -> None:
        self.checked[str(state)] += 1
        if found is None:
            return
        key = (found.name, found.reason)
        group = self.groups.get(key)
        if group is None:
            group = self.groups[key] = StrandedGroup(
                found.name, found.reason, 0, job_id, found.detail
            )
        group.count += 1
        group.states[str(state)] = group.states.get(str(state), 0) + 1

    def report(self, unchecked: list[str]) -> DeployCheck:
        stranded = sorted(self.groups.values(), key=lambda g: (-g.count, g.name, g.reason))
        return DeployCheck(self.checked, stranded, unchecked)


class DeployChecks(InspectorBase):
    """The deploy check."""

    async def check_runnable(
        self, registry: JobRegistry, keyring: Keyring | None = None
    ) -> DeployCheck:
        """Every waiting, scheduled, reserved and failed job that the code whose jobs
        ``registry`` holds could not run: not registered, payload invalid after upcasting,
        or written by a newer deploy (``keyring`` opens encrypted payloads; without it
        only their version is checked). On a driver that cannot list its queued jobs
        (a message broker) only the failed store is read, and ``unchecked`` says so.
        """
        driver = await self._driver()
        tally = _Tally()
        unchecked: list[str] = []
        if Capability.LIST_JOBS in driver.capabilities:
            for state in CHECKED_STATES[:3]:
                offset = 0
                while True:
                    page = await driver.jobs(None, state, limit=SCAN_PAGE, offset=offset)
                    for record in page:
                        tally.add(
                            record.id, state, stranding_of_body(registry, record.body, keyring)
                        )
                    if len(page) < SCAN_PAGE:
                        break
                    offset += len(page)
        else:
            unchecked.append(
                f"pending, scheduled and reserved jobs: the {driver.name} driver cannot list"
                " the messages it holds, so only the failed store was checked"
            )
        async for failed in self._scan(FailedFilter(), None):
            tally.add(failed.id, JobState.FAILED, stranding_of_body(registry, failed.body, keyring))
        return tally.report(unchecked)
