"""``zonewire scheduler``: APScheduler driven by whichever scheduler holds the lead.

Every scheduler checks the lead every few seconds (:class:`SqlLeaderLock`): a
standby tries to take it, the leader confirms it still holds it. Only the leader
runs its APScheduler and so only it defers jobs: an ingest per source at its
interval, digest planning and retry ticks, and a re-run of jobs whose worker
stopped sending heartbeats. Each deferral carries a procrastinate
``queueing_lock`` (one waiting job per kind) and ``lock`` (one running), so even a
leader that has just lost the lead cannot queue a job twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import procrastinate
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from feeds.models import Source
from feeds.storage.leader import SqlLeaderLock
from notifier.distributed.app import BUILD, INGEST, PLAN, RESEND, Timing

log = logging.getLogger("zonewire.scheduler")

#: How often the leader defers digest planning and the retry pass.
PLAN_EVERY = timedelta(seconds=30)
RESEND_EVERY = timedelta(minutes=1)


class Leader:
    """One scheduler process: leads when it can, waits otherwise."""

    def __init__(
        self,
        queue: procrastinate.App,
        lock: SqlLeaderLock,
        sources: Sequence[Source],
        lead_timeout: timedelta,
        *,
        plan_every: timedelta = PLAN_EVERY,
        resend_every: timedelta = RESEND_EVERY,
    ) -> None:
        self.queue = queue
        self.lock = lock
        self.sources = list(sources)
        self.lead_timeout = lead_timeout.total_seconds()
        #: The lead is checked this often; a failed check takes at most a third of
        #: the timeout, so a lost lead is noticed well within ``lead_timeout``.
        self.check_every = min(max(self.lead_timeout / 3, 0.2), 5.0)
        self.plan_every = plan_every
        self.resend_every = resend_every
        self.timing = Timing.of(lead_timeout)
        self.leading = False
        #: Jobs this scheduler deferred (tests check that standbys defer none).
        self.deferred = 0
        self._scheduler: AsyncIOScheduler | None = None

    async def run(self, stopping: asyncio.Event) -> None:
        try:
            while not stopping.is_set():
                await self._tick()
                try:
                    await asyncio.wait_for(stopping.wait(), self.check_every)
                except TimeoutError:
                    pass
        finally:
            self._stop_leading("stopping")
            await asyncio.to_thread(self.lock.release)

    async def _tick(self) -> None:
        bound = max(self.lead_timeout / 3, 0.5)
        if self.leading:
            try:
                why = await asyncio.wait_for(asyncio.to_thread(self.lock.check), bound)
            except TimeoutError:
                why = "its database connection did not answer in time"
                await asyncio.to_thread(self.lock.release)
            if why is not None:
                self._stop_leading(why)
            else:
                await self._retry_stalled()
            return
        try:
            got = await asyncio.wait_for(asyncio.to_thread(self.lock.try_acquire), bound)
        except Exception as exc:  # noqa: BLE001 - the database may be away for a while
            log.warning("cannot reach the database to take the lead: %s", exc)
            return
        if got:
            self._start_leading()

    # -- leading ---------------------------------------------------------------------

    def _start_leading(self) -> None:
        log.info("leading: this scheduler defers the jobs now")
        self.leading = True
        scheduler = AsyncIOScheduler(timezone="UTC")
        for source in self.sources:
            scheduler.add_job(
                self.defer, IntervalTrigger(seconds=source.interval.total_seconds()),
                args=[INGEST], kwargs={"key": f"ingest:{source.name}", "source": source.name},
                id=f"ingest:{source.name}", next_run_time=_soon(), coalesce=True,
                max_instances=1,
            )
        scheduler.add_job(self.defer, IntervalTrigger(seconds=self.plan_every.total_seconds()),
                          args=[PLAN], kwargs={"key": "plan"}, id="plan",
                          next_run_time=_soon(), coalesce=True, max_instances=1)
        scheduler.add_job(self.defer,
                          IntervalTrigger(seconds=self.resend_every.total_seconds()),
                          args=[RESEND], kwargs={"key": "resend"}, id="resend",
                          next_run_time=_soon(), coalesce=True, max_instances=1)
        scheduler.add_job(self.defer, args=[BUILD], kwargs={"key": "build_feeds"},
                          id="build_feeds", next_run_time=_soon())
        scheduler.start()
        self._scheduler = scheduler

    def _stop_leading(self, why: str) -> None:
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None
        if self.leading:
            log.warning("no longer leading: %s", why)
        self.leading = False

    async def defer(self, task: str, key: str, **kwargs: Any) -> bool:
        """Defer ``task`` unless one with ``key`` is waiting; True if deferred."""
        if not self.leading:
            return False
        try:
            await self.queue.configure_task(task, queueing_lock=key, lock=key).defer_async(
                **kwargs
            )
        except procrastinate.exceptions.AlreadyEnqueued:
            return False
        self.deferred += 1
        return True

    async def _retry_stalled(self) -> None:
        """Jobs of workers whose heartbeat stopped are run again (SPEC §11)."""
        manager = self.queue.job_manager
        try:
            stalled = await manager.get_stalled_jobs(
                seconds_since_heartbeat=self.timing.stalled_after
            )
            for job in stalled:
                log.warning("job %s (%s) lost its worker: running it again", job.id,
                            job.task_name)
                await manager.retry_job(job)
        except Exception as exc:  # noqa: BLE001 - next tick tries again
            log.warning("cannot look for stalled jobs: %s", exc)


def _soon() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)
