"""The one place where crawler bytes meet the network.

:class:`Fetcher` wraps one :class:`httpx.AsyncClient` and adds what a polite,
bounded crawler needs: a User-Agent naming zonewire, robots.txt (RFC 9309), a
concurrency limit and a delay per host, conditional GET, a total deadline per
attempt, a maximum body size (streamed, aborted past the limit) and retries with
exponential backoff on 5xx, 429, timeouts and connection errors. httpx exceptions
are translated here, once, into :class:`feeds.errors.FetchError` subclasses, so the
crawler above never imports httpx.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC
from email.utils import parsedate_to_datetime
from types import TracebackType
from urllib.parse import urlsplit
from urllib.robotparser import RobotFileParser

import httpx

from feeds.errors import FetchError
from feeds.models import CrawlPolicy

log = logging.getLogger(__name__)

#: httpx keeps at most this many connections per client (pool size).
MAX_POOL = 16
#: A server's Retry-After is honoured up to this many seconds; longer waits fail the page.
MAX_RETRY_AFTER = 60.0
#: Backoff never grows past this, however many retries are configured.
MAX_BACKOFF = 60.0
#: robots.txt bodies past this size are cut (RFC 9309 §2.5 asks parsers to read 500 KiB).
ROBOTS_MAX_BYTES = 500 * 1024


class HTTPStatusError(FetchError):
    """The server answered with an error status (after any retries)."""

    def __init__(self, url: str, status: int, reason: str | None = None) -> None:
        super().__init__(url, reason or f"HTTP {status}")
        self.status = status

    @property
    def permanent(self) -> bool:
        """404/410 and most 4xx will not heal by asking again."""
        return 400 <= self.status < 500 and self.status not in (408, 425, 429)


class FetchTimeout(FetchError):
    """No complete answer within the configured timeout (after any retries)."""


class ConnectionFailed(FetchError):
    """The host could not be reached or dropped the connection."""


class PageTooLarge(FetchError):
    """The body passed ``max_page_bytes``; the download was aborted."""


class RobotsDisallowed(FetchError):
    """robots.txt forbids zonewire this URL; it is not fetched at all."""


class RobotsUnavailable(FetchError):
    """robots.txt could not be read (server error, timeout, no connection).

    RFC 9309 §2.3.1.4: then nothing on the host may be crawled. It is a passing
    condition, unlike :class:`RobotsDisallowed`: the next run asks again.
    """


@dataclass(frozen=True, slots=True)
class Page:
    """A fetched resource. ``not_modified`` means a 304 to a conditional GET: no body."""

    url: str  # the URL asked for
    final_url: str  # after redirects; relative links resolve against this
    status: int
    content: bytes
    content_type: str | None
    etag: str | None
    last_modified: str | None
    not_modified: bool = False
    attempts: int = 1


@dataclass(slots=True)
class _Host:
    semaphore: asyncio.Semaphore
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    next_start: float = 0.0
    robots: RobotFileParser | None = None
    robots_error: FetchError | None = None
    robots_lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class Fetcher:
    """Polite, bounded HTTP GETs for every source of one ingest run.

    Use as ``async with Fetcher(policy) as fetcher: page = await fetcher.get(url)``.
    One fetcher shares its per-host limits across all sources, so two sources on one
    portal do not double the load on it. ``transport`` is for tests that need a
    failure no real server can stage.
    """

    def __init__(
        self,
        policy: CrawlPolicy,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.policy = policy
        self._hosts: dict[str, _Host] = {}
        pool = min(MAX_POOL, max(1, policy.per_host_concurrency * 4))
        seconds = policy.timeout.total_seconds()
        self._deadline = seconds
        headers = {
            "User-Agent": policy.user_agent,
            "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
            "Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5",
            **policy.extra_headers,
        }
        self._client = httpx.AsyncClient(
            headers=headers,
            timeout=httpx.Timeout(seconds),
            limits=httpx.Limits(max_connections=pool, max_keepalive_connections=pool),
            follow_redirects=True,
            max_redirects=5,
            transport=transport,
        )
        self.requests = 0  # HTTP requests sent, robots.txt and retries included

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()

    # -- public ---------------------------------------------------------------

    async def get(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
    ) -> Page:
        """GET ``url``; with ``etag``/``last_modified`` a 304 gives ``not_modified``.

        Raises a :class:`FetchError` subclass saying what went wrong; never an httpx
        exception.
        """
        host = self._host(url)
        if self.policy.obey_robots:
            await self._check_robots(url, host)
        headers: dict[str, str] = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        return await self._with_retries(url, host, headers, limit=self.policy.max_page_bytes)

    async def allowed(self, url: str) -> bool:
        """Whether robots.txt lets zonewire fetch ``url`` (True when not obeying it)."""
        if not self.policy.obey_robots:
            return True
        try:
            await self._check_robots(url, self._host(url))
        except RobotsDisallowed:
            return False
        return True

    # -- internals ------------------------------------------------------------

    def _host(self, url: str) -> _Host:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise FetchError(url, "not an absolute http(s) URL")
        key = f"{parts.scheme}://{parts.netloc.lower()}"
        host = self._hosts.get(key)
        if host is None:
            host = _Host(asyncio.Semaphore(self.policy.per_host_concurrency))
            self._hosts[key] = host
        return host

    def _agent_token(self) -> str:
        """The product token robots.txt groups are matched against (RFC 9309 §2.2.1)."""
        token = self.policy.user_agent.split("/", 1)[0].split()[0]
        return token or "zonewire"

    async def _check_robots(self, url: str, host: _Host) -> None:
        async with host.robots_lock:
            if host.robots is None and host.robots_error is None:
                await self._load_robots(url, host)
        if host.robots_error is not None:
            raise RobotsUnavailable(url, host.robots_error.reason)
        assert host.robots is not None
        if not host.robots.can_fetch(self._agent_token(), url):
            raise RobotsDisallowed(
                url, f"disallowed by robots.txt for user-agent {self._agent_token()!r}"
            )

    async def _load_robots(self, url: str, host: _Host) -> None:
        parts = urlsplit(url)
        robots_url = f"{parts.scheme}://{parts.netloc}/robots.txt"
        parser = RobotFileParser(robots_url)
        try:
            page = await self._with_retries(robots_url, host, {}, limit=ROBOTS_MAX_BYTES)
        except HTTPStatusError as exc:
            # RFC 9309 §2.3.1.3: an unavailable (4xx) robots.txt means no rules.
            if 400 <= exc.status < 500:
                parser.parse([])
                host.robots = parser
                return
            host.robots_error = exc
            exc.reason = f"{robots_url} unreachable ({exc.reason}); RFC 9309: crawl nothing"
            return
        except PageTooLarge:
            page = None
        except FetchError as exc:
            # RFC 9309 §2.3.1.4: unreachable robots.txt means complete disallow.
            host.robots_error = exc
            exc.reason = f"{robots_url} unreachable ({exc.reason}); RFC 9309: crawl nothing"
            return
        text = "" if page is None else page.content.decode("utf-8", errors="replace")
        parser.parse(text.splitlines())
        host.robots = parser

    async def _with_retries(
        self, url: str, host: _Host, headers: dict[str, str], *, limit: int
    ) -> Page:
        attempts = self.policy.retries + 1
        for attempt in range(1, attempts + 1):
            try:
                page = await self._attempt(url, host, headers, limit)
            except (FetchTimeout, ConnectionFailed) as exc:
                if attempt == attempts:
                    raise
                wait = self._backoff(attempt)
                log.info("%s: %s; retry %d/%d in %.1fs", url, exc.reason, attempt,
                         attempts - 1, wait)
            except _Retryable as exc:
                if attempt == attempts or exc.wait > MAX_RETRY_AFTER:
                    raise HTTPStatusError(url, exc.status) from None
                wait = max(exc.wait, self._backoff(attempt))
                log.info("%s: HTTP %d; retry %d/%d in %.1fs", url, exc.status, attempt,
                         attempts - 1, wait)
            else:
                return Page(
                    url=page.url, final_url=page.final_url, status=page.status,
                    content=page.content, content_type=page.content_type, etag=page.etag,
                    last_modified=page.last_modified, not_modified=page.not_modified,
                    attempts=attempt,
                )
            await asyncio.sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover

    def _backoff(self, attempt: int) -> float:
        return float(min(MAX_BACKOFF, self.policy.backoff.total_seconds() * 2 ** (attempt - 1)))

    async def _pace(self, host: _Host) -> None:
        """Space request starts to one host by ``per_host_delay``."""
        delay = self.policy.per_host_delay.total_seconds()
        if delay <= 0:
            return
        async with host.lock:
            now = time.monotonic()
            if host.next_start > now:
                await asyncio.sleep(host.next_start - now)
                now = time.monotonic()
            host.next_start = now + delay

    async def _attempt(self, url: str, host: _Host, headers: dict[str, str], limit: int) -> Page:
        async with host.semaphore:
            await self._pace(host)
            self.requests += 1
            try:
                async with asyncio.timeout(self._deadline):
                    return await self._request(url, headers, limit)
            except TimeoutError:
                raise FetchTimeout(
                    url, f"timed out after {self._deadline:g}s (crawl.timeout)"
                ) from None
            except httpx.TimeoutException:
                raise FetchTimeout(
                    url, f"timed out after {self._deadline:g}s (crawl.timeout)"
                ) from None
            except httpx.TooManyRedirects as exc:
                raise FetchError(url, f"too many redirects: {exc}") from None
            except (httpx.NetworkError, httpx.RemoteProtocolError, httpx.ProxyError) as exc:
                raise ConnectionFailed(
                    url, f"connection failed: {exc or type(exc).__name__}"
                ) from None
            except httpx.HTTPError as exc:
                raise FetchError(url, f"{type(exc).__name__}: {exc}") from None

    async def _request(self, url: str, headers: dict[str, str], limit: int) -> Page:
        async with self._client.stream("GET", url, headers=headers) as response:
            status = response.status_code
            if status == 304:
                return self._page(url, response, b"", not_modified=True)
            if status >= 500 or status == 429:
                raise _Retryable(
                    status, retry_after(response.headers.get("Retry-After"), time.time()) or 0.0
                )
            if status >= 400:
                raise HTTPStatusError(url, status, f"HTTP {status} {response.reason_phrase}")
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > limit:
                raise PageTooLarge(
                    url, f"page is {int(declared)} bytes, over crawl.max_page_bytes={limit}"
                )
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > limit:
                    raise PageTooLarge(
                        url, f"page passed crawl.max_page_bytes={limit}; download aborted"
                    )
                chunks.append(chunk)
            return self._page(url, response, b"".join(chunks))

    @staticmethod
    def _page(
        url: str, response: httpx.Response, body: bytes, *, not_modified: bool = False
    ) -> Page:
        return Page(
            url=url,
            final_url=str(response.url),
            status=response.status_code,
            content=body,
            content_type=response.headers.get("Content-Type"),
            etag=response.headers.get("ETag"),
            last_modified=response.headers.get("Last-Modified"),
            not_modified=not_modified,
        )


class _Retryable(Exception):
    """A 5xx or 429 worth asking again; internal to the retry loop."""

    def __init__(self, status: int, wait: float) -> None:
        super().__init__(status)
        self.status = status
        self.wait = wait


def retry_after(value: str | None, now: float) -> float | None:
    """``Retry-After`` as seconds from ``now``: a number or an HTTP date (RFC 9110
    §10.2.3); ``None`` when absent or unreadable. The webhook channel uses it too."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now)
