"""Where the SQS queues are, read from an ``sqs://`` URL."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote, urlsplit

from gello_queue.core.errors import ConfigurationError


@dataclass(frozen=True, slots=True)
class SqsOptions:
    """Where the queues are; see ``options_from_url``."""

    region: str = "us-east-1"
    endpoint_url: str | None = None
    url_prefix: str | None = None
    suffix: str = ""
    create: bool = True
    access_key_id: str | None = None
    secret_access_key: str | None = field(default=None, repr=False)
    priorities: tuple[int, ...] = ()
    """Priority levels (1..5) that get an SQS queue of their own, highest first; jobs
    below the lowest one stay in the queue's plain SQS queue."""


def options_from_url(url: str, **credentials: str | None) -> SqsOptions:
    """Parse ``sqs://[KEY:SECRET@]?region=…&endpoint=…&prefix=…&suffix=…&create=0
    &priorities=5,3``.

    Credentials in the URL win over ``credentials`` (the settings); with neither, the
    standard AWS chain (environment, profile, instance role) applies.

    Raises:
        ConfigurationError: ``priorities`` is not a list of levels 0..5.
    """
    parts = urlsplit(url)
    params = dict(parse_qsl(parts.query))
    if parts.username and parts.password:
        credentials = {
            "access_key_id": unquote(parts.username),
            "secret_access_key": unquote(parts.password),
        }
    return SqsOptions(
        region=params.get("region", "us-east-1"),
        endpoint_url=params.get("endpoint") or None,
        url_prefix=(params.get("prefix") or "").rstrip("/") or None,
        suffix=params.get("suffix", ""),
        create=params.get("create", "1").lower() not in ("0", "false", "no"),
        access_key_id=credentials.get("access_key_id"),
        secret_access_key=credentials.get("secret_access_key"),
        priorities=parse_priorities(params.get("priorities", "")),
    )


def parse_priorities(text: str) -> tuple[int, ...]:
    """``"5,3"`` -> ``(5, 3)``: the levels above 0, highest first (0 is always there:
    it is the plain queue)."""
    levels: set[int] = set()
    for part in text.replace(" ", "").split(","):
        if not part:
            continue
        if not part.isdigit() or not 0 <= int(part) <= 5:
            raise ConfigurationError(
                f"SQS priorities must be levels 0..5 separated by commas, got {text!r}"
            )
        levels.add(int(part))
    return tuple(sorted(levels - {0}, reverse=True))
