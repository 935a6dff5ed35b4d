"""Pushing jobs on Redis: script calls streamed on a connection of their own, or pipelined.

A push is one script call per queue and ``STREAM_CHUNK`` jobs, three arguments per job,
all in one round trip. On standalone Redis the driver runs one push at a time on a
connection it keeps out of the pool (concurrent pushes use the pool): each call is packed
by hiredis and written ``STREAM_PIECE`` jobs at a time as it is built, so the server runs
one call while the client builds the next (the first call holds ``STREAM_FIRST`` jobs,
so it starts sooner), and the replies are read after the last. On a cluster, or while the
push connection is busy, the calls go through the pool as one pipeline of
``PUSH_CHUNK``-job calls. Each script call is atomic; a bulk of several is not, and
pushing it again stores each job once (the ids are the client's).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from redis.asyncio.connection import AbstractConnection
from redis.exceptions import NoScriptError, ResponseError

from gello_queue.core.envelope import Envelope
from gello_queue.drivers.redis.link import Link
from gello_queue.drivers.redis.packing import hiredis_pack as _hiredis_pack
from gello_queue.drivers.redis.scripts import Call

PUSH_CHUNK = 2000
"""Jobs per push script call: big bulk pushes become several calls in one round trip,
so no single script blocks the server for long."""
STREAM_CHUNK = 250
"""Jobs per push script call on the push connection, where calls are written as they
are built: the server runs one while the client builds the next."""
STREAM_PIECE = 50
"""Jobs encoded and written at a time inside one streamed script call."""
STREAM_FIRST = 50
"""Jobs in a streamed push's first call: the sooner it is written, the sooner the server
starts (after it, the server is the slower side)."""


class Pushes:
    """The push script's calls for a list of envelopes, streamed or pipelined."""

    def __init__(self, link: Link) -> None:
        self._link = link
        self._k = link.keys

    async def streamed(
        self, conn: AbstractConnection, envelopes: Sequence[Envelope]
    ) -> tuple[list[tuple[str, list[int]]], list[Any]]:
        """Write the push script calls as they are built, then read their replies.

        Skips redis-py's per-command machinery (pool, retries, hooks): two fifths of a
        single awaited dispatch. A bulk push is written ``STREAM_PIECE`` jobs at a time,
        so the server runs a call while the client builds the next, and the encoded
        bodies alive at once stay small: holding a thousand of them made the allocator
        give memory back to the system and fault it in again, which tripled the cost
        of encoding.
        """
        sha = self._link.scripts["push"].sha
        sent: list[tuple[str, list[int]]] = []
        for queue, chunk in self._groups(envelopes, STREAM_CHUNK, STREAM_FIRST):
            keys = self._keys(queue)
            k = self._k.of(queue)
            extra = _push_extra(envelopes, chunk)
            head = ("EVALSHA", sha, len(keys), *keys, k.job, k.unique, queue, len(chunk))
            # One RESP array sent in pieces: its length first, then each piece's
            # arguments without the array header hiredis gives them.
            pieces = [b"*%d\r\n" % (len(head) + 3 * len(chunk) + len(extra)), _args_of(head)]
            for start in range(0, len(chunk), STREAM_PIECE):
                args: list[Any] = []
                for i in chunk[start : start + STREAM_PIECE]:
                    args += _job_args(envelopes[i])
                pieces.append(_args_of(args))
                await conn.send_packed_command(pieces, False)
                pieces = []
            if extra:
                pieces.append(_args_of(extra))
            if pieces:
                await conn.send_packed_command(pieces, False)
            sent.append((queue, chunk))
        results: list[Any] = []
        for _ in sent:
            try:
                results.append(await conn.read_response())
            except ResponseError as exc:  # a reply, so the connection is in step
                results.append(exc)
        return sent, results

    async def settle(
        self,
        envelopes: Sequence[Envelope],
        sent: list[tuple[str, list[int]]],
        results: list[Any],
    ) -> list[str]:
        for i, result in enumerate(results):
            if isinstance(result, NoScriptError):
                # NOSCRIPT means the script did not run: running it again is safe.
                queue, chunk = sent[i]
                keys, args = self._call(envelopes, queue, chunk)
                results[i] = await self._link.scripts["push"](keys, args)
            elif isinstance(result, Exception):
                raise result
        return push_ids(envelopes, [chunk for _, chunk in sent], results)

    def calls(self, envelopes: Sequence[Envelope]) -> tuple[list[Call], list[list[int]]]:
        # The queue is known no later than its first job lands, so rescue never misses
        # one: inside the push script on standalone Redis (one command, no pipeline for
        # the common single-queue push), or just before it on a cluster.
        calls: list[Call] = []
        if self._link.cluster:
            queues = dict.fromkeys(env.queue for env in envelopes)
            calls.append((None, (), ("SADD", self._k.queues, *queues)))
        chunks: list[list[int]] = []
        script = self._link.scripts["push"]
        for queue, chunk in self._groups(envelopes, PUSH_CHUNK):
            keys, args = self._call(envelopes, queue, chunk)
            calls.append((script, keys, args))
            chunks.append(chunk)
        return calls, chunks

    @staticmethod
    def _groups(
        envelopes: Sequence[Envelope], size: int, first_size: int = 0
    ) -> Iterator[tuple[str, list[int]]]:
        """The jobs' indexes per queue, ``size`` at most per script call (``first_size``
        in the first call, when given)."""
        first = envelopes[0].queue
        by_queue: dict[str, Sequence[int]]
        if all(env.queue == first for env in envelopes):
            by_queue = {first: range(len(envelopes))}  # the common case: no index lists
        else:
            lists: dict[str, list[int]] = {}
            for i, env in enumerate(envelopes):
                lists.setdefault(env.queue, []).append(i)
            by_queue = dict(lists)
        head = min(first_size or size, size)
        for queue, idxs in by_queue.items():
            start = 0
            while start < len(idxs):
                end = start + head
                yield queue, list(idxs[start:end])
                start, head = end, size

    def _keys(self, queue: str) -> tuple[str, ...]:
        k = self._k.of(queue)
        if self._link.cluster:
            return (k.ready, k.delayed, k.wake)
        return (k.ready, k.delayed, k.wake, self._k.queues)

    def _call(
        self, envelopes: Sequence[Envelope], queue: str, chunk: list[int]
    ) -> tuple[tuple[str, ...], list[Any]]:
        """The push script's keys and arguments for the jobs at ``chunk``."""
        k = self._k.of(queue)
        args: list[Any] = [k.job, k.unique, queue, len(chunk)]
        for i in chunk:
            args += _job_args(envelopes[i])
        args += _push_extra(envelopes, chunk)
        return self._keys(queue), args


def push_ids(
    envelopes: Sequence[Envelope], chunks: list[list[int]], results: list[Any]
) -> list[str]:
    """Each job's id: its own, or the id of the unique holder it was folded into."""
    ids = [env.id for env in envelopes]
    for chunk, held in zip(chunks, results[len(results) - len(chunks) :], strict=True):
        for j in range(0, len(held), 2):
            ids[chunk[held[j]]] = held[j + 1]
    return ids


class Unpackable(Exception):
    """An argument hiredis cannot pack (a string that is not UTF-8): the pool's packer
    sends the push instead."""


def _args_of(args: Sequence[Any]) -> bytes:
    """``args`` packed by hiredis, without the ``*<count>`` header of a whole command.

    Raises:
        Unpackable: hiredis is missing or refused an argument.
    """
    if _hiredis_pack is None:
        raise Unpackable
    try:
        packed = _hiredis_pack(tuple(args))
    except (UnicodeEncodeError, TypeError):
        raise Unpackable from None
    return packed[packed.index(b"\r\n") + 2 :]


def _job_args(env: Envelope) -> tuple[str, bytes, str]:
    """A job's three push arguments: id, body and the ``m`` field."""
    at = env.available_at
    # Most jobs are due at creation: one float repr instead of two.
    a = repr(at)
    c = a if env.created_at == at else repr(env.created_at)
    return env.id, env.encode(), f"{a}|{env.priority}|{env.max_attempts}|{c}"


def _push_extra(envelopes: Sequence[Envelope], chunk: list[int]) -> list[Any]:
    """The (1-based index, field, value) triples for the rarer fields of a chunk."""
    extra: list[Any] = []
    for j, i in enumerate(chunk, 1):
        env = envelopes[i]
        if env.unique_key is not None:
            extra += (j, "u", env.unique_key)
            if env.unique_mode is not None:
                extra += (j, "um", env.unique_mode)
            if env.unique_for is not None:
                extra += (j, "ut", max(1, round(env.unique_for * 1000)))
        if env.attempts:
            extra += (j, "n", env.attempts)
    return extra
