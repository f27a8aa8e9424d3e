"""Edge: the output directory over HTTP (``zonewire serve``).

Feeds are static files, so serving them is about the headers feed readers rely on:
the right ``Content-Type`` (``application/atom+xml; charset=utf-8``), validators
(``ETag`` and ``Last-Modified``) so polling readers get ``304 Not Modified`` instead of
the whole feed, and gzip. Starlette gives routing and gzip; the conditional logic is
written out here so the answers do not depend on a static-files helper's defaults.
The notifier adds its own routes (unsubscribe) through ``extra_routes``;
:mod:`feeds.httpguard` adds what every answer needs (bad paths, body caps, headers).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from stat import S_ISREG

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from feeds.httpdates import http_date, parse_http_date
from feeds.httpguard import MAX_BODY_BYTES, GuardMiddleware, html_csp, off_loop

JSON_FEED_TYPE = "application/feed+json; charset=utf-8"
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
    when = parse_http_date(request.headers.get("if-modified-since"))
    return when is not None and modified <= when


#: Where the output directory is: a fixed path, or a callable returning the one in
#: force now (``zonewire run`` follows configuration reloads this way).
OutputDir = Path | str | Callable[[], Path]
#: Distributed mode (SPEC §11): the published files by key from the database instead
#: (blocking, run in the HTTP thread pool); see :func:`document_found`.
Documents = Callable[[str], "Found | None"]


@dataclass(frozen=True)
class _Found:
    """A file to serve, as read in a worker thread; a stored document brings its own
    validator (a hash of its bytes, equal on every server) and change time."""

    path: Path
    size: int
    mtime_ns: int
    body: bytes
    etag: str | None = None


#: What a :data:`Documents` lookup returns.
Found = _Found


def document_found(key: str, body: bytes, etag: str, updated: datetime) -> _Found:
    """A stored feed document (key = its path under the feed root) as :func:`create_app`
    serves it."""
    return _Found(Path(key), len(body), int(updated.timestamp()) * 1_000_000_000, body, etag)


def _lookup_document(documents: Documents, name: str) -> _Found | None:
    """The document ``name`` (or ``name/index.html``); dot-files are never served."""
    parts = [p for p in name.split("/") if p]
    if any(part.startswith(".") for part in parts):
        return None
    key = "/".join(parts) or "index.html"
    found = documents(key)
    if found is None and not key.endswith((".html", ".atom", ".json", ".opml", ".xml")):
        found = documents(key + "/index.html")
    return found


def _lookup(root: Path, name: str, read: bool) -> _Found | None:
    """The file ``name`` under ``root`` (blocking: runs in a thread), or None.

    Only files inside the output directory, and no dot-files (temporary files of a
    build in progress start with a dot). A name the filesystem refuses (too long,
    not encodable) is simply not there.
    """
    try:
        path = (root / name).resolve()
        if path.is_dir():
            path = path / "index.html"
        if not path.is_relative_to(root) or any(
            part.startswith(".") for part in path.relative_to(root).parts
        ):
            return None
        with path.open("rb") as handle:
            stat = os.fstat(handle.fileno())
            if not S_ISREG(stat.st_mode):
                return None
            body = handle.read() if read else b""
    except (OSError, ValueError):
        return None
    return _Found(path, stat.st_size, stat.st_mtime_ns, body)


class _Roots:
    """Resolves the output directory once per configured value, not per request."""

    def __init__(self, output_dir: OutputDir) -> None:
        self._source = output_dir
        self._resolved: tuple[Path, Path] | None = None

    def __call__(self) -> Path:
        source = self._source
        current = Path(source() if callable(source) else source)
        cached = self._resolved
        if cached is None or cached[0] != current:
            cached = (current, current.resolve())
            self._resolved = cached
        return cached[1]


class _CspCache:
    """The CSP of an HTML file, computed once per version (its ETag)."""

    def __init__(self) -> None:
        self._by_etag: dict[str, str] = {}

    def __call__(self, etag: str, body: bytes) -> str:
        found = self._by_etag.get(etag)
        if found is None:
            if len(self._by_etag) > 256:
                self._by_etag.clear()
            found = self._by_etag[etag] = html_csp(body)
        return found


def create_app(
    output_dir: OutputDir,
    extra_routes: Sequence[BaseRoute] = (),
    max_body: int = MAX_BODY_BYTES,
    documents: Documents | None = None,
) -> Starlette:
    """A Starlette app serving ``output_dir`` (or the stored ``documents``); ``/`` is
    ``index.html``.

    File lookups and reads run in a worker thread, so a slow disk never stalls the
    event loop that also serves the other requests.
    """
    roots = _Roots(output_dir)
    csp = _CspCache()

    def lookup(name: str, read: bool) -> _Found | None:
        if documents is not None:
            return _lookup_document(documents, name)
        return _lookup(roots(), name, read)

    async def healthz(request: Request) -> Response:
        # No paths in the answer: it is public, and an operator knows where it is.
        ok = await off_loop(lambda: lookup("index.html", False) is not None)
        return JSONResponse(
            {"status": "ok" if ok else "no index yet"}, status_code=200 if ok else 503
        )

    async def static(request: Request) -> Response:
        name = request.path_params.get("path", "") or "index.html"
        head = request.method == "HEAD"
        found = await off_loop(lambda: lookup(name, not head))
        if found is None:
            return PlainTextResponse("not found\n", status_code=404)
        etag = found.etag or _etag(found.path, found.size, found.mtime_ns)
        modified = datetime.fromtimestamp(found.mtime_ns // 1_000_000_000, UTC)
        headers = {
            "ETag": etag,
            "Last-Modified": http_date(modified),
            "Cache-Control": CACHE_CONTROL,
            "Vary": "Accept-Encoding",
        }
        if _not_modified(request, etag, modified):
            return Response(status_code=304, headers=headers)
        media = TYPES.get(found.path.suffix, "application/octet-stream")
        if found.path.suffix == ".json" and name.startswith("feeds/"):
            media = JSON_FEED_TYPE  # JSON Feed 1.1 beside each Atom feed
        if found.path.suffix == ".html" and not head:
            headers["Content-Security-Policy"] = csp(etag, found.body)
        headers["Content-Length"] = str(found.size if head else len(found.body))
        return Response(found.body, headers=headers, media_type=media)

    routes: list[BaseRoute] = [
        Route("/healthz", healthz, methods=["GET", "HEAD"]),
        *extra_routes,
        Route("/", static, methods=["GET", "HEAD"]),
        Route("/{path:path}", static, methods=["GET", "HEAD"]),
    ]
    return Starlette(
        routes=routes,
        middleware=[
            # Outermost: bad paths and big bodies never get further; every answer
            # (gzip's included) gets the security headers and one Vary.
            Middleware(GuardMiddleware, max_body=max_body),
            Middleware(GZipMiddleware, minimum_size=500),
        ],
    )
