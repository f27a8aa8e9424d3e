"""What a worker process's jobs share: the zonewire App, the configuration in force,
the queue (to chain jobs) and the embedded worker's ingest and feed-build steps."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import procrastinate

from feeds.publish import BuildReport
from notifier.app import App
from notifier.distributed.app import BUILD, transaction_deferrer
from notifier.distributed.channels import ChannelCache
from notifier.reload import ConfigHolder, WatchedConfig
from notifier.worker import Worker

log = logging.getLogger("notifier.distributed")


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class WorkerContext:
    """One per ``zonewire worker`` process (or test)."""

    app: App
    holder: ConfigHolder
    queue: procrastinate.App
    clock: object = utc_now
    #: Jobs this process runs at once (sizes the kept channels).
    concurrency: int = 1
    worker: Worker = field(init=False)
    channels: ChannelCache = field(init=False)
    watched: WatchedConfig = field(init=False)
    deferrer: procrastinate.App = field(init=False)

    def __post_init__(self) -> None:
        self.worker = Worker(self.app, self.holder, clock=self.now)
        self.deferrer = transaction_deferrer(self.queue)
        self.channels = ChannelCache(self.concurrency)
        self.watched = WatchedConfig(self.holder)

    def refresh_config(self) -> None:
        """Follow edits of the configuration files: a stat of each per job, and a
        re-read only when one changed (hashing a 50,000-subscriber file for every
        batch of 100 would cost more than the batch). The subscriptions are not read
        here: the first plan job reads them."""
        self.watched.check()

    def now(self) -> datetime:
        return self.clock()  # type: ignore[operator, no-any-return]

    async def defer_build(self) -> None:
        """A feed build after an ingest that changed something (one waiting at most)."""
        try:
            await self.queue.configure_task(BUILD, queueing_lock="build_feeds",
                                            lock="build_feeds").defer_async()
        except procrastinate.exceptions.AlreadyEnqueued:
            pass  # one is waiting already and will see these articles too

    async def build_feeds(self) -> BuildReport:
        """Build into this machine's feed folder, then store what changed in the
        database, where every ``serve`` reads it."""
        report = await self.worker.rebuild_feeds()
        await asyncio.to_thread(publish_report, self.app, report, self.now())
        return report


def publish_report(app: App, report: BuildReport, now: datetime) -> int:
    """Upsert the files a build wrote and drop the ones it removed; returns changes."""
    out = Path(report.output_dir)
    documents = app.store.documents

    def items() -> object:
        for key in report.written:
            path = out / key
            if path.is_file():
                yield key, path.read_bytes()

    changed = documents.put(items(), now)  # type: ignore[arg-type]
    if report.removed:
        changed += documents.remove(report.removed)
    return changed
