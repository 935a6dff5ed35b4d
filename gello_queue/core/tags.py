"""A job's tags, as Horizon's: set at dispatch, carried in the envelope, and used to find
"every job of customer 42" across the queues, the failed store and the history.

Three sources, in this order, without repeats:

- ``tags = ["billing"]`` on the class, or a ``def tags(self, payload)`` method returning
  them (Horizon's ``tags()``);
- automatic ones from the payload's model-like ids: a top-level field named ``<thing>_id``
  holding a number or a string gives ``<thing>:<value>`` (``customer_id=42`` →
  ``customer:42``), as Horizon tags the Eloquent models a job holds.

A job with ``encrypted = True`` gets no automatic tags: its ids would be stored in clear
beside the encrypted payload.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import orjson

from gello_queue.core.errors import ConfigurationError

TagSource = Sequence[str] | Callable[[Any, Any], Iterable[str]]
"""What a job class's ``tags`` may be: the tags, or a method of the payload giving them."""

MAX_TAGS = 20
"""Tags kept per job (explicit ones first): a payload with hundreds of ids is not an
index."""

MAX_TAG_CHARS = 100


def auto_tags(payload: Mapping[str, Any]) -> list[str]:
    """``<thing>:<value>`` for each top-level ``<thing>_id`` field with a number or string."""
    found = []
    for key, value in payload.items():
        is_id = key.endswith("_id") and len(key) > 3
        if is_id and isinstance(value, int | str) and not isinstance(value, bool) and value != "":
            found.append(f"{key[:-3]}:{value}")
    return found


def job_tags(
    source: TagSource,
    make: Callable[[], tuple[Any, Any]],
    payload: Mapping[str, Any],
    *,
    automatic: bool = True,
) -> list[str]:
    """The tags of one dispatch: ``source`` (the class's ``tags``; when a method, called on
    the job and payload that ``make`` builds), then the automatic ones.

    Raises:
        ConfigurationError: a tag is not a non-empty string.
    """
    if callable(source):
        job, model = make()
        explicit = list(source(job, model))
    else:
        explicit = list(source)
    for tag in explicit:
        if not isinstance(tag, str) or not tag.strip():
            raise ConfigurationError(f"a job's tags must be non-empty strings, got {tag!r}")
    tags = [*explicit, *(auto_tags(payload) if automatic else ())]
    kept: dict[str, None] = {}
    for tag in tags:
        kept.setdefault(tag[:MAX_TAG_CHARS], None)
    return list(kept)[:MAX_TAGS]


def tag_needle(tag: str) -> str:
    """What a stored message that carries ``tag`` contains: the tag as a JSON string, in
    its envelope's ``tags``, or in a completed job's ``tags``. Every driver selects a tag
    by this substring of the stored text (case and all), so they agree; a payload value
    equal to the tag, quotes included, would match too."""
    return orjson.dumps(tag).decode()
