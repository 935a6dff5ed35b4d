"""Redis driver specifics: script reloads, values another tool wrote, the push
connection, the key layout, retention and connection details. What every driver does
(concurrency, wake-ups, poison bodies, outages) is in tests/contract."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

import hiredis
import orjson
import pytest
import structlog
from backends.redis import REDIS_URL, delete_prefix, open_driver
from helpers import envelope, eventually
from redis.asyncio import Redis
from redis.crc import key_slot
from redis.exceptions import TimeoutError as RedisTimeoutError

from gello_queue.core.envelope import Envelope
from gello_queue.core.errors import EnvelopeError
from gello_queue.core.failed_query import fingerprint
from gello_queue.core.states import JobState
from gello_queue.drivers.redis import RedisDriver, redact_url
from gello_queue.drivers.redis import push as redis_push_module
from gello_queue.drivers.redis.keys import KeyScheme
from gello_queue.ports import FailedJob, FailedQuery, Failure, QueueCounts, WorkerRecord

W = "worker-1"


@pytest.fixture
async def driver(request: pytest.FixtureRequest) -> AsyncIterator[RedisDriver]:
    async with open_driver(request) as opened:
        yield opened


@pytest.fixture
async def raw() -> AsyncIterator[Redis]:
    """A plain bytes client, for writing what a producer other than gello might write."""
    client = Redis.from_url(REDIS_URL)
    yield client
    await client.aclose()


async def peer(driver: RedisDriver, **options: object) -> RedisDriver:
    """Another driver (own connections) on the same prefix, as another process would be."""
    other = RedisDriver(REDIS_URL, prefix=driver.prefix, **options)  # type: ignore[arg-type]
    await other.open()
    return other


def qkey(driver: RedisDriver, queue: str, suffix: str) -> str:
    return f"{driver.prefix}{{q:{queue}}}:{suffix}"


# -- scripts -----------------------------------------------------------------------


async def test_scripts_reload_after_script_flush(driver: RedisDriver) -> None:
    await driver.push([envelope("a"), envelope("b")])
    sha = driver._s_reserve.sha
    await driver.redis.script_flush()
    assert await driver.redis.script_exists(sha) == [False]
    # One script call (reserve) and one pipelined batch (ack over two queues).
    held = await driver.reserve(["a", "b"], 2, lease_s=30, worker_id=W)
    assert len(held) == 2
    assert await driver.redis.script_exists(sha) == [True]
    await driver.redis.script_flush()
    assert await driver.ack(held) == []
    await driver.redis.script_flush()
    assert await driver.counts() == {}


# -- poison values -----------------------------------------------------------------


async def test_a_ready_member_without_a_job_hash_reaches_the_worker_raw(
    driver: RedisDriver, raw: Redis
) -> None:
    # A body that is no envelope is in the contract (test_poison_contract); this is a
    # member of the ready set, not valid UTF-8, that names no job hash at all.
    garbage = b"\xff\xfe not an envelope"
    await raw.zadd(qkey(driver, "default", "ready"), {garbage: 0})
    await raw.sadd(f"{driver.prefix}{{g}}:queues", "default")

    [first] = await driver.reserve(["default"], 5, lease_s=30, worker_id=W)
    assert isinstance(first.body, str)
    assert first.body.encode("utf-8", "surrogateescape") == garbage
    assert first.attempts == 1
    with pytest.raises(EnvelopeError):
        Envelope.decode(first.body)
    assert await driver.fail(first, str(first.body), Failure("EnvelopeError", "not JSON"))

    assert first.id.encode("utf-8", "surrogateescape") == garbage
    stored = await raw.hget(qkey(driver, "default", "f:").encode() + garbage, "body")
    assert stored == garbage
    # Retried as it was: it fails again with the same clear reason, never vanishes.
    assert await driver.failed_retry([first.id]) == 1
    [again] = await driver.reserve(["default"], 1, lease_s=30, worker_id=W)
    assert str(again.body).encode("utf-8", "surrogateescape") == garbage


async def overwrite(raw: Redis, driver: RedisDriver, job_id: str, kind: str) -> None:
    """Replace a job's hash as another tool might: with a string, a list, or a hash whose
    attempt count is not a number."""
    key = qkey(driver, "default", f"j:{job_id}")
    if kind == "n":
        await raw.hset(key, "n", "many")
        return
    await raw.delete(key)
    if kind == "string":
        await raw.set(key, "a plain string")
    else:
        await raw.rpush(key, "a", "list")


async def test_jobs_overwritten_while_leased_fail_alone_at_rescue(
    driver: RedisDriver, raw: Redis
) -> None:
    envs = [envelope(max_attempts=5) for _ in range(6)]
    await driver.push(envs)
    held = await driver.reserve(["default"], 6, lease_s=30, worker_id=W)
    as_string, as_list, bad_count = held[1], held[3], held[4]
    for res, kind in ((as_string, "string"), (as_list, "list"), (bad_count, "n")):
        await overwrite(raw, driver, res.id, kind)
    # The lease of a key that is no longer a job hash is lost; the others' still hold.
    assert sorted(await driver.extend(held, 30)) == sorted([as_string.id, as_list.id])
    env = Envelope.decode(as_string.body)
    assert not await driver.release(as_string, env, 0)
    assert not await driver.fail(as_list, "", Failure("E", "m"))
    # Their worker is gone: every lease runs out.
    await raw.zadd(qkey(driver, "default", "reserved"), {r.id: 0 for r in held})
    rescued = await driver.rescue()
    bad = {as_string.id, as_list.id, bad_count.id}
    assert sorted(rescued.requeued) == sorted(r.id for r in held if r.id not in bad)
    assert sorted(rescued.failed) == sorted(bad)
    failed = {f.id: f for f in await driver.failed_list()}
    assert failed[as_string.id].body == "a plain string"
    assert "is a Redis string, not a job hash" in failed[as_string.id].message
    assert "is a Redis list, not a job hash" in failed[as_list.id].message
    assert "attempt count n is not a number ('many')" in failed[bad_count.id].message
    assert failed[bad_count.id].body == bad_count.body
    assert {f.exception for f in failed.values()} == {"EnvelopeError"}
    assert (await driver.counts())["default"].pending == 3


async def test_an_overwritten_job_never_stops_the_acks_after_it(
    driver: RedisDriver, raw: Redis
) -> None:
    envs = [envelope() for _ in range(4)]
    await driver.push(envs)
    held = await driver.reserve(["default"], 4, lease_s=30, worker_id=W)
    await overwrite(raw, driver, held[1].id, "string")
    # The acks before and after the bad key are applied; only the bad one is refused.
    assert await driver.ack(held) == [held[1].id]
    assert (await driver.counts())["default"].reserved == 1


async def test_malformed_waiting_jobs_never_stop_the_queue(driver: RedisDriver, raw: Redis) -> None:
    now = await driver.now()
    later = [envelope(available_at=now + 3600) for _ in range(3)]
    due = envelope(available_at=now + 3600)
    ready = [envelope() for _ in range(3)]
    await driver.push([*later, due, *ready])
    await raw.zadd(qkey(driver, "default", "delayed"), {due.id: now - 1})  # falls due
    for job_id in (later[0].id, due.id, ready[1].id):
        await overwrite(raw, driver, job_id, "string")
    await overwrite(raw, driver, later[1].id, "list")
    # Inspection reads past them.
    counts = (await driver.counts())["default"]
    assert (counts.pending, counts.scheduled) == (4, 3)
    assert len(await driver.jobs("default", JobState.PENDING)) == 2
    assert await driver.find(ready[0].id) is not None
    # Promoted, cancelled and cleared like any job: no error, nothing left behind.
    assert await driver.promote(later[0].id)
    assert await driver.promote(later[2].id)
    assert await driver.cancel(later[1].id)
    assert not await raw.exists(qkey(driver, "default", f"j:{later[1].id}"))
    # Reserving (and promoting the job that falls due) fails the malformed ones alone.
    got = await driver.reserve(["default"], 10, lease_s=30, worker_id=W)
    assert sorted(r.id for r in got) == sorted([later[2].id, ready[0].id, ready[2].id])
    assert len(await driver.failed_list()) == 3
    await driver.push([envelope()])
    await overwrite(raw, driver, (await driver.jobs("default", JobState.PENDING))[0].id, "list")
    assert await driver.clear("default") == 1
    assert await driver.counts() == {"default": QueueCounts(reserved=3, failed=3)}


# -- the push connection -------------------------------------------------------------


def _mixed_batch() -> list[Envelope]:
    """Jobs over two queues and several streamed calls and pieces, with every rare field."""
    now = time.time()
    envs = [envelope(payload={"n": i}, priority=i % 6) for i in range(700)]
    envs += [envelope("other", payload={"n": i}, available_at=now + 60) for i in range(120)]
    envs[5] = envelope(unique_key="u:1", unique_mode="processing", unique_for=2.5)
    envs[260] = envelope(unique_key="u:1")  # held by envs[5], in a later call
    envs[300] = envelope(attempts=2)
    envs[710] = envelope("other", unique_key="u:2", unique_mode="debounce")
    return envs


async def _stored(driver: RedisDriver, raw: Redis, envs: list[Envelope]) -> list[object]:
    """What the server holds for ``envs``, prefix-free, to compare two pushes."""
    out: list[object] = []
    for queue in ("default", "other"):
        for suffix in ("ready", "delayed"):
            out.append(await raw.zrange(qkey(driver, queue, suffix), 0, -1, withscores=True))
    for env in envs:
        out.append(await raw.hgetall(qkey(driver, env.queue, f"j:{env.id}")))
    for queue, key in (("default", "u:1"), ("other", "u:2")):
        out.append(await raw.get(qkey(driver, queue, f"u:{key}")))
        out.append(await raw.pttl(qkey(driver, queue, f"u:{key}")) > 0)
    return out


async def test_streamed_pushes_store_what_pooled_pushes_store(
    driver: RedisDriver, raw: Redis
) -> None:
    pooled = await peer(driver)  # the same keys, emptied between the two pushes
    pooled._push_conn = None  # the pool and its pipeline, as on a cluster
    try:
        envs = _mixed_batch()
        streamed_ids = await driver.push(envs)
        assert streamed_ids[260] == envs[5].id
        assert streamed_ids[:260] == [e.id for e in envs[:260]]
        streamed = await _stored(driver, raw, envs)
        await delete_prefix(driver, driver.prefix)  # this test's keys only: Redis is shared
        assert await pooled.push(envs) == streamed_ids
        assert await _stored(driver, raw, envs) == streamed
    finally:
        await pooled.close()


async def test_streamed_pushes_reload_the_script_after_script_flush(driver: RedisDriver) -> None:
    await driver.redis.script_flush()
    envs = [envelope(payload={"n": i}) for i in range(600)]
    assert await driver.push(envs) == [e.id for e in envs]
    assert (await driver.counts())["default"].pending == 600


async def test_pushes_survive_their_connection_being_killed(driver: RedisDriver) -> None:
    conn = driver._push_conn
    assert conn is not None
    await driver.push([envelope()])
    client_id = await _client_id(conn)
    await driver.redis.client_kill_filter(_id=client_id)
    # The first push meets the dead socket and goes through the pool's retries; the
    # connection reconnects in the background, and later pushes use it again.
    assert len(await driver.push([envelope() for _ in range(300)])) == 300
    await eventually(lambda: _async(conn.is_connected and not driver._push_busy))
    assert len(await driver.push([envelope()])) == 1
    assert await _client_id(conn) != client_id
    assert (await driver.counts())["default"].pending == 302


async def _async(value: object) -> object:
    return value


async def _client_id(conn: object) -> int:
    await conn.send_command("CLIENT", "ID")  # type: ignore[attr-defined]
    return int(await conn.read_response())  # type: ignore[attr-defined]


async def test_concurrent_and_cancelled_pushes_keep_replies_in_step(
    driver: RedisDriver,
) -> None:
    # One push holds the push connection; the others use the pool meanwhile.
    batches = [[envelope(payload={"n": i}) for _ in range(50)] for i in range(6)]
    results = await asyncio.gather(*(driver.push(b) for b in batches))
    assert results == [[e.id for e in b] for b in batches]
    # A push cancelled between its send and its reply leaves no reply behind.
    for timeout_s in (0.0005, 0.002, 0.005):
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(driver.push([envelope() for _ in range(2000)]), timeout_s)
    env = envelope()
    assert await driver.push([env]) == [env.id]
    assert await driver.find(env.id) is not None


async def test_a_push_hiredis_cannot_pack_goes_through_the_pool(
    driver: RedisDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    packed: list[int] = []

    def refuses(args: tuple[object, ...]) -> bytes:
        packed.append(len(args))
        if len(packed) > 2:  # the head and a first piece went out: half a command
            raise TypeError("an argument hiredis does not know")
        return hiredis.pack_command(args)

    monkeypatch.setattr(redis_push_module, "_hiredis_pack", refuses)
    envs = [envelope(payload={"n": i}) for i in range(120)]
    assert await driver.push(envs) == [e.id for e in envs]
    monkeypatch.undo()
    env = envelope()
    assert await driver.push([env]) == [env.id]
    assert (await driver.counts())["default"].pending == 121


# -- layout and retention ----------------------------------------------------------


async def test_queue_keys_share_one_slot(driver: RedisDriver, raw: Redis) -> None:
    env = envelope("emails", unique_key="u1")
    await driver.push([env])
    [res] = await driver.reserve(["emails"], 1, lease_s=30, worker_id=W)
    await driver.fail(res, str(res.body), Failure("E", "x"))
    await driver.failed_retry([env.id])
    keys = [k async for k in raw.scan_iter(match=f"{driver.prefix}*")]
    queue_keys = [k for k in keys if b"{q:emails}" in k]
    assert {key_slot(k) for k in queue_keys} == {key_slot(b"{q:emails}")}
    assert all(k.startswith(driver.prefix.encode()) for k in keys)
    # Few fields per job hash (each costs on every push): body, and the fixed facts.
    fields = await raw.hgetall(qkey(driver, "emails", f"j:{env.id}"))
    assert set(fields) == {b"body", b"m"}
    at, priority, max_attempts, created = fields[b"m"].split(b"|")
    assert (int(priority), int(max_attempts)) == (env.priority, env.max_attempts)
    assert float(created) == pytest.approx(env.created_at, abs=1e-5)
    assert float(at) == pytest.approx(await driver.now(), abs=5)


async def test_heartbeats_and_throughput_expire(driver: RedisDriver, raw: Redis) -> None:
    rec = WorkerRecord("w1", "web-1", "host", 42, ["default"], 4, "running", 3, 1, [], 1.0, 10)
    await driver.worker_beat(rec, ttl_s=30)
    ttl = await raw.pttl(f"{driver.prefix}{{g}}:worker:w1")
    assert 0 < ttl <= 30_000
    minute = int(await driver.now()) // 60 * 60
    await driver.record_throughput({"default": (1, 0)}, minute)
    assert 0 < await raw.ttl(f"{driver.prefix}{{g}}:tp:{minute}") <= 86400


# -- connecting --------------------------------------------------------------------


def test_redact_url_hides_passwords() -> None:
    assert redact_url("redis://:pw@h:6379/0") == "redis://:***@h:6379/0"
    assert redact_url("redis://user:pw@h/0") == "redis://user:***@h/0"
    assert redact_url("redis://h:6379/0") == "redis://h:6379/0"
    assert "pw" not in redact_url("redis://h/0?password=pw&db=1")


async def test_an_evicting_server_gets_a_loud_warning(
    driver: RedisDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def evicting(*_: object) -> dict[str, str]:
        return {"maxmemory-policy": "allkeys-lru"}

    monkeypatch.setattr(driver.redis, "config_get", evicting)
    with structlog.testing.capture_logs() as logs:
        await driver._server.check_eviction(driver.redis)
    [entry] = logs
    assert entry["log_level"] == "warning"
    assert "lost jobs" in entry["event"]
    assert entry["maxmemory_policy"] == "allkeys-lru"


async def test_bodies_are_json_on_the_wire(driver: RedisDriver, raw: Redis) -> None:
    env = envelope(payload={"to": "ada"})
    await driver.push([env])
    body = await raw.hget(qkey(driver, "default", f"j:{env.id}"), "body")
    assert orjson.loads(body)["payload"] == {"to": "ada"}


async def test_commands_are_packed_in_c_with_a_python_fallback(driver: RedisDriver) -> None:
    pool = driver.redis.connection_pool  # type: ignore[union-attr]
    assert pool.connection_class.__name__.startswith("Fast")
    conn = pool.make_connection()
    args = ("EVALSHA", "abc", 1, "k", 1.5, b"\x00raw", 7)
    plain = b"".join(super(type(conn), conn).pack_command(*args))
    assert conn.pack_command(*args) == [plain]
    # hiredis refuses these; redis-py packs them (surrogates, multi-word command names).
    assert b"".join(conn.pack_command("SET", "k", "\udcff")) == b"".join(
        super(type(conn), conn).pack_command("SET", "k", "\udcff")
    )
    assert await driver.redis.config_get("maxmemory-policy")


async def test_a_send_the_server_never_reads_times_out(driver: RedisDriver) -> None:
    # A server that answers the connection's handshake and then stops reading: the send
    # blocks once the socket buffers fill, and the socket timeout (timed without a
    # wait_for task) ends it.
    handshake_done, finished = asyncio.Event(), asyncio.Event()

    async def stalls(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while not handshake_done.is_set():
            data = await reader.read(65536)
            if not data:
                return
            writer.write(b"+OK\r\n" * (data.count(b"\r\n*") + data.startswith(b"*")))
        await finished.wait()
        writer.close()

    server = await asyncio.start_server(stalls, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    cls = driver.redis.connection_pool.connection_class  # type: ignore[union-attr]
    conn = cls(host="127.0.0.1", port=port, socket_timeout=0.3)
    try:
        await conn.connect()
        handshake_done.set()
        started = time.monotonic()
        with pytest.raises(RedisTimeoutError, match="Timeout writing to socket"):
            await conn.send_packed_command([b"x" * 64_000_000])
        assert time.monotonic() - started < 5
        assert conn.socket_timeout == 0.3
    finally:
        finished.set()
        await conn.disconnect()
        server.close()
        await server.wait_closed()


async def test_reserve_wait_leases_the_job_that_woke_it() -> None:
    async with open_driver(None) as waiting:
        producer = RedisDriver(REDIS_URL, prefix=waiting.prefix)
        await producer.open()
        try:
            assert (
                await waiting.reserve_wait(["default"], 4, lease_s=30, worker_id=W, timeout_s=0.05)
                == []
            )
            env = envelope()
            blocked = asyncio.create_task(
                waiting.reserve_wait(["default"], 4, lease_s=30, worker_id=W, timeout_s=5)
            )
            await eventually(lambda: _blocked_clients(producer), lambda n: n >= 1)
            await producer.push([env])
            got = await asyncio.wait_for(blocked, 5)
            assert [(r.id, r.attempts) for r in got] == [(env.id, 1)]
            assert await waiting.ack(got) == []
            later = envelope(available_at=await producer.now() + 0.3)
            await producer.push([later])
            got = await eventually(
                lambda: waiting.reserve_wait(["default"], 4, lease_s=30, worker_id=W, timeout_s=1)
            )
            assert [r.id for r in got] == [later.id]  # a delayed job is leased when due
        finally:
            await producer.close()


async def _blocked_clients(driver: RedisDriver) -> int:
    info = await driver.redis.execute_command("INFO", "clients")
    return int(info["blocked_clients"]) if isinstance(info, dict) else 0


async def test_failures_stored_before_the_failed_indexes_get_indexed(
    driver: RedisDriver,
) -> None:
    old = [envelope("mail", name="Mailer") for _ in range(3)]
    records = [
        FailedJob(
            e.id,
            "mail",
            "Mailer",
            e.encode().decode(),
            "OSError",
            f"disk {n} full",
            "",
            10.0 + n,
            3,
        )
        for n, e in enumerate(old)
    ]
    assert await driver.failed_import(records) == 3
    # Take the indexes away, as a failed store written before they existed has none.
    k = KeyScheme(driver.prefix).of("mail")
    async for key in driver.redis.scan_iter(match=f"{k.failed_index}*"):
        await driver.redis.delete(key)
    for r in records:
        await driver.redis.hdel(k.failed_job + r.id, "fp", "name")

    [group] = await driver.failed_groups(FailedQuery())
    assert (group.fingerprint, group.count, group.name) == (fingerprint(records[0]), 3, "Mailer")
    page = await driver.failed_search(FailedQuery(name="mailer"))
    assert [f.id for f in page.jobs] == [r.id for r in reversed(records)]
    assert (await driver.failed_purge_step(FailedQuery(fingerprint=group.fingerprint))).done == 3
    assert await driver.failed_groups(FailedQuery()) == []
    assert await driver.redis.hlen(k.failed_index + "n") == 0
