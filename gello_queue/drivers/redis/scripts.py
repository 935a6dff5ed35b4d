"""The Lua scripts: loaded from the ``*.lua`` files beside this module, called by SHA.

Each script is prefixed with ``prelude.lua`` and registered once per client. A server
that forgot a script (a restart, ``SCRIPT FLUSH``) answers ``NOSCRIPT``, which means the
script did not run: it is reloaded and the call run again, which is always safe.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import resources
from typing import Any

from redis.commands.core import AsyncScript
from redis.exceptions import NoScriptError

from gello_queue.drivers.redis.connection import Client

SCRIPTS = (
    "push",
    "reserve",
    "ack",
    "ack_recording",
    "release",
    "fail",
    "extend",
    "rescue",
    "counts",
    "jobs",
    "find",
    "cancel",
    "promote",
    "jobs_query",
    "clear",
    "failed_page",
    "failed_delete",
    "failed_retry",
    "failed_import",
    "failed_query",
    "failed_groups",
    "failed_index",
    "worker_beat",
    "workers",
    "worker_gone",
    "restart",
    "throughput_add",
    "throughput_get",
    "timings_add",
    "counter_incr",
    "lock_acquire",
    "lock_release",
    "result_put",
    "batch_create",
    "batch_mark",
    "batch_cancel",
    "server_restart",
)

BATCH = 1000
"""Jobs a clearing, pruning, rescuing or retrying script handles per call: big bulk
calls become several script calls, so no single script blocks the server for long."""

Scripts = dict[str, AsyncScript]
Call = tuple[AsyncScript | None, Sequence[Any], Sequence[Any]]
"""A script with its keys and args, or (None, (), command) for a plain command."""


def load_scripts(client: Client) -> Scripts:
    """Every script, registered on ``client`` by name (nothing is sent to the server)."""
    pkg = resources.files(__package__)
    prelude = pkg.joinpath("prelude.lua").read_text()
    return {
        name: client.register_script(prelude + pkg.joinpath(f"{name}.lua").read_text())
        for name in SCRIPTS
    }


async def run(client: Client, calls: Sequence[Call]) -> list[Any]:
    """Run calls in one round trip; scripts the server forgot are reloaded and rerun."""
    if len(calls) == 1:
        script, keys, args = calls[0]
        if script is None:
            return [await client.execute_command(*args)]
        return [await script(keys, args)]
    pipe = client.pipeline(transaction=False)
    for script, keys, args in calls:
        if script is None:
            pipe.execute_command(*args)
        else:
            # Not pipe.evalsha(): cluster pipelines refuse it by name, yet route
            # EVALSHA by its keys' slot when it is queued as a plain command.
            pipe.execute_command("EVALSHA", script.sha, len(keys), *keys, *args)
    results: list[Any] = await pipe.execute(raise_on_error=False)
    for i, result in enumerate(results):
        if isinstance(result, NoScriptError):
            # NOSCRIPT means the script did not run: running it again is safe.
            script, keys, args = calls[i]
            assert script is not None
            results[i] = await script(keys, args)
        elif isinstance(result, Exception):
            raise result
    return results
