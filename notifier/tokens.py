"""Signed tokens (HMAC-SHA256 over the subscriber id), one key per purpose.

Two purposes exist: ``unsubscribe`` (the link in every digest) and ``feed`` (the
subscriber's private feed ``/s/TOKEN.atom``). Each purpose signs with its own key
derived from ``secret_key``, so a token of one kind never verifies as the other: a
feed URL handed to a feed-reader service cannot unsubscribe anyone, and an
unsubscribe link cannot read a feed.

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


#: The purposes a token can have, and how a person calls such a link.
UNSUBSCRIBE = "unsubscribe"
FEED = "feed"
_LINK_NAMES = {UNSUBSCRIBE: "unsubscribe link", FEED: "private feed link"}


class Signer:
    """Makes and checks tokens of one ``purpose`` with one key.

    The MAC key is ``sha256("zonewire-" purpose NUL secret_key)``: unsubscribe
    tokens keep the derivation they always had (links already sent stay valid),
    and every other purpose gets an unrelated key.
    """

    def __init__(self, key: bytes, purpose: str = UNSUBSCRIBE) -> None:
        if not key.strip():  # load_secret also refuses short keys; empty is never a key
            raise SecretKeyError(f"empty signing key: make one with {MAKE_KEY}")
        if purpose not in _LINK_NAMES:
            raise ValueError(f"unknown token purpose {purpose!r}")
        self.purpose = purpose
        self._secret = key
        self._what = _LINK_NAMES[purpose]
        self._key = hashlib.sha256(f"zonewire-{purpose}".encode() + b"\x00" + key).digest()

    def for_purpose(self, purpose: str) -> Signer:
        """A signer with the same ``secret_key`` for another purpose."""
        return self if purpose == self.purpose else Signer(self._secret, purpose)

    def _mac(self, payload: bytes) -> bytes:
        return hmac.new(self._key, payload, hashlib.sha256).digest()[:16]

    def token(self, subscriber_id: str) -> str:
        payload = subscriber_id.encode("utf-8")
        return f"{_b64(payload)}.{_b64(self._mac(payload))}"

    def verify(self, token: str) -> str:
        """The subscriber id inside ``token``; :class:`TokenError` if it was tampered with."""
        head, dot, tail = token.partition(".")
        if not dot:
            raise TokenError(f"{self._what} is incomplete (copy the whole link)")
        try:
            payload, mac = _unb64(head), _unb64(tail)
        except ValueError:
            raise TokenError(f"{self._what} is damaged (copy the whole link)") from None
        if not hmac.compare_digest(mac, self._mac(payload)):
            raise TokenError(f"{self._what} was not issued by this server")
        try:
            return payload.decode("utf-8")
        except UnicodeDecodeError:
            raise TokenError(f"{self._what} is damaged") from None
