"""What a fetch gives: a :class:`Page`, or a :class:`~feeds.errors.FetchError` saying
why not. Kept apart from :mod:`feeds.sources.fetch` so callers can name them without
the fetcher's machinery (``Retry-After`` is read in :mod:`feeds.httpdates`)."""

from __future__ import annotations

from dataclasses import dataclass

from feeds.errors import FetchError


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


class OffHost(FetchError):
    """A link or redirect leads to a host the source does not allow; not fetched."""

    permanent = True


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
