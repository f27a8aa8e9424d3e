"""Edge: what every HTTP answer of zonewire gets, whatever route produced it.

An ASGI middleware placed outermost (around gzip and the routes) that

- answers 404 at once for a path no file can have (a NUL or other control
  character, a segment over 255 bytes, an absurdly long path), so such a request
  never reaches the filesystem, where it would raise instead of answering;
- caps request bodies: a declared ``Content-Length`` over the limit is refused with
  413 before a byte of the body is read, and a chunked body is counted as it
  streams and refused the moment it passes the limit (issue 11: a 200 MB POST used
  to be read into memory whole);
- adds ``X-Content-Type-Options: nosniff`` to every response and a strict
  Content-Security-Policy to every HTML page that does not bring its own;
- sends ``Vary`` once (gzip adds ``Accept-Encoding`` to a header that may already
  name it).

:func:`off_loop` is where every route's blocking work runs: a thread pool of the
HTTP side's own, so requests never wait behind the worker's jobs for a thread.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import re
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from starlette.types import ASGIApp, Message, Receive, Scope, Send

T = TypeVar("T")

#: Threads of the HTTP side's own: file reads, token checks and ledger writes of
#: requests never queue behind the worker's long jobs in the default executor.
HTTP_THREADS = 4
_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()


async def off_loop(function: Callable[..., T], *args: object) -> T:
    """Run blocking ``function(*args)`` in the HTTP side's thread pool."""
    global _executor
    if _executor is None:
        with _executor_lock:
            if _executor is None:
                _executor = ThreadPoolExecutor(HTTP_THREADS, thread_name_prefix="zonewire-http")
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_executor, functools.partial(function, *args))


#: The largest request body any route accepts (the unsubscribe form is ~100 bytes).
MAX_BODY_BYTES = 8 * 1024
#: Longer paths than this are nobody's feed.
MAX_PATH_BYTES = 2048
#: NAME_MAX on every filesystem zonewire writes to.
MAX_SEGMENT_BYTES = 255

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_STYLE = re.compile(r"<style\b[^>]*>(.*?)</style", re.IGNORECASE | re.DOTALL)

#: Everything off, except forms posting back here; no framing, no <base>.
_CSP_BASE = "default-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"


def html_csp(html: str | bytes) -> str:
    """A strict CSP for ``html``: nothing loads, only its own inline ``<style>``
    blocks (by hash, so an injected one would not apply) and forms posting here."""
    text = html.decode("utf-8", "replace") if isinstance(html, bytes) else html
    hashes = sorted({
        "'sha256-" + base64.b64encode(hashlib.sha256(m.encode("utf-8")).digest()).decode() + "'"
        for m in _STYLE.findall(text)
    })
    if not hashes:
        return _CSP_BASE
    return f"{_CSP_BASE}; style-src {' '.join(hashes)}"


def bad_path(path: str) -> bool:
    """True for a path that cannot name any file: answer 404 without looking."""
    if _CONTROL.search(path):
        return True
    encoded = path.encode("utf-8", "surrogatepass")
    if len(encoded) > MAX_PATH_BYTES:
        return True
    return any(len(segment) > MAX_SEGMENT_BYTES for segment in encoded.split(b"/"))


class BodyTooLarge(Exception):
    """A streamed request body passed :data:`MAX_BODY_BYTES`."""


def _plain(status: int, text: str) -> tuple[Message, Message]:
    body = text.encode("ascii")
    start: Message = {
        "type": "http.response.start",
        "status": status,
        "headers": [
            (b"content-type", b"text/plain; charset=utf-8"),
            (b"content-length", str(len(body)).encode("ascii")),
            (b"x-content-type-options", b"nosniff"),
            (b"connection", b"close"),
        ],
    }
    return start, {"type": "http.response.body", "body": body}


def _dedupe_vary(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    tokens: list[str] = []
    for name, value in headers:
        if name.lower() == b"vary":
            for token in value.decode("latin-1").split(","):
                token = token.strip()
                if token and token.lower() not in (t.lower() for t in tokens):
                    tokens.append(token)
    if not tokens:
        return headers
    kept = [(n, v) for n, v in headers if n.lower() != b"vary"]
    return [*kept, (b"vary", ", ".join(tokens).encode("latin-1"))]


def _secure(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    headers = _dedupe_vary([(n.lower(), v) for n, v in headers])
    names = {n for n, _ in headers}
    if b"x-content-type-options" not in names:
        headers.append((b"x-content-type-options", b"nosniff"))
    content_type = dict(headers).get(b"content-type", b"")
    if content_type.startswith(b"text/html") and b"content-security-policy" not in names:
        headers.append((b"content-security-policy", _CSP_BASE.encode("ascii")))
    return headers


class GuardMiddleware:
    """See the module docstring; ``max_body`` bytes per request at most."""

    def __init__(self, app: ASGIApp, max_body: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if bad_path(scope.get("path", "")):
            await self._answer(send, 404, "not found\n")
            return
        declared = _content_length(scope)
        if declared is None:
            await self._answer(send, 400, "bad Content-Length\n")
            return
        if declared > self.max_body:
            await self._answer(send, 413, f"request body over {self.max_body} bytes\n")
            return
        started = False
        received = 0

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    raise BodyTooLarge
            return message

        async def secured_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message = {**message, "headers": _secure(list(message.get("headers", [])))}
            await send(message)

        try:
            await self.app(scope, counted_receive, secured_send)
        except BodyTooLarge:
            if started:
                raise
            await self._answer(send, 413, f"request body over {self.max_body} bytes\n")

    @staticmethod
    async def _answer(send: Send, status: int, text: str) -> None:
        start, body = _plain(status, text)
        await send(start)
        await send(body)


def _content_length(scope: Scope) -> int | None:
    """The declared body length (0 when none); None when it is not a number."""
    for name, value in scope.get("headers", []):
        if name.lower() == b"content-length":
            try:
                length = int(value)
            except ValueError:
                return None
            return length if length >= 0 else None
    return 0

