"""`zonewire run [--once]`: the scheduled worker (SPEC §9)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

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
    lock = WorkerLock(app.store.engine)
    lock.acquire(
        wait=args.wait,
        on_wait=lambda: print(
            f"zonewire: another worker is running on {lock.where}; waiting for it to stop",
            file=sys.stderr,
        ),
    )
    try:
        worker = Worker(app, holder)
        if args.once:
            report = asyncio.run(worker.cycle())
            for line in report.lines():
                print(line)
            return 0 if report.ok else 1
        return asyncio.run(_forever(worker, args))
    finally:
        lock.release()


async def _forever(worker: Worker, args: argparse.Namespace) -> int:
    from notifier.schedule import Service, serve_forever

    service = Service(worker)
    extra = []
    if args.serve:
        from notifier.web import http_server

        settings = worker.settings
        host = args.host or settings.serve.host
        port = settings.serve.port if args.port is None else args.port
        extra.append(http_server(worker, host, port))
    log.info(
        "worker started: %d sources, %d subscribers",
        len(worker.sources()),
        len(worker.holder.subscriptions.subscribers),
    )
    await serve_forever(service, extra)
    log.info("worker stopped")
    return 0
