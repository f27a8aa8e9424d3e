"""`zonewire serve [--host H] [--port P]`: feeds, index, OPML and unsubscribe over HTTP.

The same app as the one ``zonewire run`` serves. ``/metrics`` (the store's gauges;
no worker runs here, so no worker counters) is on its own listener,
``serve.metrics_host:serve.metrics_port`` (127.0.0.1:9108 by default), never on the
public port. In distributed mode (SPEC §11) the feeds come from the database, so
any number of servers answer alike. Edits to the configuration files are picked up
on the next request (a stat per request; the files are re-read only when they
changed).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

from notifier.app import App
from notifier.metrics import Metrics
from notifier.reload import ConfigHolder, WatchedConfig
from notifier.web import build_web_app, listen, serve_listeners


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", help="address to listen on (default: serve.host, 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (default: serve.port, 8080; 0 = any free)")


def run(args: argparse.Namespace, app: App) -> int:
    holder = ConfigHolder(app.config_file, lambda: app.gazetteer, settings=None)
    settings = app.settings = holder.settings
    app.signer(settings)  # a key that cannot sign is refused now, not at the first click
    host = args.host or settings.serve.host
    port = settings.serve.port if args.port is None else args.port
    public = listen(host, port)
    web = build_web_app(app, WatchedConfig(holder))
    output = settings.feeds.output_dir

    distributed = settings.mode == "distributed"

    def started(base: str, metrics_url: str | None) -> None:
        where = "the feeds stored in the database" if distributed else f"{output}/"
        print(f"serving {where} on {base}")
        print(f"  index: {base}  all articles: {base}feeds/all.atom  OPML: {base}feeds.opml")
        metrics = metrics_url or "off"
        print(f"  health: {base}healthz  metrics: {metrics}  (public_url: {settings.public_url})")
        if distributed:
            if app.store.documents.get("index.html") is None:
                print("  note: no index.html stored yet; a worker builds the feeds")
        elif not (output / "index.html").exists():
            print("  note: no index.html yet; run `zonewire feeds build`")
        sys.stdout.flush()

    async def main() -> None:
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stopping.set)
        await serve_listeners(web, public, Metrics(app.store), settings.serve.metrics_host,
                              settings.serve.metrics_port, stopping, started)

    asyncio.run(main())
    return 0
