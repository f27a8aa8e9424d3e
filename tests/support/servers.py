"""Real peers for end-to-end tests: an aiosmtpd sink, a signed-webhook receiver, and the
pieces any test's own HTTP server on 127.0.0.1 is made of (:class:`LocalServer`,
:class:`QuietHandler`, :func:`serving`)."""

from __future__ import annotations

import base64
import email
import email.policy
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar

import httpx
from aiosmtpd.controller import Controller
from standardwebhooks.webhooks import Webhook

WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"zonewire-test-secret-0123456789ab").decode()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class SmtpSink:
    """Keeps every message delivered to it, by recipient."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, bytes]] = []
        self.lock = threading.Lock()
        self.port = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            for rcpt in envelope.rcpt_tos:
                self.messages.append((rcpt, envelope.content))
        return "250 Message accepted"

    def to(self, rcpt: str) -> list[EmailMessage]:
        with self.lock:
            raw = [content for who, content in self.messages if who == rcpt]
        return [
            email.message_from_bytes(data, policy=email.policy.default)  # type: ignore[misc]
            for data in raw
        ]


@contextmanager
def serving_smtp(handler: object) -> Iterator[int]:
    """An aiosmtpd server on 127.0.0.1 answering with ``handler`` (its ``handle_*``
    methods) while the block runs; yields its port."""
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


@contextmanager
def smtp_sink() -> Iterator[SmtpSink]:
    sink = SmtpSink()
    with serving_smtp(sink) as port:
        sink.port = port
        yield sink


class LocalServer(ThreadingHTTPServer):
    """An HTTP server on 127.0.0.1, at ``port`` or (0) at a free one; ``url`` is
    ``path`` on it, the address the code under test is given."""

    def __init__(
        self, handler: type[BaseHTTPRequestHandler], port: int = 0, path: str = "/"
    ) -> None:
        super().__init__(("127.0.0.1", port), handler)
        self.url_path = path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    @property
    def url(self) -> str:
        return self.base_url + self.url_path


class QuietHandler(BaseHTTPRequestHandler):
    """A request handler that keeps the test output clean (no access log lines)."""

    def log_message(self, *args: object) -> None:
        pass

    def read_body(self) -> bytes:
        return self.rfile.read(int(self.headers["content-length"]))

    def lower_headers(self) -> dict[str, str]:
        return {k.lower(): v for k, v in self.headers.items()}


Server = TypeVar("Server", bound=ThreadingHTTPServer)


@contextmanager
def serving(server: Server) -> Iterator[Server]:
    """Serve ``server`` from a daemon thread while the block runs; shut it down after."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


class WebhookReceiver(LocalServer):
    """Accepts JSON webhooks only when their Standard Webhooks signature verifies."""

    daemon_threads = True

    def __init__(self, secret: str = WEBHOOK_SECRET, port: int = 0) -> None:
        super().__init__(_Handler, port, path="/hook")
        self.secret = secret
        self.payloads: list[dict[str, Any]] = []
        self.headers_seen: list[dict[str, str]] = []
        self.rejected = 0
        self.lock = threading.Lock()


class _Handler(QuietHandler):
    server: WebhookReceiver

    def do_POST(self) -> None:
        body = self.read_body()
        headers = self.lower_headers()
        try:
            Webhook(self.server.secret).verify(body, headers)
        except Exception:
            with self.server.lock:
                self.server.rejected += 1
            self.send_response(401)
            self.send_header("content-length", "0")
            self.end_headers()
            return
        with self.server.lock:
            self.server.payloads.append(json.loads(body))
            self.server.headers_seen.append(headers)
        self.send_response(204)
        self.end_headers()


def webhook_receiver(port: int = 0) -> AbstractContextManager[WebhookReceiver]:
    """A :class:`WebhookReceiver`, served while the ``with`` block runs."""
    return serving(WebhookReceiver(port=port))


def wait_for_http(url: str, timeout: float = 30.0) -> httpx.Response:
    """GET ``url`` until a server answers it (a subprocess that is still starting)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return httpx.get(url, timeout=1)
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise AssertionError(f"nothing answered {url} within {timeout:.0f} s") from None
            time.sleep(0.1)
