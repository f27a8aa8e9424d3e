"""One HTTP GET on the wire for the crawler: the only module of it that imports httpx.

:class:`HttpGet` owns the pooled ``httpx.AsyncClient``, bounds each attempt by the
crawl deadline, streams the body and aborts past the size limit, and translates
httpx exceptions, once, into :class:`feeds.errors.FetchError` subclasses. What to do
with an answer (follow a redirect, retry a 5xx, obey robots.txt, pace a host) is
:class:`feeds.sources.fetch.Fetcher`'s; this module only reports it, as
:class:`Redirect` and :class:`Retryable`.
"""

from __future__ import annotations

import asyncio
import time

import httpx

from feeds.errors import FetchError
from feeds.httpdates import retry_after
from feeds.models import CrawlPolicy
from feeds.sources.fetched import (
    ConnectionFailed,
    FetchTimeout,
    HTTPStatusError,
    Page,
    PageTooLarge,
)

#: httpx keeps at most this many connections per client (pool size).
MAX_POOL = 16
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


class HttpGet:
    """GETs through one client shared by every host of an ingest run."""

    def __init__(
        self, policy: CrawlPolicy, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
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
            follow_redirects=False,  # followed by the fetcher, one checked hop at a time
            transport=transport,
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def get(self, url: str, headers: dict[str, str], limit: int) -> Page:
        """One attempt: a :class:`Page` (``not_modified`` on 304), or :class:`Redirect`,
        :class:`Retryable` or a :class:`FetchError` subclass; never an httpx exception."""
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
            location = response.headers.get("Location")
            if status in _REDIRECTS and location:
                raise Redirect(location.strip())
            if status >= 500 or status == 429:
                raise Retryable(
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


class Redirect(Exception):
    """A 3xx with a Location: the fetcher checks the next hop before following it."""

    def __init__(self, location: str) -> None:
        super().__init__(location)
        self.location = location


class Retryable(Exception):
    """A 5xx or 429 worth asking again (``wait``: the server's Retry-After, or 0)."""

    def __init__(self, status: int, wait: float) -> None:
        super().__init__(status)
        self.status = status
        self.wait = wait
