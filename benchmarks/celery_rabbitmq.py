"""gello and Celery on the same RabbitMQ, in the same run, with the same figures.

    python benchmarks/celery_rabbitmq.py [--url amqp://guest:guest@127.0.0.1:5672/]

First gello (``benchmarks/throughput.py`` on the URL), then Celery (``pip install
celery``; not a gello dependency) on a fresh queue of the same broker: bulk dispatch
(``apply_async`` in a loop on one producer connection), no-op tasks processed by one
``celery worker`` at ``--concurrency`` (prefork, Celery's default pool; span from the first
task start to the last task end, from the children's own clocks), and pickup latency
with an idle worker. Celery runs twice: its defaults (acknowledged when a task starts,
no publisher confirms) and with ``task_acks_late`` (acknowledged after the task, as gello
does always, with gello's publisher confirms still absent on Celery's side).
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def rabbit_messages(queue: str) -> int:
    out = subprocess.run(
        ["rabbitmqctl", "-q", "list_queues", "name", "messages", "--no-table-headers"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for line in out.splitlines():
        parts = line.split()
        if parts and parts[0] == queue:
            return int(parts[1])
    return 0


def start_worker(env: dict[str, str], concurrency: int, queue: str) -> subprocess.Popen[bytes]:
    celery = str(Path(sys.executable).with_name("celery"))
    cmd = [
        celery, "-A", "celery_app", "worker", "-c", str(concurrency), "-P", "prefork",
        "-Q", queue, "--without-heartbeat", "--without-gossip", "--without-mingle",
        "-l", "warning",
    ]  # fmt: skip
    return subprocess.Popen(
        cmd, env=env, cwd=HERE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=120)


def celery_figures(broker: str, jobs: int, concurrency: int, samples: int, acks_late: bool) -> None:
    queue = f"cbench.{uuid.uuid4().hex[:8]}"
    tmp = Path(tempfile.mkdtemp(prefix="celery-bench-"))
    env = dict(os.environ)
    env.update(
        CELERY_BENCH_BROKER=broker,
        CELERY_BENCH_QUEUE=queue,
        CELERY_BENCH_ACKS_LATE="1" if acks_late else "0",
        CELERY_BENCH_STATS_DIR=str(tmp),
        CELERY_BENCH_LATENCY_FILE=str(tmp / "latency.txt"),
        PYTHONPATH=str(HERE),
    )
    os.environ.update({k: env[k] for k in env if k.startswith("CELERY_BENCH")})
    import importlib

    import celery_app

    importlib.reload(celery_app)
    app = celery_app.app
    label = "acks_late" if acks_late else "defaults"
    print(f"celery ({label}): queue {queue}, worker -P prefork -c {concurrency}")
    with app.producer_or_acquire() as producer:
        start = time.perf_counter()
        for i in range(jobs):
            celery_app.noop.apply_async((i,), producer=producer)
        took = time.perf_counter() - start
    print(
        f"  bulk dispatch:      {jobs / took:>10,.0f} jobs/s  ({jobs} jobs, apply_async on one producer)"
    )
    worker = start_worker(env, concurrency, queue)
    deadline = time.monotonic() + 600
    time.sleep(1)
    while rabbit_messages(queue) and time.monotonic() < deadline:
        time.sleep(0.2)
    stop(worker)
    firsts, lasts, count = [], [], 0
    for stats in tmp.glob("*.txt"):
        first, last, n = stats.read_text().split()
        firsts.append(float(first))
        lasts.append(float(last))
        count += int(n)
        stats.unlink()
    span = max(lasts) - min(firsts)
    print(
        f"  processing:         {count / span:>10,.0f} jobs/s  ({count} no-op tasks, concurrency {concurrency})"
    )
    idle = start_worker(env, concurrency, queue)
    time.sleep(3)  # started and connected
    with app.producer_or_acquire() as producer:
        for _ in range(samples):
            celery_app.pickup.apply_async((time.time(),), producer=producer)
            time.sleep(0.01)
    latency = tmp / "latency.txt"
    while (
        not latency.exists() or len(latency.read_text().split()) < samples
    ) and time.monotonic() < deadline:
        time.sleep(0.1)
    stop(idle)
    values = sorted(float(x) * 1000 for x in latency.read_text().split())
    p99 = values[min(len(values) - 1, int(len(values) * 0.99))]
    print(
        f"  pickup latency:     p50 {statistics.median(values):.2f} ms, p99 {p99:.2f} ms  ({len(values)} tasks, idle worker)"
    )
    with app.connection_for_write() as conn:
        conn.default_channel.queue_delete(queue)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", default="amqp://guest:guest@127.0.0.1:5672/")
    parser.add_argument("--jobs", type=int, default=20000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--latency-samples", type=int, default=200)
    args = parser.parse_args()
    store = Path(tempfile.mkdtemp(prefix="gello-bench-")) / "store.db"
    gello_url = f"{args.url}{'&' if '?' in args.url else '?'}store=sqlite:///{store}"
    print("== gello ==", flush=True)
    subprocess.run(
        [sys.executable, str(HERE / "throughput.py"), "--url", gello_url, "--jobs", str(args.jobs),
         "--singles", "1000", "--concurrency", str(args.concurrency),
         "--latency-samples", str(args.latency_samples)],
        check=True,
    )  # fmt: skip
    print("== celery ==", flush=True)
    broker = args.url.replace("amqp://", "pyamqp://", 1)
    for acks_late in (False, True):
        celery_figures(broker, args.jobs, args.concurrency, args.latency_samples, acks_late)


if __name__ == "__main__":
    main()
