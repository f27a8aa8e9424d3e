"""The composition root: one worker cycle = ingest, rebuild feeds, deliver digests.

``zonewire run --once``, the scheduler (:mod:`notifier.scheduler`) and the tests all
call these same coroutines; nothing here knows about APScheduler or signals.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from feeds.intake import place_unresolved
from feeds.models import Source
from feeds.publish import BuildReport, build_feeds
from feeds.regions import apply_aliases
from feeds.sources.fetch import Fetcher
from feeds.sources.poll import IngestReport, ingest_source
from feeds.websub import ping_hubs
from notifier.app import App
from notifier.config import Settings
from notifier.deliver import DeliveryDeps, DeliveryReport, asend_due
from notifier.errors import os_error_message
from notifier.lock import WorkerLock, WorkerLost
from notifier.metrics import Metrics
from notifier.reload import ConfigHolder

log = logging.getLogger(__name__)


def _describe(exc: Exception) -> str:
    return os_error_message(exc) if isinstance(exc, OSError) else str(exc)


def _stage_failed(stage: str, exc: Exception) -> None:
    """An OSError is the operator's to fix (SPEC §4): one line naming the path; anything
    else is a bug and keeps its traceback."""
    if isinstance(exc, OSError):
        log.error("%s failed: %s", stage, os_error_message(exc))
    else:
        log.exception("%s failed", stage)


Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class CycleReport:
    """What one full cycle did; ``errors`` make ``run --once`` exit 1."""

    ingest: list[IngestReport] = field(default_factory=list)
    feeds: BuildReport | None = None
    delivery: DeliveryReport | None = None
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def lines(self) -> list[str]:
        out = [report.summary() for report in self.ingest]
        if self.feeds is not None:
            out.append(
                f"feeds: {len(self.feeds.written)} files written, {self.feeds.feeds} feeds "
                f"in {self.feeds.output_dir}"
            )
        if self.delivery is not None:
            d = self.delivery
            out.append(
                f"digests: {d.planned} planned, {d.sent} sent, {d.resent} re-sent, "
                f"{d.retrying} to retry, {d.failed} failed"
            )
        out += [f"error: {e}" for e in self.errors]
        return out


class Worker:
    """Runs the jobs of SPEC §9 against one store with the configuration in force.

    Jobs of one kind never overlap (a lock each); a feed rebuild waits for nothing
    but itself. ``in_flight`` counts running jobs so a shutdown can wait for them.
    """

    def __init__(
        self,
        app: App,
        holder: ConfigHolder,
        *,
        clock: Clock = utc_now,
        metrics: Metrics | None = None,
        deps: DeliveryDeps | None = None,
    ) -> None:
        self.app = app
        self.holder = holder
        self.clock = clock
        self.metrics = metrics or Metrics(app.store)
        self._deps = deps or DeliveryDeps.from_app(app)
        self._own_deps = deps is None
        #: The store's worker lock when this worker holds one: checked before each
        #: fan-out and between claim batches; ``lock_lost`` says why it went.
        self.lock: WorkerLock | None = None
        self.lock_lost: str | None = None
        self._ingest_lock = asyncio.Lock()
        self._feeds_lock = asyncio.Lock()
        self._deliver_lock = asyncio.Lock()
        self._busy = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self.feeds_dirty = False

    @property
    def settings(self) -> Settings:
        return self.holder.settings

    # -- bookkeeping ------------------------------------------------------------

    def _enter(self) -> None:
        self._busy += 1
        self._idle.clear()

    def _leave(self) -> None:
        self._busy -= 1
        if self._busy == 0:
            self._idle.set()

    async def wait_idle(self) -> None:
        """Until no job is running (used by a graceful shutdown)."""
        await self._idle.wait()

    # -- jobs -------------------------------------------------------------------

    def sources(self, names: Sequence[str] | None = None) -> list[Source]:
        specs = self.settings.source_specs()
        return [s for s in specs if names is None or s.name in names]

    async def ingest(self, names: Sequence[str] | None = None) -> list[IngestReport]:
        """Poll the named sources (all by default) with one shared fetcher."""
        self._enter()
        try:
            async with self._ingest_lock:
                reports = []
                async with Fetcher(self.settings.crawl.policy()) as fetcher:
                    for source in self.sources(names):
                        report = await ingest_source(
                            source, self.app.store, self.app.gazetteer, fetcher, self.clock()
                        )
                        self._count_ingest(report)
                        reports.append(report)
                        if report.new or report.updated:
                            self.feeds_dirty = True
                # Zones learned just now, or an alias configured since, may place
                # articles that were stored without a region.
                problems = await asyncio.to_thread(
                    apply_aliases, self.app.gazetteer, self.settings.region_aliases
                )
                for problem in problems:
                    log.warning("region_aliases: %s", problem)
                if await asyncio.to_thread(
                    place_unresolved, self.app.store, self.app.gazetteer, self.clock()
                ):
                    self.feeds_dirty = True
                return reports
        finally:
            self._leave()

    def _count_ingest(self, report: IngestReport) -> None:
        m = self.metrics
        m.ingest_articles.labels(report.source, "new").inc(report.new)
        m.ingest_articles.labels(report.source, "updated").inc(report.updated)
        m.ingest_pages.labels(report.source).inc(report.pages_fetched)
        m.ingest_failures.labels(report.source).inc(report.failed)
        for line in report.errors:
            log.warning("%s: %s", report.source, line)

    async def rebuild_feeds(self, *, all: bool = False) -> BuildReport:
        """Bring the feeds up to date (only changed ones are rewritten)."""
        self._enter()
        try:
            async with self._feeds_lock:
                self.feeds_dirty = False
                settings = self.settings
                report = await asyncio.to_thread(
                    build_feeds,
                    self.app.store,
                    self.app.gazetteer,
                    settings.feeds.output_dir,
                    settings.public_url,
                    settings.feeds.entries,
                    all,
                    now=self.clock(),
                    hubs=settings.feeds.websub.hubs,
                )
                if settings.feeds.websub.hubs and report.changed_feeds:
                    base = settings.public_url.rstrip("/") + "/"
                    await asyncio.to_thread(
                        ping_hubs,
                        settings.feeds.websub.hubs,
                        [base + p for p in report.changed_feeds],
                    )
                self.metrics.feed_builds.inc()
                self.metrics.feeds_written.inc(len(report.written))
                return report
        finally:
            self._leave()

    async def deliver(self, only: str | None = None) -> DeliveryReport:
        """Send every due digest and due retry with the subscriptions in force."""
        self._enter()
        try:
            async with self._deliver_lock:
                deps = replace(self._deps, settings=self.settings)
                if self._own_deps:  # a reloaded secret_key signs what the HTTP side checks
                    deps = replace(deps, signer=self.app.signer(deps.settings))
                if self.lock is not None:
                    deps = replace(deps, guard=self.lock.ensure)
                try:
                    if self.lock is not None:
                        await asyncio.to_thread(self.lock.ensure)
                    # The index is built once per subscriptions version, not per pass.
                    subscriptions, index = await asyncio.to_thread(self.holder.matching)
                    report = await asend_due(
                        deps, subscriptions, self.clock(), only, index=index
                    )
                except WorkerLost as exc:
                    # Said once; the lock watch (``run``) stops the worker with exit 1.
                    if self.lock_lost is None:
                        log.error("%s", exc)
                    self.lock_lost = str(exc)
                    return DeliveryReport(errors=[str(exc)])
                m = self.metrics.deliveries
                m.labels("sent").inc(report.sent)
                m.labels("retrying").inc(report.retrying)
                m.labels("failed").inc(report.failed)
                return report
        finally:
            self._leave()

    async def cycle(self) -> CycleReport:
        """One full cycle (``run --once``): ingest all, rebuild, deliver, retry."""
        report = CycleReport()
        self.holder.reload()
        try:
            report.ingest = await self.ingest()
        except Exception as exc:  # one failing stage must not stop the others
            _stage_failed("ingest", exc)
            report.errors.append(f"ingest: {_describe(exc)}")
        for ingest in report.ingest:
            if ingest.result not in ("ok", "unchanged"):
                report.errors.append(
                    f"source {ingest.source}: {ingest.result}, {ingest.failed} pages failed"
                )
        try:
            report.feeds = await self.rebuild_feeds()
        except Exception as exc:
            _stage_failed("feed build", exc)
            report.errors.append(f"feeds: {_describe(exc)}")
        try:
            report.delivery = await self.deliver()
            report.errors += [f"delivery: {e}" for e in report.delivery.errors]
        except Exception as exc:
            _stage_failed("delivery", exc)
            report.errors.append(f"delivery: {_describe(exc)}")
        return report
