"""The JSON log line a worker writes per job: fields, level names, time, redaction."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import orjson
import structlog

from gello_queue import observability
from gello_queue.observability import configure_logging, get_logger


def _lines(write: object) -> list[dict[str, object]]:
    out = io.StringIO()
    before = structlog.get_config()
    configure_logging("json", level="debug", stream=out)
    try:
        write()  # type: ignore[operator]
    finally:
        structlog.configure(**before)
        observability._logger = None
    return [orjson.loads(line) for line in out.getvalue().splitlines()]


def test_a_json_line_carries_the_fields_level_and_an_iso_utc_time() -> None:
    before = datetime.now(UTC)
    [line] = _lines(lambda: get_logger().info("processed", job="Noop", attempt=1))
    assert line["event"] == "processed"
    assert line["job"] == "Noop"
    assert line["attempt"] == 1
    assert line["level"] == "info"
    stamp = str(line["timestamp"])
    assert stamp.endswith("Z")
    at = datetime.fromisoformat(stamp)
    assert before - timedelta(seconds=1) <= at <= datetime.now(UTC)


def test_level_names_follow_the_logging_module() -> None:
    def write() -> None:
        log = get_logger()
        log.debug("a")
        log.warning("b")
        log.error("c")
        log.exception("d")

    assert [line["level"] for line in _lines(write)] == ["debug", "warning", "error", "error"]


def test_passwords_in_urls_never_reach_the_log() -> None:
    [line] = _lines(
        lambda: get_logger().error(
            "backend_error", error="cannot reach redis://app:s3cret@cache:6379/0?password=s3cret"
        )
    )
    assert "s3cret" not in orjson.dumps(line).decode()
    assert line["error"] == "cannot reach redis://app:***@cache:6379/0?password=***"


def test_a_value_json_cannot_hold_is_written_as_its_repr() -> None:
    [line] = _lines(lambda: get_logger().info("odd", value={1, 2}.__class__))
    assert line["value"] == "<class 'set'>"


def test_a_password_holding_at_signs_and_slashes_is_hidden_whole() -> None:
    # Users paste such passwords unencoded; the userinfo ends at the last "@" of the URL.
    [line] = _lines(
        lambda: get_logger().error(
            "backend_error",
            error="cannot reach redis://default:Rp@ss/w0rd@cache:6379/0, then "
            "failover:redis://:a/b@c@h1/0|postgresql://u:p@q/r@h2/db",
        )
    )
    assert line["error"] == (
        "cannot reach redis://default:***@cache:6379/0, then "
        "failover:redis://:***@h1/0|postgresql://u:***@h2/db"
    )
