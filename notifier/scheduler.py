"""APScheduler wiring for ``zonewire run``: which worker job runs when. Nothing else.

- one ingest job per source, at the source's interval with jitter, followed by a
  feed rebuild and a delivery pass when it brought something new (``immediate``
  subscribers get their digest right after the ingest that found the articles);
- a digest tick every ``TICK`` seconds: :func:`notifier.deliver.asend_due` sends
  every subscriber whose schedule slot (in their own time zone, see
  :mod:`notifier.schedules`) has passed since their last digest, and every retry
  that is due. Because due-ness is "a slot passed since the last digest", a worker
  that was down over several slots sends one digest on start, not one per slot;
- a watcher that reloads the configuration when its files change; sources are
  rescheduled when their list or intervals change.

Every job has ``max_instances=1`` and ``coalesce=True``: a long job never overlaps
itself and missed runs collapse into one.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from feeds.models import Source
from notifier.worker import Worker

log = logging.getLogger(__name__)

#: How often due digests and retries are looked for.
TICK = timedelta(seconds=30)
#: How often the configuration files are checked when no file watcher is available.
RELOAD_POLL = timedelta(seconds=5)


def _jitter(interval: timedelta) -> int:
    return int(min(interval.total_seconds() * 0.1, 60))


class Service:
    """The long-running worker: scheduler, reload watcher, graceful stop."""

    def __init__(self, worker: Worker, *, tick: timedelta = TICK) -> None:
        self.worker = worker
        self.tick = tick
        self.scheduler = AsyncIOScheduler(timezone="UTC")
        self.stopping = asyncio.Event()
        self._sources: dict[str, tuple[float, str]] = {}

    # -- jobs -------------------------------------------------------------------

    async def _guard(self, name: str, job: Callable[[], Coroutine[Any, Any, object]]) -> None:
        if self.stopping.is_set():
            return
        try:
            await job()
        except asyncio.CancelledError:
            # The loop is closing (a stop): work handed to a thread still completes, and
            # the scheduler would print this as a traceback.
            log.info("job %s interrupted by the stop", name)
        except Exception:
            log.exception("job %s failed; it will run again at its next time", name)
            self.worker.metrics.cycle_errors.labels(name).inc()
        finally:
            self.worker.metrics.last_cycle.labels(name.split(":")[0]).set_to_current_time()

    async def ingest_job(self, source: str) -> None:
        async def run() -> None:
            reports = await self.worker.ingest([source])
            for report in reports:
                log.info("%s", report.summary())
            # Finished even when a stop was asked: the articles are stored, and
            # feeds that lag behind the store would stay stale until next start.
            if self.worker.feeds_dirty:
                build = await self.worker.rebuild_feeds()
                if build.written:
                    log.info("feeds: %d files written", len(build.written))
            if any(r.new for r in reports) and not self.stopping.is_set():
                await self._deliver()

        await self._guard(f"ingest:{source}", run)

    async def digest_job(self) -> None:
        await self._guard("digests", self._deliver)

    async def _deliver(self) -> None:
        report = await self.worker.deliver()
        if report.planned or report.sent or report.failed or report.retrying:
            log.info(
                "digests: %d planned, %d sent, %d to retry, %d failed",
                report.planned,
                report.sent,
                report.retrying,
                report.failed,
            )
        for error in report.errors:
            log.warning("delivery: %s", error)

    async def reload_job(self) -> None:
        async def run() -> None:
            holder = self.worker.holder
            rejected_before = holder.last_problems
            # In a thread: re-reading 10,000 subscribers takes seconds (issue 10).
            if await asyncio.to_thread(holder.reload):
                log.info("configuration reloaded (version %d)", holder.version)
                self.worker.metrics.config_reloads.labels("applied").inc()
                self.schedule_sources()
            elif holder.last_problems and holder.last_problems is not rejected_before:
                self.worker.metrics.config_reloads.labels("rejected").inc()

        await self._guard("reload", run)

    # -- wiring -----------------------------------------------------------------

    def schedule_sources(self) -> None:
        """(Re)create one ingest job per configured source; drop removed ones."""
        wanted: dict[str, Source] = {s.name: s for s in self.worker.sources()}
        for name in list(self._sources):
            if name not in wanted:
                self.scheduler.remove_job(f"ingest:{name}")
                del self._sources[name]
        for name, source in wanted.items():
            signature = (source.interval.total_seconds(), repr(source))
            if self._sources.get(name) == signature:
                continue
            self.scheduler.add_job(
                self.ingest_job,
                IntervalTrigger(
                    seconds=source.interval.total_seconds(), jitter=_jitter(source.interval)
                ),
                args=[name],
                id=f"ingest:{name}",
                name=f"ingest {name}",
                replace_existing=True,
                max_instances=1,
                coalesce=True,
                misfire_grace_time=None,
                next_run_time=None if name in self._sources else _soon(),
            )
            self._sources[name] = signature

    async def feeds_job(self) -> None:
        async def run() -> None:
            build = await self.worker.rebuild_feeds()
            if build.written:
                log.info("feeds: %d files written", len(build.written))

        await self._guard("feeds", run)

    def start(self) -> None:
        self.schedule_sources()
        # Bring feeds up to date with whatever the store holds (an import, a crash).
        self.scheduler.add_job(self.feeds_job, id="feeds-on-start", next_run_time=_soon())
        self.scheduler.add_job(
            self.digest_job,
            IntervalTrigger(seconds=self.tick.total_seconds()),
            id="digests",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
            next_run_time=_soon(),
        )
        self.scheduler.add_job(
            self.reload_job,
            IntervalTrigger(seconds=RELOAD_POLL.total_seconds()),
            id="reload",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
        )
        self.scheduler.start()

    async def watch_config(self) -> None:
        """Reload as soon as a configuration file changes (the poll job is the fallback)."""
        try:
            from watchfiles import awatch
        except ImportError:  # pragma: no cover - declared dependency
            return
        paths = [p.parent.resolve() for p in self.worker.holder.paths()]
        watched = {p.resolve() for p in self.worker.holder.paths()}
        async for changes in awatch(*set(paths), stop_event=self.stopping, debounce=300):
            if any(path in {str(w) for w in watched} for _, path in changes):
                await self.reload_job()

    async def stop(self) -> None:
        """Take no new work, let running jobs finish (deliveries complete), stop."""
        if not self.stopping.is_set():
            log.info("stopping: finishing jobs in flight")
        self.stopping.set()
        if self.scheduler.running:
            self.scheduler.pause()
        await self.worker.wait_idle()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)


def _soon() -> datetime:
    return datetime.now(UTC)


async def serve_forever(
    service: Service,
    extra: list[Callable[[asyncio.Event], Coroutine[Any, Any, None]]] | None = None,
) -> None:
    """Run until SIGTERM or SIGINT, then stop gracefully."""
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, service.stopping.set)
    service.start()
    tasks = [asyncio.create_task(service.watch_config())]
    tasks += [asyncio.create_task(run(service.stopping)) for run in extra or []]
    try:
        await service.stopping.wait()
    finally:
        await service.stop()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
