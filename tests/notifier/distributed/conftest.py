"""The SMTP server the distributed tests deliver to (aiosmtpd on 127.0.0.1)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from aiosmtpd.controller import Controller

from tests.notifier.distributed.support import SlowSink
from tests.support.servers import free_port


@pytest.fixture
def sink() -> Iterator[SlowSink]:
    server = SlowSink()
    server.port = free_port()
    controller = Controller(server, hostname="127.0.0.1", port=server.port)
    controller.start()
    try:
        yield server
    finally:
        controller.stop()
