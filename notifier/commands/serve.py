"""`zonewire serve [--host H] [--port P]`: the output directory over HTTP."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from starlette.routing import BaseRoute

from feeds.web import create_app
from notifier.app import App

#: Routes other parts add (unsubscribe, metrics), as "module:function" returning a
#: list of Starlette routes for an App; kept here so serve.py needs no edit per part.
ROUTES: list[str] = []


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", help="address to listen on (default: serve.host, 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (default: serve.port, 8080; 0 = any free)")


def extra_routes(app: App) -> Sequence[BaseRoute]:
    import importlib

    routes: list[BaseRoute] = []
    for spec in ROUTES:
        module, _, function = spec.partition(":")
        routes.extend(getattr(importlib.import_module(module), function)(app))
    return routes


def run(args: argparse.Namespace, app: App) -> int:
    import uvicorn

    settings = app.settings
    host = args.host or settings.serve.host
    port = settings.serve.port if args.port is None else args.port
    output = settings.feeds.output_dir
    web = create_app(output, extra_routes=extra_routes(app))
    shown = f"[{host}]" if ":" in host else host
    base = f"http://{shown}:{port}/"
    print(f"serving {output}/ on {base}")
    print(f"  index: {base}  all articles: {base}feeds/all.atom  OPML: {base}feeds.opml")
    print(f"  health: {base}healthz  (public_url in config: {settings.public_url})")
    if not (output / "index.html").exists():
        print("  note: no index.html yet; run `zonewire feeds build`")
    uvicorn.run(web, host=host, port=port, log_level="warning", access_log=False)
    return 0
