"""The embedded default transport: a Maildir outbox under ``var/outbox``.

``mailbox.Maildir.add`` writes into ``tmp/`` and renames into ``new/``, so a reader
(a relay script, a mail client, a test) never sees half a message.
"""

from __future__ import annotations

import asyncio
import mailbox
from pathlib import Path

from notifier.channels.base import Envelope, TransportError


class MaildirChannel:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._box: mailbox.Maildir | None = None

    def _open(self) -> mailbox.Maildir:
        if self._box is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._box = mailbox.Maildir(self.path, create=True)
        return self._box

    def _add(self, data: bytes) -> None:
        self._open().add(data.replace(b"\r\n", b"\n"))

    async def send(self, envelope: Envelope) -> None:
        try:
            await asyncio.to_thread(self._add, envelope.body)
        except OSError as exc:
            # One outbox for everyone: a full disk or a bad path is the transport's
            # problem, never one recipient's.
            raise TransportError(f"outbox {self.path}: {exc.strerror or exc}") from exc

    async def aclose(self) -> None:
        self._box = None
