"""`zonewire sample-portal`: serve the bundled sample portal in the foreground.

It prints its base URL and the ``sources:`` entry that points zonewire at it, so a
quickstart can crawl a real HTTP server with no network.
"""

from __future__ import annotations

import argparse
import threading
from datetime import datetime

from feeds.models import CHINA_TZ
from feeds.sample import DETAIL_PATTERN, LIST_PATH, SamplePortal, serve_portal
from notifier.app import App
from notifier.errors import UsageError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    parser.add_argument("--port", type=int, default=8400, help="port (8400; 0 picks a free one)")
    parser.add_argument("--articles", type=int, default=200, help="articles to start with (200)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the generated text (1)")
    parser.add_argument(
        "--add-every", metavar="SECONDS", type=float, default=0.0,
        help="publish one new article every SECONDS (default: never), to watch news arrive",
    )
    parser.add_argument(
        "--fixed-dates", action="store_true",
        help="date articles from 2023 on, the same every run (default: ending today, and "
        "articles added later are published when they appear)",
    )


def sources_snippet(base_url: str, name: str = "sample") -> str:
    """The ``sources:`` YAML a config needs to crawl the sample portal at ``base_url``."""
    return (
        "sources:\n"
        f"  - name: {name}\n"
        "    type: portal\n"
        f"    base_url: {base_url}\n"
        f'    list_urls: ["{LIST_PATH.format(n=1)}"]\n'
        f"    detail_pattern: '{DETAIL_PATTERN}'\n"
        "    next_page_text: 下一页\n"
        "    interval: 10m\n"
    )


def run(args: argparse.Namespace, app: App) -> int:
    if args.articles < 0:
        raise UsageError("--articles must be 0 or more")
    if args.fixed_dates:
        portal = SamplePortal(seed=args.seed, articles=args.articles)
    else:
        portal = SamplePortal.live(args.seed, args.articles, lambda: datetime.now(CHINA_TZ))
    try:
        server = serve_portal(portal, host=args.host, port=args.port)
    except OSError as exc:
        raise UsageError(
            f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc} "
            "(pick another --port, or 0 for a free one)"
        ) from None
    print(
        f"sample portal: {server.base_url}/ ({portal.articles} articles in "
        f"{len(portal.zones)} zones, {portal.list_pages()} list pages)",
        flush=True,
    )
    print("\npoint zonewire at it in config/zonewire.yaml:\n", flush=True)
    print(sources_snippet(server.base_url), flush=True)
    print("press Ctrl-C to stop", flush=True)
    stop = threading.Event()
    try:
        while not stop.wait(args.add_every if args.add_every > 0 else 3600):
            if args.add_every > 0:
                (page,) = portal.add_articles(1)
                print(f"published {server.base_url}{page.path} {page.text.title}", flush=True)
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
    return 0
