"""The Maildir outbox (SPEC §7, the embedded default): many digests at once into
an outbox that does not exist yet all arrive, whole."""

from __future__ import annotations

import asyncio
import mailbox
import threading
from pathlib import Path

from notifier.channels.base import Envelope
from notifier.channels.maildir import MaildirChannel


def envelope(n: int) -> Envelope:
    body = (f"Subject: 第{n}期\r\nMessage-ID: <m{n}@example.org>\r\n\r\n正文{n}\r\n").encode()
    return Envelope(digest_id=f"d{n}", subscriber_id=f"s{n}", to=f"s{n}@example.com",
                    body=body, sender="news@example.org")


def test_concurrent_sends_into_a_new_outbox_all_arrive(tmp_path: Path) -> None:
    outbox = tmp_path / "var" / "outbox"
    channel = MaildirChannel(outbox)

    async def burst() -> None:
        await asyncio.gather(*(channel.send(envelope(n)) for n in range(40)))
        await channel.aclose()

    asyncio.run(burst())
    box = mailbox.Maildir(outbox, create=False)
    got = {str(m["Message-ID"]): m.get_payload(decode=True) for m in box}
    assert got == {f"<m{n}@example.org>": f"正文{n}\n".encode() for n in range(40)}


def test_two_channels_opening_one_new_outbox_at_once_both_deliver(tmp_path: Path) -> None:
    """Two processes' worth of channels (each its own mailbox object) racing to make
    the folders: neither sees "File exists"."""
    for attempt in range(20):
        outbox = tmp_path / f"round{attempt}" / "outbox"
        errors = race(outbox, 4)
        assert errors == []
        assert len(mailbox.Maildir(outbox, create=False)) == 4


def race(outbox: Path, count: int) -> list[BaseException]:
    """``count`` channels, each in its own thread, send one message the same instant."""
    channels = [MaildirChannel(outbox) for _ in range(count)]
    start = threading.Barrier(count)
    errors: list[BaseException] = []

    def send(i: int, channel: MaildirChannel) -> None:
        start.wait()
        try:
            asyncio.run(channel.send(envelope(i)))
        except BaseException as exc:  # collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=send, args=(i, c)) for i, c in enumerate(channels)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors
