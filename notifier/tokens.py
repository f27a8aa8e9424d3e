"""Signed unsubscribe tokens (HMAC-SHA256 over the subscriber id).

A token is ``base64url(subscriber id) "." base64url(first 16 bytes of the MAC)``:
short enough for a ``List-Unsubscribe`` header, URL-safe, and with no ``=`` so it
survives quoted-printable and query strings untouched.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import os
import secrets
import tempfile
from pathlib import Path

from notifier.errors import ConfigError, NotifierError


class TokenError(NotifierError, ValueError):
    """A token that was not made with this installation's key."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


#: HMAC-SHA256 wants a key of at least its output size (RFC 2104 §3); a shorter
#: one, and above all an empty one, lets anyone forge unsubscribe links.
MIN_KEY_BYTES = 32
MAKE_KEY = 'python -c "import secrets; print(secrets.token_urlsafe(32))"'


class SecretKeyError(ConfigError):
    """The signing key is missing, empty or too short (message says how to fix it)."""


def key_problem(key: bytes | str) -> str | None:
    """Why ``key`` cannot sign links, or ``None`` if it can."""
    size = len((key.encode("utf-8") if isinstance(key, str) else key).strip())
    if size >= MIN_KEY_BYTES:
        return None
    what = "empty" if size == 0 else f"too short ({size} bytes)"
    return (
        f"{what}: a signing key needs at least {MIN_KEY_BYTES} bytes, or anyone can forge "
        f"unsubscribe links; make one with {MAKE_KEY}"
    )


def load_secret(configured: str | None, var_dir: Path = Path("var")) -> bytes:
    """``secret_key`` from the config, else one generated once and kept in ``var/secret_key``.

    An empty or short key is refused, never used: the config's own (``check`` also
    reports it) and the kept file's (left empty by a crash, or edited by hand).
    """
    if configured is not None:
        if problem := key_problem(configured):
            raise SecretKeyError(f"secret_key: {problem}")
        return configured.encode("utf-8")
    path = var_dir / "secret_key"
    if not path.exists():
        _generate(path)
    return read_key_file(path)


def read_key_file(path: Path) -> bytes:
    """The key kept in ``path``; :class:`SecretKeyError` when it cannot sign."""
    try:
        key = path.read_bytes().strip()
    except OSError as exc:
        raise SecretKeyError(f"{path}: cannot read the signing key: {exc.strerror}") from None
    if problem := key_problem(key):
        raise SecretKeyError(
            f"{path}: {problem.split(';')[0]}; delete {path} and a new key is made "
            "(links in digests already sent stop working), or set secret_key"
        )
    return key


def _generate(path: Path) -> None:
    """Write a new random key to ``path`` atomically, readable by the owner only.

    The key is complete in a temporary file before it gets its name, so a crash
    leaves either no key or a whole one. ``os.link`` fails when the name exists:
    if two processes race, the first key stays and both read it back.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(MIN_KEY_BYTES)  # 32 random bytes as 43 URL-safe characters
    fd, tmp = tempfile.mkstemp(prefix=".secret_key.", dir=path.parent)  # mode 0600
    try:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(key + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        except OSError:  # a file system without hard links
            os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


class Signer:
    """Makes and checks unsubscribe tokens with one key."""

    def __init__(self, key: bytes) -> None:
        if not key.strip():  # load_secret also refuses short keys; empty is never a key
            raise SecretKeyError(f"empty signing key: make one with {MAKE_KEY}")
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
