"""`zonewire run [--once]`: the scheduled worker (SPEC §9)."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import sys
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from notifier.app import App
from notifier.lock import WorkerLock
from notifier.reload import ConfigHolder
from notifier.worker import Worker

log = logging.getLogger("zonewire.run")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--once",
        action="store_true",
        help="one full cycle (ingest, rebuild feeds, send due digests, retry), then exit",
    )
    parser.add_argument(
        "--no-serve",
        dest="serve",
        action="store_false",
        help="do not serve feeds, unsubscribe and /metrics over HTTP in this process",
    )
    parser.add_argument("--host", help="HTTP address (default: serve.host)")
    parser.add_argument("--port", type=int, help="HTTP port (default: serve.port)")
    parser.add_argument(
        "--wait",
        action="store_true",
        help="if another worker holds the store, wait for it instead of exiting",
    )


def run(args: argparse.Namespace, app: App) -> int:
    holder = ConfigHolder(app.config_file, lambda: app.gazetteer, settings=None)
    app.settings = holder.settings
    lock = WorkerLock(app.store.worker_lock())
    lock.acquire(
        wait=args.wait,
        on_wait=lambda: print(
            f"zonewire: another worker is running on {lock.where}{lock.held_by()}; "
            "waiting for it to stop",
            file=sys.stderr,
        ),
    )
    try:
        worker = Worker(app, holder)
        worker.lock = lock
        if args.once:
            report = asyncio.run(worker.cycle())
            for line in report.lines():
                print(line)
            return 0 if report.ok else 1
        return asyncio.run(_forever(worker, args))
    finally:
        lock.release()


async def _forever(worker: Worker, args: argparse.Namespace) -> int:
    from notifier.scheduler import Service, serve_forever

    # The worker's blocking steps (planning, rendering, store calls, extraction) run in
    # threads. On CPython they take turns with the event loop for the GIL, so more
    # threads than cores only lengthen the loop's waits: two keep the HTTP side quick
    # while a fan-out, a crawl and a feed build go on.
    sys.setswitchinterval(0.001)
    # What is loaded by now (configuration, subscribers and their match index,
    # gazetteer) lives as long as the process: frozen, the cyclic collector stops
    # walking it at every full collection, which otherwise holds the GIL (and so the
    # HTTP side) for a pause that grows with the number of subscribers.
    worker.holder.matching()
    gc.collect()
    gc.freeze()
    asyncio.get_running_loop().set_default_executor(
        ThreadPoolExecutor(max_workers=2, thread_name_prefix="zonewire-work")
    )
    service = Service(worker)
    extra = []
    if args.serve:
        from notifier.web import http_server

        settings = worker.settings
        host = args.host or settings.serve.host
        port = settings.serve.port if args.port is None else args.port
        extra.append(http_server(worker, host, port))
    extra.append(_lock_watch(worker))
    log.info(
        "worker started: %d sources, %d subscribers",
        len(worker.sources()),
        len(worker.holder.subscriptions.subscribers),
    )
    await serve_forever(service, extra)
    if worker.lock_lost is not None:
        log.error("worker stopped: %s", worker.lock_lost)
        return 1
    log.info("worker stopped")
    return 0


def _lock_watch(worker: Worker) -> Callable[[asyncio.Event], Coroutine[Any, Any, None]]:
    """A task that stops the worker (exit 1) when it no longer holds the store's lock."""
    from notifier.lock import watch

    async def run(stopping: asyncio.Event) -> None:
        lock = worker.lock
        if lock is None:
            return

        def lost(reason: str) -> None:
            worker.lock_lost = f"lost the worker lock on {lock.where}: {reason}"
            log.error("%s; stopping: no more digests are sent by this worker",
                      worker.lock_lost)
            stopping.set()

        await watch(lock, stopping, lost)

    return run
