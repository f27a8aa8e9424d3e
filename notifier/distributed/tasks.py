"""The jobs of distributed mode (SPEC §11), as procrastinate tasks.

Each task is a thin call into the same code embedded mode runs; the worker process
passes its :class:`~notifier.distributed.context.WorkerContext` in the job context.
"""

from __future__ import annotations

import asyncio
import logging

import procrastinate

from notifier.distributed.app import QUEUE_OF
from notifier.distributed.context import WorkerContext
from notifier.distributed.delivery import deliver_batch, resend_due
from notifier.distributed.planning import plan_and_defer

log = logging.getLogger("notifier.distributed")

CONTEXT_KEY = "zonewire"


def _ctx(context: procrastinate.JobContext) -> WorkerContext:
    found = context.additional_context.get(CONTEXT_KEY)
    assert isinstance(found, WorkerContext), "run by `zonewire worker`"
    return found


async def ingest(context: procrastinate.JobContext, source: str) -> None:
    """Poll one source; a build follows when anything changed."""
    ctx = _ctx(context)
    for report in await ctx.worker.ingest([source]):
        log.info("%s", report.summary())
    if ctx.worker.feeds_dirty:
        await ctx.defer_build()


async def build_feeds(context: procrastinate.JobContext) -> None:
    report = await _ctx(context).build_feeds()
    log.info("feeds: %d files written, %d feeds", len(report.written), report.feeds)


async def plan(context: procrastinate.JobContext) -> None:
    """Plan due digests; their delivery jobs are deferred in the same transaction."""
    ctx = _ctx(context)
    report, jobs = await asyncio.to_thread(
        plan_and_defer, ctx.app, ctx.holder, ctx.deferrer, ctx.now()
    )
    if report.planned:
        log.info("planned %d digests in %d delivery jobs", report.planned, jobs)


async def deliver(context: procrastinate.JobContext, digests: list[str]) -> None:
    ctx = _ctx(context)
    await asyncio.to_thread(ctx.refresh_config)  # settings re-read off the loop
    report = await deliver_batch(ctx.app, ctx.holder, digests, ctx.now(), ctx.channels)
    for line in report.errors[:5]:
        log.warning("%s", line)


async def resend(context: procrastinate.JobContext) -> None:
    """Due retries, and pending digests whose job was lost, in batches."""
    ctx = _ctx(context)
    await asyncio.to_thread(ctx.refresh_config)  # settings re-read off the loop
    report = await resend_due(ctx.app, ctx.holder, ctx.now(),
                              ctx.holder.settings.delivery.batch, ctx.channels)
    for line in report.errors[:5]:
        log.warning("%s", line)


def register(app: procrastinate.App) -> None:
    """Add the tasks to ``app`` under their queue names (``zonewire:...``).

    Registered per App rather than through one module-level Blueprint: a Blueprint
    binds its tasks to the first App it is added to, so a second App in the same
    process (a test, the bench) would find none.
    """
    for name, func in (("ingest", ingest), ("build_feeds", build_feeds), ("plan", plan),
                       ("deliver", deliver), ("resend", resend)):
        task = f"zonewire:{name}"
        app.task(name=task, queue=QUEUE_OF[task], pass_context=True)(func)
