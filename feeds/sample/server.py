"""The sample portal (and its zone website) over HTTP: stdlib servers in daemon threads.

Kept apart from :mod:`feeds.sample.portal` and :mod:`feeds.sample.site` (what they
hold and answer) so the sites and their transport change for different reasons;
tests and ``zonewire sample-portal`` start them with :func:`serve_portal` and
:func:`serve_site` (a port of its own: another host, as a real zone site is).
"""

from __future__ import annotations

import sys
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol

from feeds.sample.answers import Response
from feeds.sample.portal import SamplePortal
from feeds.sample.site import SampleSite


class Answering(Protocol):
    """What a served sample answers with (the portal or the zone website)."""

    base_url: str

    def respond(self, method: str, target: str, headers: dict[str, str]) -> Response: ...


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms stall
    server_version = "zonewire-sample-portal"
    portal: Answering  # set on the subclass made by _serve

    def _answer(self) -> None:
        headers = {k: v for k, v in self.headers.items()}
        response = self.portal.respond(self.command, self.path, headers)
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if response.body and self.command != "HEAD":
            self.wfile.write(response.body)

    do_GET = _answer
    do_HEAD = _answer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up on a slow page hangs up; that is a test, not a fault.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@dataclass
class PortalServer:
    """A running sample portal; ``close()`` stops it (also as a context manager)."""

    portal: SamplePortal
    base_url: str
    _server: _Server
    _thread: threading.Thread

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> PortalServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def serve_forever(self) -> None:
        """Block until interrupted (for ``zonewire sample-portal``)."""
        self._thread.join()


def serve_portal(portal: SamplePortal, host: str = "127.0.0.1", port: int = 0) -> PortalServer:
    """Serve ``portal`` from a daemon thread; sets and returns its ``base_url``."""
    return _serve(portal, portal, host, port, "sample-portal")


def serve_site(site: SampleSite, portal: SamplePortal, host: str = "127.0.0.1",
               port: int = 0) -> PortalServer:
    """Serve the zone website ``site`` (attached to ``portal``) on a port of its own."""
    return _serve(site, portal, host, port, "sample-site")


def _serve(app: Answering, portal: SamplePortal, host: str, port: int, name: str) -> PortalServer:
    handler = type("SampleHandler", (_Handler,), {"portal": app})
    server = _Server((host, port), handler)
    address = server.server_address
    bound_host = str(address[0] if isinstance(address[0], str) else address[0].decode())
    bound_port = int(address[1])
    shown = bound_host if ":" not in bound_host else f"[{bound_host}]"
    base_url = f"http://{shown}:{bound_port}"
    app.base_url = base_url
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.1},
        name=f"{name}:{bound_port}", daemon=True,
    )
    thread.start()
    return PortalServer(portal, base_url, server, thread)
