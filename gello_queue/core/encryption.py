"""Encrypted payloads: a job's payload stored as a Fernet token, as Laravel's
``ShouldBeEncrypted``.

The cipher is ``cryptography``'s Fernet (AES-128-CBC with an HMAC-SHA256, so a token
altered in storage is refused, never decrypted into something else). A ``Keyring`` holds
the keys of ``QUEUE_ENCRYPTION_KEY``: the first encrypts, every one decrypts, so a key is
rotated by putting the new one first and dropping the old one once no message it sealed
remains. Only the payload is encrypted: the envelope's other fields (name, queue,
attempts...) stay readable, since the backends and every tool need them.
"""

from __future__ import annotations

from typing import Any

import orjson
from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from gello_queue.core.errors import ConfigurationError, GelloError

ENCRYPTED = "encrypted"
"""What inspection tools show in place of an encrypted payload they do not reveal."""

KEY_HELP = (
    "QUEUE_ENCRYPTION_KEY holds one Fernet key or several separated by commas (the first"
    " encrypts, all decrypt); make one with"
    ' python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
)


class DecryptionError(GelloError):
    """An encrypted payload could not be decrypted (no key, a wrong key, or an altered
    message)."""


class Keyring:
    """The encryption keys of one process; never shows them (``repr`` included)."""

    __slots__ = ("_fernet", "count")

    def __init__(self, keys: str) -> None:
        """Read ``keys``: one key, or several separated by commas.

        Raises:
            ConfigurationError: no key, or one that is not a Fernet key (its position is
                named, never its value).
        """
        parts = [k.strip() for k in keys.split(",") if k.strip()]
        if not parts:
            raise ConfigurationError(f"QUEUE_ENCRYPTION_KEY is empty: {KEY_HELP}")
        fernets = []
        for n, key in enumerate(parts, 1):
            try:
                fernets.append(Fernet(key))
            except (ValueError, TypeError):
                raise ConfigurationError(
                    f"QUEUE_ENCRYPTION_KEY key {n} of {len(parts)} is not a Fernet key"
                    f" (32 url-safe base64-encoded bytes): {KEY_HELP}"
                ) from None
        self._fernet = MultiFernet(fernets)
        self.count = len(parts)

    def __repr__(self) -> str:
        return f"Keyring({self.count} key{'s' if self.count != 1 else ''})"

    def seal(self, payload: dict[str, Any]) -> str:
        """The payload's JSON, encrypted with the first key."""
        return self._fernet.encrypt(orjson.dumps(payload)).decode("ascii")

    def open(self, token: str) -> dict[str, Any]:
        """The payload sealed in ``token``, with whichever key sealed it.

        Raises:
            DecryptionError: no key decrypts it (a wrong key, or the token was altered).
        """
        try:
            plain = self._fernet.decrypt(token.encode("ascii"))
        except (InvalidToken, UnicodeEncodeError, TypeError, AttributeError):
            raise DecryptionError(
                "the payload cannot be decrypted: QUEUE_ENCRYPTION_KEY holds no key that"
                " sealed it, or the message was altered"
            ) from None
        try:
            data = orjson.loads(plain)
        except orjson.JSONDecodeError:
            data = None
        if not isinstance(data, dict):
            raise DecryptionError("the decrypted payload is not a JSON object")
        return data


def open_payload(payload: dict[str, Any], sealed: str | None, keyring: Keyring | None) -> Any:
    """A stored job's payload: ``payload`` as it is, or the one ``sealed`` holds.

    Raises:
        DecryptionError: it is sealed and there is no key, or none that decrypts it.
    """
    if sealed is None:
        return payload
    if keyring is None:
        raise DecryptionError(
            "the payload is encrypted and this process has no key: set QUEUE_ENCRYPTION_KEY"
        )
    return keyring.open(sealed)


def shown_payload(envelope: Any, keyring: Keyring | None = None, reveal: bool = False) -> Any:
    """The payload an inspection tool shows for a stored envelope (its JSON form):
    ``ENCRYPTED`` for an encrypted one, unless ``reveal`` and ``keyring`` decrypts it."""
    if not isinstance(envelope, dict):
        return None
    sealed = envelope.get("encrypted")
    if sealed is None:
        return envelope.get("payload")
    if not reveal or keyring is None:
        return ENCRYPTED
    try:
        return keyring.open(str(sealed))
    except DecryptionError:
        return f"{ENCRYPTED} (this process's QUEUE_ENCRYPTION_KEY does not decrypt it)"
