"""Signed unsubscribe tokens (HMAC-SHA256 over the subscriber id).

A token is ``base64url(subscriber id) "." base64url(first 16 bytes of the MAC)``:
short enough for a ``List-Unsubscribe`` header, URL-safe, and with no ``=`` so it
survives quoted-printable and query strings untouched.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from pathlib import Path

from notifier.errors import NotifierError


class TokenError(NotifierError, ValueError):
    """A token that was not made with this installation's key."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def load_secret(configured: str | None, var_dir: Path = Path("var")) -> bytes:
    """``secret_key`` from the config, else one generated once and kept in ``var/secret_key``."""
    if configured:
        return configured.encode("utf-8")
    path = var_dir / "secret_key"
    try:
        return path.read_text(encoding="ascii").strip().encode("ascii")
    except FileNotFoundError:
        pass
    var_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(32)
    # O_EXCL: when two processes race, the first one's key wins and both use it.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="ascii").strip().encode("ascii")
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(key + "\n")
    return key.encode("ascii")


class Signer:
    """Makes and checks unsubscribe tokens with one key."""

    def __init__(self, key: bytes) -> None:
        self._key = hashlib.sha256(b"zonewire-unsubscribe\x00" + key).digest()

    def _mac(self, payload: bytes) -> bytes:
        return hmac.new(self._key, payload, hashlib.sha256).digest()[:16]

    def token(self, subscriber_id: str) -> str:
        payload = subscriber_id.encode("utf-8")
        return f"{_b64(payload)}.{_b64(self._mac(payload))}"

    def verify(self, token: str) -> str:
        """The subscriber id inside ``token``; :class:`TokenError` if it was tampered with."""
        head, dot, tail = token.partition(".")
        if not dot:
            raise TokenError("unsubscribe link is incomplete (copy the whole link)")
        try:
            payload, mac = _unb64(head), _unb64(tail)
        except ValueError:
            raise TokenError("unsubscribe link is damaged (copy the whole link)") from None
        if not hmac.compare_digest(mac, self._mac(payload)):
            raise TokenError("unsubscribe link was not issued by this server")
        try:
            return payload.decode("utf-8")
        except UnicodeDecodeError:
            raise TokenError("unsubscribe link is damaged") from None
