"""One poll of a source, from the network to the store, with its state remembered.

This is the composition of the crawler (:mod:`~feeds.sources.portal`, for portals
and zone websites), the feed
reader (:mod:`~feeds.sources.feed`), the :class:`~feeds.intake.Ingestor` and the
source state (:mod:`~feeds.sources.state`): the CLI and the worker call
:func:`ingest_sources` (or :func:`ingest_source` inside their own event loop).

The first successful poll of a source is its backfill (SPEC §8): its articles are
stored with ``backfill=True`` so nobody is emailed a portal's whole archive.

Every record stands alone (issue 10): a page the shared ingest path refuses (a date
out of range, text it cannot store) is a failed page with its URL; the other pages
of the poll are stored. Store and state calls run in worker threads, so a crawl
inside ``zonewire run`` never blocks the event loop that serves HTTP.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from feeds.intake import Ingestor
from feeds.models import (
    ArticleRecord,
    CrawlPolicy,
    FeedSource,
    PortalSource,
    SiteSource,
    Source,
)
from feeds.regions import Gazetteer
from feeds.sources.feed import poll_feed
from feeds.sources.fetch import Fetcher
from feeds.sources.health import Problem, check_source
from feeds.sources.portal import Failure, PortalPoll, crawl_portal
from feeds.sources.state import (
    FAILED,
    OK,
    PARTIAL,
    UNCHANGED,
    Validators,
)
from feeds.storage import UpsertCounts
from feeds.storage.protocols import SourceStateStore, Stores

log = logging.getLogger(__name__)

#: Records handed to the store at once while a crawl goes on.
BATCH = 200
#: A page failing for a passing reason this many polls in a row is given up on.
MAX_TRANSIENT_FAILURES = 5
#: Pages that failed for good (404, not an article) are asked again after this long.
RECHECK_AFTER = timedelta(days=1)
#: Detail pages that failed for a passing reason, retried per poll at most.
RETRY_PER_POLL = 200


@dataclass(slots=True)
class IngestReport:
    """What one poll of one source did; ``failed`` counts pages, not articles."""

    source: str
    result: str = OK  # ok | partial | failed | unchanged
    pages_fetched: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    backfill: bool = False
    errors: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def summary(self) -> str:
        line = (f"{self.source}: {self.result}, {self.pages_fetched} pages fetched, "
                f"{self.new} new, {self.updated} updated, {self.failed} failed")
        if self.backfill and self.new:
            line += " (first poll: stored as backfill, nobody is notified)"
        return line


#: Told (source name, counts so far, detail pages done, detail pages queued) as a
#: crawl goes on; the queue grows as list pages reveal links.
Progress = Callable[[str, str, int, int], None]


async def ingest_source(
    source: Source,
    store: Stores,
    gazetteer: Gazetteer,
    fetcher: Fetcher,
    now: datetime,
    *,
    on_progress: Progress | None = None,
) -> IngestReport:
    """Poll ``source`` once, store what it brings, remember how it went."""
    states = store.sources
    before = await asyncio.to_thread(states.get, source.name)
    backfill = not before.backfill_done
    ingestor = Ingestor(store, gazetteer)
    counts = UpsertCounts()
    lock = asyncio.Lock()
    pending: list[ArticleRecord] = []
    stamps: list[tuple[datetime, str]] = []  # (published, url) of every record handed on
    refused: dict[str, str] = {}  # url -> why the ingest path refused its record

    def on_reject(url: str, reason: str) -> None:
        refused[url] = reason
        log.warning("%s: %s: not stored: %s", source.name, url, reason)

    async def flush() -> None:
        async with lock:
            if not pending:
                return
            batch = pending[:]
            pending.clear()
            done = await asyncio.to_thread(
                ingestor.add, batch, now=now, source_name=source.name,
                hint=source.region, backfill=backfill, on_reject=on_reject,
            )
            counts.__iadd__(done)

    async def on_article(record: ArticleRecord) -> None:
        pending.append(record)
        stamps.append((record.published, record.url))
        if len(pending) >= BATCH:
            await flush()

    failures: list[Failure]
    validators: dict[str, Validators]
    if isinstance(source, (PortalSource, SiteSource)):

        def lookup(urls: list[str]) -> set[str]:
            return store.known_urls(urls) | states.skipped(urls, now=now, recheck=RECHECK_AFTER)

        async def known(urls: list[str]) -> set[str]:
            return await asyncio.to_thread(lookup, urls)

        def progress(poll: PortalPoll) -> None:
            if on_progress is not None:
                # Detail pages: the new links and retries queued, and those fetched
                # or failed; a failed list page is no detail page.
                gone = sum(1 for f in poll.failures if f.kind == "fetch")
                on_progress(source.name, f"{poll.pages_fetched} pages, {poll.articles} articles, "
                                         f"{len(poll.failures)} failed",
                            poll.detail_pages + gone, poll.new_links + len(set(retry)))

        list_urls = [_absolute(source.base_url, u) for u in source.list_urls]
        remembered = await asyncio.to_thread(states.validators, list_urls)
        retry = await asyncio.to_thread(states.retry_urls, source.name, limit=RETRY_PER_POLL)
        poll = await crawl_portal(
            source, fetcher, known=known, on_article=on_article,
            validators=remembered, retry=retry, on_progress=progress,
        )
        await flush()
        failures, validators = poll.failures, poll.validators
        fetched, listed = poll.pages_fetched, poll.list_pages
        unchanged_lists = poll.list_unchanged
        links, extracted, succeeded = poll.links_found, poll.articles, poll.succeeded
    else:
        assert isinstance(source, FeedSource)
        remembered = await asyncio.to_thread(states.validators, [source.url])
        feed = await poll_feed(source, fetcher, validators=remembered.get(source.url), now=now)
        for record in feed.records:
            await on_article(record)
        await flush()
        failures, validators = feed.failures, feed.validators
        fetched = 1 if feed.fetched else 0
        # A body that is no feed counts as a failed list page, not a fetched one.
        listed = fetched if not any(f.kind == "list" for f in feed.failures) else 0
        unchanged_lists = 1 if feed.not_modified else 0
        links, extracted, succeeded = feed.entries, len(feed.records), []

    if refused:  # stored nothing, so each is a failed page with its URL and reason
        failures = [*failures, *(Failure(u, why, "store", True) for u, why in refused.items())]
        succeeded = [url for url in succeeded if url not in refused]
        extracted = max(0, extracted - len(refused))
    list_failed = sum(1 for f in failures if f.kind == "list")
    if listed == 0 and unchanged_lists == 0 and list_failed:
        result = FAILED
    elif failures:
        result = PARTIAL
    elif listed == 0 and unchanged_lists:
        result = UNCHANGED
    else:
        result = OK

    await asyncio.to_thread(
        _remember_urls, states, source.name, failures, succeeded, validators, now
    )
    extract_failed = sum(1 for f in failures if f.kind in ("extract", "store"))
    stored = [stamp for stamp in stamps if stamp[1] not in refused]
    last = max(stored) if stored else None
    if before.last_article_at is not None and last is not None and (
        last[0] <= before.last_article_at
    ):
        last = None
    after = replace(
        before,
        last_poll_at=now,
        last_success_at=before.last_success_at if result == FAILED else now,
        last_result=result,
        last_error=str(failures[0]) if failures else None,
        consecutive_failures=before.consecutive_failures + 1 if result == FAILED else 0,
        error_count=before.error_count + len(failures),
        polls=before.polls + 1,
        pages_fetched=fetched,
        pages_failed=len(failures),
        links_found=links,
        extract_failed=extract_failed,
        articles_found=extracted,
        empty_polls=(
            before.empty_polls + 1 if listed and links == 0
            else 0 if listed else before.empty_polls
        ),
        last_article_at=last[0] if last else before.last_article_at,
        last_article_url=last[1] if last else before.last_article_url,
        backfill_done=before.backfill_done or result != FAILED,
    )
    await asyncio.to_thread(states.save, after)

    report = IngestReport(
        source=source.name, result=result, pages_fetched=fetched, new=counts.inserted,
        updated=counts.updated, unchanged=counts.unchanged, failed=len(failures),
        backfill=backfill, errors=[str(f) for f in failures],
    )
    zones = await asyncio.to_thread(states.zone_last_published, source.name)
    report.problems = check_source(source, after, now, zone_last_published=zones)
    for problem in report.problems:
        log.warning("source health: %s", problem, extra={"zw_source": source.name,
                                                          "zw_problem": problem.kind})
    return report


def ingest_sources(
    sources: Sequence[Source],
    store: Stores,
    gazetteer: Gazetteer,
    policy: CrawlPolicy,
    *,
    now: Callable[[], datetime],
    on_progress: Progress | None = None,
    on_report: Callable[[IngestReport], None] | None = None,
) -> list[IngestReport]:
    """Poll each source in turn with one shared :class:`Fetcher` (shared host limits).

    ``now`` is a clock, read once per source, so a long crawl stamps each source
    with the time its poll began.
    """

    async def main() -> list[IngestReport]:
        reports = []
        async with Fetcher(policy) as fetcher:
            for source in sources:
                report = await ingest_source(
                    source, store, gazetteer, fetcher, now(), on_progress=on_progress
                )
                reports.append(report)
                if on_report is not None:
                    on_report(report)
        return reports

    return asyncio.run(main())


def _absolute(base_url: str, url: str) -> str:
    from urllib.parse import urljoin

    return urljoin(base_url, url)


def _remember_urls(
    states: SourceStateStore,
    name: str,
    failures: list[Failure],
    succeeded: list[str],
    validators: dict[str, Validators],
    now: datetime,
) -> None:
    if validators:
        states.save_validators(name, validators, now=now)
    if succeeded:
        states.clear_failures(succeeded)
    for failure in failures:
        if failure.kind == "list":
            continue
        states.record_failure(name, failure.url, failure.reason, permanent=failure.permanent,
                              now=now, give_up_after=MAX_TRANSIENT_FAILURES)
