"""Edge: the output directory over HTTP (``zonewire serve``).

Feeds are static files, so serving them is about the headers feed readers rely on:
the right ``Content-Type`` (``application/atom+xml; charset=utf-8``), validators
(``ETag`` and ``Last-Modified``) so polling readers get ``304 Not Modified`` instead of
the whole feed, and gzip. Starlette gives routing and gzip; the conditional logic is
written out here so the answers do not depend on a static-files helper's defaults.
The notifier adds its own routes (unsubscribe, metrics) through ``extra_routes``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

TYPES = {
    ".atom": "application/atom+xml; charset=utf-8",
    ".opml": "text/x-opml; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".xml": "application/xml; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".png": "image/png",
    ".txt": "text/plain; charset=utf-8",
}
#: Readers poll; a short max-age with revalidation keeps them fresh and cheap.
CACHE_CONTROL = "public, max-age=300, must-revalidate"


def _etag(path: Path, size: int, mtime_ns: int) -> str:
    # Size and mtime identify the version: files are only ever replaced whole
    # (feeds.publish writes a temporary file and renames it), never edited in place.
    token = hashlib.sha1(f"{path.name}:{size}:{mtime_ns}".encode()).hexdigest()[:20]
    return f'"{token}"'


def _not_modified(request: Request, etag: str, modified: datetime) -> bool:
    """RFC 9110 §13.1: If-None-Match wins; If-Modified-Since only without it."""
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
        return "*" in tags or etag in tags
    since = request.headers.get("if-modified-since")
    if since:
        try:
            when = parsedate_to_datetime(since)
        except (TypeError, ValueError):
            return False
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return modified <= when
    return False


def create_app(output_dir: Path | str, extra_routes: Sequence[BaseRoute] = ()) -> Starlette:
    """A Starlette app serving ``output_dir``; ``/`` is ``index.html``."""
    root = Path(output_dir).resolve()

    async def healthz(request: Request) -> Response:
        ok = (root / "index.html").is_file()
        return JSONResponse(
            {"status": "ok" if ok else "no index yet", "output_dir": str(root)},
            status_code=200 if ok else 503,
        )

    async def static(request: Request) -> Response:
        name = request.path_params.get("path", "") or "index.html"
        path = (root / name).resolve()
        if path.is_dir():
            path = path / "index.html"
        # Only files inside the output directory, and no dot-files (temporary files
        # of a build in progress start with a dot).
        if (
            not path.is_relative_to(root)
            or any(part.startswith(".") for part in path.relative_to(root).parts)
            or not path.is_file()
        ):
            return PlainTextResponse("not found\n", status_code=404)
        stat = path.stat()
        etag = _etag(path, stat.st_size, stat.st_mtime_ns)
        modified = datetime.fromtimestamp(int(stat.st_mtime), UTC)
        headers = {
            "ETag": etag,
            "Last-Modified": format_datetime(modified, usegmt=True),
            "Cache-Control": CACHE_CONTROL,
            "Vary": "Accept-Encoding",
        }
        if _not_modified(request, etag, modified):
            return Response(status_code=304, headers=headers)
        media = TYPES.get(path.suffix, "application/octet-stream")
        body = b"" if request.method == "HEAD" else path.read_bytes()
        headers["Content-Length"] = str(stat.st_size)
        return Response(body, headers=headers, media_type=media)

    routes: list[BaseRoute] = [
        Route("/healthz", healthz, methods=["GET", "HEAD"]),
        *extra_routes,
        Route("/", static, methods=["GET", "HEAD"]),
        Route("/{path:path}", static, methods=["GET", "HEAD"]),
    ]
    return Starlette(routes=routes, middleware=[Middleware(GZipMiddleware, minimum_size=500)])
