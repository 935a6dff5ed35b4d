"""gello on SQS, measured against moto's server mode (started here on a free port).

    python benchmarks/sqs_moto.py [--jobs 2000]

Runs ``benchmarks/throughput.py`` (the same figures as every driver) on an ``sqs://``
URL. moto is a test double, not SQS: its receive scans the whole queue (about 0.75 ms
per queued message per call), so processing figures measure moto at that depth; the
dispatch figures and the per-call counts (10 messages per send, receive and delete) are
what carries over to AWS.
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--singles", type=int, default=300)
    args = parser.parse_args()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    moto = subprocess.Popen(
        [str(Path(sys.executable).with_name("moto_server")), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit("benchmark: moto server did not start") from None
                time.sleep(0.05)
        store = Path(tempfile.mkdtemp(prefix="gello-bench-")) / "store.db"
        url = (
            f"sqs://bench:bench@/?region=us-east-1&endpoint=http://127.0.0.1:{port}"
            f"&store=sqlite:///{store}"
        )
        subprocess.run(
            [sys.executable, str(HERE / "throughput.py"), "--url", url, "--jobs", str(args.jobs),
             "--singles", str(args.singles), "--latency-samples", "100"],
            check=True,
        )  # fmt: skip
    finally:
        moto.terminate()
        moto.wait(timeout=10)


if __name__ == "__main__":
    main()
