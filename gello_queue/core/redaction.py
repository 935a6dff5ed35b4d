"""Secrets kept out of what gello stores for people to read and what it shows them.

Two rules, pure functions with no I/O, used wherever text or payloads leave the process:

- ``redact_url``: passwords in URLs, in the userinfo and in ``?password=``-style query
  parameters. People paste passwords unencoded, so a password may hold ``@``, ``/`` or
  ``:``; the userinfo is taken to end at the *last* ``@`` before whitespace or the next
  ``scheme://``. That can hide a little more than the password (an ``@`` later in a path),
  never less.
- ``redact``: values of payload fields whose key looks like a secret (``password``,
  ``token``, ``api_key``, ``secret``, ``authorization``...), at any depth.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

REDACTED = "***"

_URL_PASSWORD = re.compile(
    r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<user>[^:/@\s]*):(?:(?!://)\S)*@"
)
_QUERY_SECRET = re.compile(
    r"(?P<key>[?&](?:password|pass|pwd|sslpassword|passfile)=)[^&#\s]*", re.IGNORECASE
)
_SECRET_KEY = re.compile(
    r"pass(word|wd|phrase)?$|pwd|secret|token|api[_-]?key|authorization|credential|private[_-]?key"
    r"|cookie",
    re.IGNORECASE,
)


def redact_url(text: str) -> str:
    """``text`` with passwords in URLs replaced by ``***``: in the userinfo and in query
    parameters (``?password=``, as redis-py and libpq also read them)."""
    return _QUERY_SECRET.sub(
        rf"\g<key>{REDACTED}", _URL_PASSWORD.sub(rf"\g<scheme>\g<user>:{REDACTED}@", text)
    )


DEEPEST = 200
"""Levels ``redact`` walks key by key; a deeper value is hidden whole. That bounds its
recursion, and keeps what it returns within the 254 levels orjson writes."""


def redact(value: Any, _depth: int = 0) -> Any:
    """``value`` with the values of secret-looking keys replaced by ``***``."""
    if isinstance(value, dict | list) and _depth >= DEEPEST:
        return REDACTED
    if isinstance(value, dict):
        return {
            k: REDACTED if isinstance(k, str) and _SECRET_KEY.search(k) else redact(v, _depth + 1)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [redact(v, _depth + 1) for v in value]
    return value


def redact_body(body: str) -> str:
    """A stored body with ``redact`` applied to the whole envelope (its payload and the
    payloads of its chain links); a body that is not JSON (a poison message) is returned
    as it is."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return body
    return orjson.dumps(redact(data)).decode()
