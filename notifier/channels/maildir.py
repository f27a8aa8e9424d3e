"""The embedded default transport: a Maildir outbox under ``var/outbox``.

``mailbox.Maildir.add`` writes into ``tmp/`` and renames into ``new/``, so a reader
(a relay script, a mail client, a test) never sees half a message.
"""

from __future__ import annotations

import asyncio
import mailbox
import threading
from pathlib import Path

from notifier.channels.base import Envelope, TransportError


class MaildirChannel:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._box: mailbox.Maildir | None = None
        self._lock = threading.Lock()

    def _open(self) -> mailbox.Maildir:
        with self._lock:
            if self._box is None:
                # The folders first, each allowed to exist: mailbox's own create=True
                # checks, then makes them, so two sends (threads of one fan-out, or two
                # processes) opening a new outbox at once failed with "File exists".
                for part in ("tmp", "new", "cur"):
                    (self.path / part).mkdir(mode=0o700, parents=True, exist_ok=True)
                self._box = mailbox.Maildir(self.path, create=False)
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
