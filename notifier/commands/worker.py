"""`zonewire worker [--concurrency N]`: run queued jobs (SPEC §11)."""

from __future__ import annotations

import argparse
import asyncio
import socket

from notifier.app import App


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--concurrency", type=int, metavar="N",
                        help="jobs run at once (default: distributed.worker_concurrency)")
    parser.add_argument("--only", metavar="KIND[,KIND]",
                        help="run only these kinds of job: ingest, feeds, plan, deliver "
                             "(default: all; a plan job reads every subscriber, so "
                             "machines short of memory can leave it to others)")


def run(args: argparse.Namespace, app: App) -> int:
    from notifier.distributed.app import make_app, queues_for, require_distributed
    from notifier.errors import UsageError
    from notifier.reload import ConfigHolder

    require_distributed(app.settings, str(app.config_file or "config/zonewire.yaml"))
    if args.concurrency is not None and args.concurrency < 1:
        raise UsageError("--concurrency must be at least 1")
    queues = queues_for(args.only) if args.only is not None else None
    # Subscriptions are read by the first plan job, not here: delivery jobs carry
    # their subscribers (sealed in the ledger), and the parse of a big file would
    # cost every worker its peak memory for nothing.
    holder = ConfigHolder(app.config_file, lambda: app.gazetteer, settings=None,
                          lazy_subscriptions=True)
    app.settings = holder.settings
    queue = make_app(app.store.url)
    concurrency = args.concurrency or app.settings.distributed.worker_concurrency
    from notifier.redact import redact_url

    kinds = f"{args.only} jobs" if queues else "every kind of job"
    print(f"worker on {socket.gethostname()}: {concurrency} jobs at once ({kinds}), queue in "
          f"{redact_url(app.store.url)}; subscriptions read by plan jobs only; SIGTERM "
          "or Ctrl-C stops it after its running jobs", flush=True)
    return asyncio.run(run_worker(app, holder, queue, concurrency, queues))


async def run_worker(app: App, holder: object, queue: object, concurrency: int,
                     queues: list[str] | None = None) -> int:
    """Run jobs until SIGTERM/SIGINT (procrastinate finishes the running ones)."""
    from notifier.distributed.app import Timing
    from notifier.distributed.context import WorkerContext
    from notifier.distributed.tasks import CONTEXT_KEY

    ctx = WorkerContext(app, holder, queue, concurrency=concurrency)  # type: ignore[arg-type]
    timing = Timing.of(app.settings.distributed.lead_timeout)
    try:
        async with queue.open_async():  # type: ignore[attr-defined]
            await queue.run_worker_async(  # type: ignore[attr-defined]
                concurrency=concurrency,
                queues=queues,  # None: every queue
                name=f"{socket.gethostname()}",
                additional_context={CONTEXT_KEY: ctx},
                update_heartbeat_interval=timing.heartbeat,
                stalled_worker_timeout=timing.stalled_after,
                fetch_job_polling_interval=1.0,
            )
    finally:
        await ctx.channels.aclose()  # kept SMTP sessions end with QUIT
    return 0
