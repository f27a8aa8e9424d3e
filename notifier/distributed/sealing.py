"""Sealed subscriber snapshots: what a delivery job carries in the ledger (SPEC §11).

A snapshot holds e-mail addresses and webhook signing secrets, so it is stored
encrypted and authenticated (AES-256-GCM, a key derived from ``secret_key`` with
HKDF for this purpose alone: a token key never opens a snapshot, nor the reverse).
The digest id is authenticated with it, so a snapshot copied onto another digest's
row does not open there.

Layout: ``b"zs1"`` | mark (16 bytes) | nonce (12) | ciphertext and tag. The mark, a
keyed hash of the subscriber's canonical bytes, stays readable: the plan pass
compares it with the entry now in the file and reseals the open digests of a
subscriber the operator edited, without opening every snapshot. Being keyed, it
tells nothing of the entry to whoever reads the database without the key.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import threading

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from notifier.models import Subscriber
from notifier.snapshot import SnapshotError, dumps, loads

MAGIC = b"zs1"
MARK = 16
NONCE = 12
#: Bytes of a sealed snapshot before its ciphertext (what the plan pass reads).
HEAD = len(MAGIC) + MARK


def _derive(secret: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=b"zonewire digest snapshot: " + purpose).derive(secret)


class Sealer:
    """Seals and opens snapshots with one ``secret_key``."""

    def __init__(self, secret: bytes) -> None:
        self._aead = AESGCM(_derive(secret, b"seal"))
        self._mark_key = _derive(secret, b"mark")

    def _mark(self, raw: bytes) -> bytes:
        return hmac.new(self._mark_key, raw, hashlib.sha256).digest()[:MARK]

    def mark(self, subscriber: Subscriber) -> bytes:
        """What the head of ``subscriber``'s snapshot holds (compare with :func:`mark_of`)."""
        return self._mark(dumps(subscriber))

    def seal(self, subscriber: Subscriber, digest_id: str) -> bytes:
        raw = dumps(subscriber)
        mark = self._mark(raw)
        nonce = os.urandom(NONCE)
        sealed = self._aead.encrypt(nonce, raw, MAGIC + mark + digest_id.encode("utf-8"))
        return MAGIC + mark + nonce + sealed

    def open(self, blob: bytes, digest_id: str) -> Subscriber:
        """The subscriber sealed for ``digest_id``; :class:`SnapshotError` when the
        bytes are not one, or were sealed with another key or for another digest."""
        blob = bytes(blob)
        if len(blob) < HEAD + NONCE + 16 or not blob.startswith(MAGIC):
            raise SnapshotError("not a sealed snapshot of this release")
        mark, nonce = blob[len(MAGIC) : HEAD], blob[HEAD : HEAD + NONCE]
        try:
            raw = self._aead.decrypt(nonce, blob[HEAD + NONCE :],
                                     MAGIC + mark + digest_id.encode("utf-8"))
        except InvalidTag:
            raise SnapshotError(
                "snapshot does not open: sealed with another secret_key (is it the same "
                "on every machine?) or for another digest"
            ) from None
        return loads(raw)


def mark_of(head: bytes | None) -> bytes | None:
    """The mark in the first :data:`HEAD` bytes of a snapshot; None when there is none."""
    if head is None:
        return None
    head = bytes(head)
    if len(head) < HEAD or not head.startswith(MAGIC):
        return None
    return head[len(MAGIC) : HEAD]


_SEALERS: dict[bytes, Sealer] = {}
_LOCK = threading.Lock()


def sealer_for(secret: bytes) -> Sealer:
    """One :class:`Sealer` per key in a process (HKDF once, not per job)."""
    with _LOCK:
        found = _SEALERS.get(secret)
        if found is None:
            found = _SEALERS[secret] = Sealer(secret)
        return found
