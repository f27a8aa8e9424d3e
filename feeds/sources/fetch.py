"""The crawler's way to the network: politeness, robots.txt, retries and redirects.

:class:`Fetcher` wraps one :class:`~feeds.sources.transport.HttpGet` and adds what a
polite, bounded crawler needs: a User-Agent naming zonewire, robots.txt read by
protego per RFC 9309 (wildcards, ``$``, longest match, ``Crawl-delay``), a
concurrency limit and a delay per host, conditional GET, and retries with
exponential backoff on 5xx, 429, timeouts and connection errors.

Redirects are followed here, hop by hop (issue 11): each hop must stay on the hosts
the caller allows and pass that host's robots.txt and politeness, so a portal
cannot send the crawler to a host nobody configured. One GET on the wire (the httpx
client, the streamed size limit, httpx exceptions translated once into
:class:`feeds.errors.FetchError` subclasses) is :mod:`feeds.sources.transport`; the
crawler above never imports httpx.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Collection
from dataclasses import dataclass, field, replace
from types import TracebackType
from urllib.parse import urldefrag, urljoin, urlsplit

import httpx

from feeds.errors import FetchError
from feeds.models import CrawlPolicy
from feeds.sources.fetched import (
    ConnectionFailed,
    FetchTimeout,
    HTTPStatusError,
    OffHost,
    Page,
    PageTooLarge,
    RobotsDisallowed,
    RobotsUnavailable,
)
from feeds.sources.hosts import host_key
from feeds.sources.robots import Robots, agent_token
from feeds.sources.transport import HttpGet, Redirect, Retryable

__all__ = [
    "ConnectionFailed", "FetchTimeout", "Fetcher", "HTTPStatusError", "OffHost", "Page",
    "PageTooLarge", "RobotsDisallowed", "RobotsUnavailable",
]

log = logging.getLogger(__name__)

#: A server's Retry-After is honoured up to this many seconds; longer waits fail the page.
MAX_RETRY_AFTER = 60.0
#: Backoff never grows past this, however many retries are configured.
MAX_BACKOFF = 60.0
#: robots.txt bodies past this size are cut (RFC 9309 §2.5 asks parsers to read 500 KiB).
ROBOTS_MAX_BYTES = 500 * 1024
#: Redirect hops followed per request (RFC 9309 §2.3.1.2 asks for at least five).
MAX_REDIRECTS = 5


@dataclass(slots=True)
class _Host:
    semaphore: asyncio.Semaphore
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    next_start: float = 0.0
    robots: Robots | None = None
    robots_error: FetchError | None = None
    robots_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    delay: float = 0.0  # seconds between request starts: crawl.per_host_delay or Crawl-delay


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
        self._http = HttpGet(policy, transport=transport)
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
        await self._http.aclose()

    # -- public ---------------------------------------------------------------

    async def get(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        hosts: Collection[str] | None = None,
    ) -> Page:
        """GET ``url``; with ``etag``/``last_modified`` a 304 gives ``not_modified``.

        ``hosts`` (``host[:port]`` keys, see :mod:`feeds.sources.hosts`) confine the
        request and every redirect hop; None allows any host. Raises a
        :class:`FetchError` subclass saying what went wrong; never an httpx exception.
        """
        headers: dict[str, str] = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        return await self._follow(url, headers, hosts, limit=self.policy.max_page_bytes)

    async def allowed(self, url: str, *, hosts: Collection[str] | None = None) -> bool:
        """Whether robots.txt lets zonewire fetch ``url`` (True when not obeying it)."""
        if not self.policy.obey_robots:
            return True
        try:
            await self._check_robots(url, self._host(url), hosts)
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
            host = _Host(
                asyncio.Semaphore(self.policy.per_host_concurrency),
                delay=self.policy.per_host_delay.total_seconds(),
            )
            self._hosts[key] = host
        return host

    async def _follow(
        self, url: str, headers: dict[str, str], hosts: Collection[str] | None, *, limit: int
    ) -> Page:
        """GET ``url``, following redirects hop by hop, each hop confined and polite."""
        current = url
        seen = {url}
        for _ in range(MAX_REDIRECTS + 1):
            _confine(url, current, hosts)
            host = self._host(current)
            if self.policy.obey_robots:
                await self._check_robots(current, host, hosts)
            try:
                page = await self._with_retries(current, host, headers, limit=limit)
            except Redirect as hop:
                try:
                    target = urldefrag(urljoin(current, hop.location))[0]
                except ValueError:
                    raise FetchError(
                        url, f"redirected to an unusable address {hop.location[:200]!r}"
                    ) from None
                if target in seen:
                    raise FetchError(url, f"redirect loop at {target}") from None
                seen.add(target)
                current = target
                continue
            return replace(page, url=url, final_url=current)
        raise FetchError(url, f"more than {MAX_REDIRECTS} redirects")

    async def _check_robots(
        self, url: str, host: _Host, hosts: Collection[str] | None = None
    ) -> None:
        async with host.robots_lock:
            if host.robots is None and host.robots_error is None:
                await self._load_robots(url, host, hosts)
        if host.robots_error is not None:
            raise RobotsUnavailable(url, host.robots_error.reason)
        assert host.robots is not None
        if not host.robots.allowed(url):
            raise RobotsDisallowed(
                url, f"disallowed by robots.txt for user-agent {host.robots.agent!r}"
            )

    async def _load_robots(self, url: str, host: _Host, hosts: Collection[str] | None) -> None:
        parts = urlsplit(url)
        robots_url = f"{parts.scheme}://{parts.netloc}/robots.txt"
        agent = agent_token(self.policy.user_agent)
        # robots.txt is asked on the same hosts as the page: its redirects are
        # followed (RFC 9309 §2.3.1.2) while they stay on them.
        own = {host_key(url) or ""} if hosts is None else hosts
        page: Page | None
        try:
            page = await self._robots_page(robots_url, own)
        except OffHost as exc:
            # A robots.txt we may not follow is no robots.txt (as a 4xx would be).
            log.info("%s: %s; no rules applied", robots_url, exc.reason)
            page = None
        except HTTPStatusError as exc:
            # RFC 9309 §2.3.1.3: an unavailable (4xx) robots.txt means no rules.
            if 400 <= exc.status < 500:
                host.robots = Robots.allow_all(agent)
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
        robots = Robots.parse(text, agent)
        delay = robots.delay()
        if delay is not None and delay > host.delay:
            log.info("%s: Crawl-delay %gs (longer than crawl.per_host_delay)", robots_url, delay)
            host.delay = delay
        host.robots = robots

    async def _robots_page(self, robots_url: str, hosts: Collection[str]) -> Page:
        """robots.txt, redirects followed while they stay on ``hosts`` (no robots
        check of its own: robots.txt is always allowed)."""
        current = robots_url
        for _ in range(MAX_REDIRECTS + 1):
            _confine(robots_url, current, hosts)
            try:
                return await self._with_retries(
                    current, self._host(current), {}, limit=ROBOTS_MAX_BYTES
                )
            except Redirect as hop:
                try:
                    current = urldefrag(urljoin(current, hop.location))[0]
                except ValueError:
                    raise HTTPStatusError(robots_url, 404, "unusable redirect") from None
        raise HTTPStatusError(robots_url, 404, f"more than {MAX_REDIRECTS} redirects")

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
            except Retryable as exc:
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
        """Space request starts to one host by ``per_host_delay`` (or its Crawl-delay)."""
        delay = host.delay
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
            return await self._http.get(url, headers, limit)


def _confine(url: str, current: str, hosts: Collection[str] | None) -> None:
    """Refuse ``current`` (``url`` or a hop it redirected to) off the allowed hosts."""
    if hosts is None:
        return
    key = host_key(current)
    if key is not None and key in hosts:
        return
    shown = key or current[:200]
    if current == url:
        raise OffHost(url, f"host {shown} is not the source's host and not in allowed_hosts")
    raise OffHost(url, f"redirected to other host {shown}, not in allowed_hosts")
