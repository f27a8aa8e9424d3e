"""HTTP answers shared by the sample portal and the sample zone website.

Both serve pages with ``ETag`` and ``Last-Modified`` and answer a matching
conditional GET with 304, as real portals do, so a crawler's incremental polls can
be tested against them.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from datetime import datetime

from feeds.httpdates import http_date, parse_http_date


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    path: str
    status: int
    headers: dict[str, str]


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    headers: dict[str, str]
    body: bytes


class RequestLog:
    """The log of requests both sample servers keep for tests: ``requests`` in the
    order answered, guarded by ``_lock`` (the HTTP handler's threads write it). A
    mixin: the dataclass that uses it declares both fields."""

    requests: list[Request]
    _lock: threading.Lock

    def logged(
        self, method: str, path: str, headers: dict[str, str], response: Response
    ) -> Response:
        """``response``, once it is in the log."""
        with self._lock:
            self.requests.append(Request(method, path, response.status, dict(headers)))
        return response

    def clear_requests(self) -> None:
        with self._lock:
            self.requests.clear()

    def requested(self, prefix: str = "/") -> list[str]:
        """Paths requested so far that start with ``prefix``."""
        with self._lock:
            return [r.path for r in self.requests if r.path.startswith(prefix)]


def ok(body: bytes, content_type: str, modified: datetime) -> Response:
    """A 200 with validators: the ETag hashes the body, Last-Modified is ``modified``."""
    etag = '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'
    return Response(
        200,
        {
            "Content-Type": content_type,
            "ETag": etag,
            "Last-Modified": http_date(modified),
            "Cache-Control": "no-cache",
        },
        body,
    )


def not_found() -> Response:
    return Response(404, {"Content-Type": "text/plain; charset=utf-8"}, b"not found\n")


def conditional(response: Response, headers: dict[str, str]) -> Response:
    """``response``, or a 304 when the request's validators still match it."""
    if response.status != 200:
        return response
    lowered = {k.lower(): v for k, v in headers.items()}
    etag = response.headers.get("ETag")
    match = lowered.get("if-none-match")
    if match is not None:
        tags = [t.strip().removeprefix("W/") for t in match.split(",")]
        if etag in tags or "*" in tags:
            return Response(304, _validators(response), b"")
        return response
    since = parse_http_date(lowered.get("if-modified-since"))
    modified = parse_http_date(response.headers.get("Last-Modified"))
    if since is not None and modified is not None and modified <= since:
        return Response(304, _validators(response), b"")
    return response


def _validators(response: Response) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k in ("ETag", "Last-Modified")}
