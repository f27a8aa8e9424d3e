"""Crawling a news portal or a zone website (SPEC §1, ``type: portal`` and ``type: site``):
list pages in, articles out.

One poll walks each configured list URL newest first: it finds detail links by
``detail_pattern``, fetches only the ones the store does not know, and follows the
``next_page_text`` link while a page still brings unknown links. A page that brings
nothing new ends the walk, so a steady-state poll costs one conditional GET per list
URL. Detail pages of one list page are fetched concurrently while the walk moves
on to the next list page; the :class:`~feeds.sources.fetch.Fetcher` keeps the
per-host limits. A page that fails is reported and counted; the poll goes on.

Only the source's own host (and its ``allowed_hosts``) is fetched (issue 11): detail
links and 下一页 elsewhere are left alone, a redirect elsewhere is a failed page.
Parsing and extraction run in a worker thread, so the event loop that also serves
HTTP in ``zonewire run`` never waits for a page to be read (issue 10).

Portals and zone websites share this walk; only the reading of a detail page
differs (:func:`page_reader`): the portal layout (:mod:`feeds.extract`) or the
generic site reading (:mod:`feeds.siteextract`), whose records get the site's zone
or region.

This module decides what to fetch and hands results back through callbacks; it does
not touch the store (see :mod:`feeds.sources.poll`).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field, replace
from urllib.parse import urljoin

from feeds.charset import decode_page
from feeds.errors import FetchError
from feeds.extract import extract_links, extract_page, find_next_page
from feeds.models import ArticleRecord, CrawledSource, SiteSource
from feeds.siteextract import extract_site_page
from feeds.sources.fetch import Fetcher, HTTPStatusError, OffHost, RobotsDisallowed
from feeds.sources.hosts import allowed_hosts, host_key
from feeds.sources.state import Validators
from feeds.urls import InvalidURL, canonical_url

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Failure:
    """One page that could not be used, and why.

    ``kind`` is ``list`` (a list page), ``fetch`` (a detail page that could not be
    fetched), ``extract`` (fetched, but not an article) or ``store`` (an article the
    store refused). ``permanent`` failures (404, robots.txt, another host, not an
    article) are not retried on every poll.
    """

    url: str
    reason: str
    kind: str
    permanent: bool

    def __str__(self) -> str:
        return f"{self.url}: {self.reason}"


@dataclass(slots=True)
class PortalPoll:
    """What one poll of a portal did; the runner turns it into state and a report."""

    list_pages: int = 0  # list pages fetched with a body (200)
    list_unchanged: int = 0  # list pages answered 304 Not Modified
    detail_pages: int = 0  # detail pages fetched (extracted or not)
    links_found: int = 0  # detail links seen on fetched list pages
    new_links: int = 0  # of which the store did not know
    articles: int = 0  # detail pages extracted into records
    failures: list[Failure] = field(default_factory=list)
    validators: dict[str, Validators] = field(default_factory=dict)
    succeeded: list[str] = field(default_factory=list)  # detail URLs fetched and extracted

    @property
    def pages_fetched(self) -> int:
        return self.list_pages + self.detail_pages

    @property
    def list_failed(self) -> int:
        return sum(1 for f in self.failures if f.kind == "list")

    @property
    def extract_failed(self) -> int:
        return sum(1 for f in self.failures if f.kind == "extract")


#: Called with each extracted record; may write to the store (awaited, so it can
#: hand the write to a thread while fetching goes on).
ArticleSink = Callable[[ArticleRecord], Awaitable[None]]
#: Given canonical URLs, returns those not to fetch (already stored, or failed for good);
#: awaited, so the store lookup can run in a thread.
KnownFilter = Callable[[list[str]], Awaitable[set[str]]]


#: Reads one fetched detail page (bytes, Content-Type, URL): its record or why it is none.
#: Runs in a worker thread; must never raise.
PageReader = Callable[[bytes, str | None, str], ArticleRecord | str]


def page_reader(source: CrawledSource) -> PageReader:
    """How ``source``'s detail pages are read: the portal layout, or a site page
    whose record is given the site's zone or region (placed by :mod:`feeds.intake`)."""
    if not isinstance(source, SiteSource):
        return extract_page
    zone, region = source.place()
    name = source.name

    def read_site_page(content: bytes, content_type: str | None, url: str) -> ArticleRecord | str:
        found = extract_site_page(content, content_type, url, name)
        if isinstance(found, str):
            return found
        return replace(found, zone=zone, region=region)

    return read_site_page


async def crawl_portal(
    source: CrawledSource,
    fetcher: Fetcher,
    *,
    known: KnownFilter,
    on_article: ArticleSink,
    validators: dict[str, Validators] | None = None,
    retry: Iterable[str] = (),
    on_progress: Callable[[PortalPoll], None] | None = None,
) -> PortalPoll:
    """Poll ``source`` (a portal or a zone website) once.

    ``validators`` are the remembered ETag/Last-Modified of list pages; a list page
    answered 304 ends its walk. ``retry`` are detail URLs that failed for a passing
    reason on an earlier poll; they are fetched again whatever the list pages say.
    The returned poll's ``validators`` are worth saving only for walks that fetched
    every new detail page (a list page must not answer 304 while an article it
    links to still waits to be fetched).
    """
    poll = PortalPoll()
    remembered = validators or {}
    pattern = re.compile(source.detail_pattern)
    hosts = allowed_hosts(source.base_url, source.allowed_hosts)
    queued: dict[str, asyncio.Task[bool]] = {}
    read_page = page_reader(source)

    def progress() -> None:
        if on_progress is not None:
            on_progress(poll)

    async def detail(url: str) -> bool:
        """Fetch, extract and hand on one article; False on a failure that may heal.

        Whatever goes wrong with one page is that page's failure, never the poll's.
        """
        try:
            return await fetch_detail(url)
        except Exception as exc:
            log.exception("%s: unexpected failure", url)
            _fail(poll, Failure(url, f"{type(exc).__name__}: {exc}", "fetch", False))
            progress()
            return False

    async def fetch_detail(url: str) -> bool:
        try:
            page = await fetcher.get(url, hosts=hosts)
        except FetchError as exc:
            permanent = isinstance(exc, (RobotsDisallowed, OffHost)) or (
                isinstance(exc, HTTPStatusError) and exc.permanent
            )
            _fail(poll, Failure(url, exc.reason, "fetch", permanent))
            progress()
            return permanent
        poll.detail_pages += 1
        found = await asyncio.to_thread(read_page, page.content, page.content_type, url)
        if isinstance(found, str):
            _fail(poll, Failure(url, found, "extract", True))
            progress()
            return True
        poll.articles += 1
        poll.succeeded.append(url)
        await on_article(replace(found, url=url))
        progress()
        return True

    def spawn(urls: list[str]) -> list[asyncio.Task[bool]]:
        """Tasks fetching ``urls``; a URL already under way is not fetched twice."""
        for url in urls:
            if url not in queued:
                queued[url] = asyncio.create_task(detail(url))
        return [queued[url] for url in urls]

    async def walk(start: str) -> None:
        url: str | None = urljoin(source.base_url, start)
        seen_pages: set[str] = set()
        chain: list[asyncio.Task[bool]] = []
        fresh: dict[str, Validators] = {}
        complete = True
        pages = 0
        while url is not None and url not in seen_pages:
            if pages >= source.max_pages:
                log.info("%s: stopped after max_pages=%d list pages at %s",
                         source.name, source.max_pages, url)
                complete = False
                break
            seen_pages.add(url)
            pages += 1
            cached = remembered.get(url)
            try:
                page = await fetcher.get(
                    url,
                    etag=cached.etag if cached else None,
                    last_modified=cached.last_modified if cached else None,
                    hosts=hosts,
                )
            except FetchError as exc:
                _fail(poll, Failure(url, exc.reason, "list", False))
                progress()
                complete = False
                break
            if page.not_modified:
                poll.list_unchanged += 1
                progress()
                break
            poll.list_pages += 1
            if page.etag or page.last_modified:
                fresh[url] = Validators(page.etag, page.last_modified)
            links, url = await asyncio.to_thread(
                _read_list_page, page.content, page.content_type, page.final_url, pattern,
                source.next_page_text,
            )
            links = _on_hosts(source.name, links, hosts)
            poll.links_found += len(links)
            if not links:
                log.warning("%s: list page %s holds no link matching detail_pattern %r",
                            source.name, url, source.detail_pattern)
                progress()
                break
            # Links another walk (or the retry list) already queued still belong to this
            # page: its validators wait for their outcome too.
            chain += [queued[link] for link in links if link in queued]
            unknown = [link for link in links if link not in queued]
            skip = await known(unknown) if unknown else set()
            unknown = [link for link in unknown if link not in skip]
            poll.new_links += len(unknown)
            chain += spawn(unknown)
            progress()
            if not unknown:
                break
            if url is not None and host_key(url) not in hosts:
                log.warning("%s: not following %s to %s: another host, not in allowed_hosts",
                            source.name, source.next_page_text, url)
                url = None
        outcomes = await asyncio.gather(*chain)
        if complete and all(outcomes):
            poll.validators.update(fresh)

    retry_tasks = spawn([u for u in dict.fromkeys(retry)])
    await asyncio.gather(*(walk(start) for start in source.list_urls))
    await asyncio.gather(*retry_tasks)
    await asyncio.gather(*queued.values())  # all done by now; re-raises any bug
    return poll


def _fail(poll: PortalPoll, failure: Failure) -> None:
    poll.failures.append(failure)
    log.warning("%s page failed: %s", failure.kind, failure)


def _canonical(url: str) -> str | None:
    try:
        return canonical_url(url)
    except InvalidURL:
        return None


def _read_list_page(
    content: bytes, content_type: str | None, base_url: str, pattern: re.Pattern[str],
    next_text: str,
) -> tuple[list[str], str | None]:
    """A list page's detail links and its next page (run in a worker thread)."""
    try:
        html = decode_page(content, content_type)
        nxt = find_next_page(html, base_url, next_text)
        return _detail_links(html, base_url, pattern), _canonical(nxt) if nxt else None
    except Exception as exc:  # a hostile list page ends its walk, never the poll
        log.warning("%s: list page unreadable: %s: %s", base_url, type(exc).__name__, exc)
        return [], None


def _on_hosts(name: str, links: list[str], hosts: frozenset[str]) -> list[str]:
    """``links`` on the allowed hosts; the others are never fetched (issue 11)."""
    kept = [link for link in links if host_key(link) in hosts]
    if len(kept) < len(links):
        others = sorted({host_key(link) or link for link in links if link not in kept})
        log.warning("%s: %d detail links to other hosts not followed (%s); "
                    "add them to allowed_hosts to crawl them", name, len(links) - len(kept),
                    ", ".join(others[:5]))
    return kept


def _detail_links(html: str, base_url: str, pattern: re.Pattern[str]) -> list[str]:
    """Detail links in page order, canonical, each once."""
    found: dict[str, None] = {}
    for link in extract_links(html, base_url, pattern.pattern):
        canonical = _canonical(link)
        if canonical is not None:
            found.setdefault(canonical, None)
    return list(found)
