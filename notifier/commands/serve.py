"""`zonewire serve [--host H] [--port P]`: feeds, index, OPML and unsubscribe over HTTP.

The same app as the one ``zonewire run`` serves; its ``/metrics`` has the store's
gauges but not the worker's counters (no worker runs here).
"""

from __future__ import annotations

import argparse

from notifier.app import App
from notifier.web import build_web_app


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", help="address to listen on (default: serve.host, 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (default: serve.port, 8080; 0 = any free)")


def run(args: argparse.Namespace, app: App) -> int:
    import uvicorn

    settings = app.settings
    host = args.host or settings.serve.host
    port = settings.serve.port if args.port is None else args.port
    output = settings.feeds.output_dir
    web = build_web_app(app)  # feeds and index, unsubscribe pages, /metrics
    shown = f"[{host}]" if ":" in host else host
    base = f"http://{shown}:{port}/"
    print(f"serving {output}/ on {base}")
    print(f"  index: {base}  all articles: {base}feeds/all.atom  OPML: {base}feeds.opml")
    print(f"  health: {base}healthz  metrics: {base}metrics  (public_url: {settings.public_url})")
    if not (output / "index.html").exists():
        print("  note: no index.html yet; run `zonewire feeds build`")
    uvicorn.run(web, host=host, port=port, log_level="warning", access_log=False)
    return 0
