"""A worker's delivery jobs share SMTP sessions (notifier.distributed.channels):
jobs after the first open no new connection; a changed transport gets its own
channel and the old one ends with QUIT once no job uses it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from notifier.channels.base import Envelope
from notifier.config import Settings
from notifier.distributed.channels import ChannelCache
from tests.support.servers import SmtpSink, free_port


class CountingSink(SmtpSink):
    """Counts SMTP sessions opened (EHLO) and ended (QUIT)."""

    def __init__(self) -> None:
        super().__init__()
        self.sessions = 0
        self.quits = 0

    async def handle_EHLO(self, server: Any, session: Any, envelope: Any, hostname: str,
                          responses: list[str]) -> list[str]:
        self.sessions += 1
        session.host_name = hostname
        return responses

    async def handle_QUIT(self, server: Any, session: Any, envelope: Any) -> str:
        self.quits += 1
        return "221 Bye"


@pytest.fixture
def sink() -> Iterator[CountingSink]:
    server = CountingSink()
    server.port = free_port()
    controller = Controller(server, hostname="127.0.0.1", port=server.port)
    controller.start()
    try:
        yield server
    finally:
        controller.stop()


def settings(port: int, concurrency: int = 2) -> Settings:
    return Settings.model_validate({
        "email": {"transport": "smtp", "from": "news@example.com",
                  "smtp": {"host": "127.0.0.1", "port": port}},
        "delivery": {"concurrency": concurrency},
    })


def envelope(n: int) -> Envelope:
    body = (f"From: news@example.com\r\nTo: s{n}@example.com\r\nSubject: {n}\r\n"
            f"Message-ID: <{n}@example.com>\r\n\r\nbody {n}\r\n").encode()
    return Envelope(digest_id=f"d{n}", subscriber_id=f"s{n}", to=f"s{n}@example.com",
                    body=body, sender="news@example.com")


async def job(cache: ChannelCache, config: Settings, first: int, count: int) -> None:
    """What a delivery job does with its channels: lease, send, release."""
    lease = cache.lease(config)
    channel = lease.open_channel("email")
    assert channel is not None
    try:
        await asyncio.gather(*(channel.send(envelope(n)) for n in range(first, first + count)))
    finally:
        await lease.release()


def test_jobs_of_one_worker_reuse_the_smtp_sessions(sink: CountingSink) -> None:
    cache = ChannelCache(jobs_at_once=2)
    config = settings(sink.port)

    async def scenario() -> None:
        for start in range(0, 100, 20):  # five jobs one after another
            await job(cache, config, start, 20)
        # Two at once share it too (the pool is sized for both).
        await asyncio.gather(job(cache, config, 100, 20), job(cache, config, 120, 20))
        assert sink.quits == 0  # nothing closed between jobs
        await cache.aclose()

    asyncio.run(scenario())
    assert len(sink.messages) == 140
    assert cache.opened == 1
    # At most delivery.concurrency x jobs at once sessions, not one per job.
    assert 1 <= sink.sessions <= 4, sink.sessions
    assert sink.quits == sink.sessions  # the worker stopping ends each with QUIT


def test_a_changed_transport_gets_a_new_channel_and_the_old_one_is_closed(
    sink: CountingSink,
) -> None:
    cache = ChannelCache(jobs_at_once=1)

    async def scenario() -> None:
        await job(cache, settings(sink.port, concurrency=1), 0, 5)
        before = sink.sessions
        await job(cache, settings(sink.port, concurrency=3), 5, 5)  # operator edited it
        assert sink.quits == before  # the old channel's sessions ended
        await cache.aclose()

    asyncio.run(scenario())
    assert cache.opened == 2
    assert len(sink.messages) == 10
    assert sink.quits == sink.sessions
