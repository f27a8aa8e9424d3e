"""`zonewire sample-portal`: serve the bundled sample portal in the foreground.

With it, on a port of its own (``--site-port``, 8401), a sample zone website whose
articles the portal partly reposts later (:mod:`feeds.sample.site`). It prints both
base URLs and the ``sources:`` entries that point zonewire at them, so a quickstart
can crawl real HTTP servers with no network.
"""

from __future__ import annotations

import argparse
import threading
from collections.abc import Callable
from datetime import datetime

from feeds.models import CHINA_TZ
from feeds.sample import (
    DETAIL_PATTERN,
    LIST_PATH,
    SITE_DETAIL_PATTERN,
    SITE_LIST_PATH,
    SITE_ZONE,
    PortalServer,
    SamplePortal,
    serve_portal,
    serve_site,
)
from feeds.sample.site import SITE_EVERY
from notifier.app import App
from notifier.errors import UsageError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    parser.add_argument("--port", type=int, default=8400, help="port (8400; 0 picks a free one)")
    parser.add_argument(
        "--site-port", type=int, default=8401,
        help="port of the sample zone website (8401; 0 picks a free one)",
    )
    parser.add_argument("--no-site", action="store_true", help="serve the portal only")
    parser.add_argument("--articles", type=int, default=200,
                        help="portal articles to start with (200); the site has a third as many")
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


def sources_snippet(base_url: str, name: str = "sample", site_url: str | None = None) -> str:
    """The ``sources:`` YAML a config needs to crawl the sample portal at ``base_url``
    (and the sample zone website at ``site_url``)."""
    return "sources:\n" + portal_entry(base_url, name) + (
        site_entry(site_url) if site_url else ""
    )


def site_entry(base_url: str, name: str = "sample-site") -> str:
    """One ``sources:`` item crawling the sample zone website at ``base_url``."""
    return (
        f"  - name: {name}\n"
        "    type: site\n"
        f"    base_url: {base_url}\n"
        f'    list_urls: ["{SITE_LIST_PATH}"]\n'
        f"    detail_pattern: '{SITE_DETAIL_PATTERN}'\n"
        "    next_page_text: 下一页\n"
        f"    zone: {SITE_ZONE}\n"
        "    interval: 30m\n"
    )


def portal_entry(base_url: str, name: str = "sample") -> str:
    """One ``sources:`` item crawling the sample portal at ``base_url``."""
    return (
        f"  - name: {name}\n"
        "    type: portal\n"
        f"    base_url: {base_url}\n"
        f'    list_urls: ["{LIST_PATH.format(n=1)}"]\n'
        f"    detail_pattern: '{DETAIL_PATTERN}'\n"
        "    next_page_text: 下一页\n"
        "    interval: 10m\n"
    )


def _listen(start: Callable[[], PortalServer], host: str, port: int, option: str) -> PortalServer:
    try:
        return start()
    except OSError as exc:
        raise UsageError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc} "
            f"(pick another {option}, or 0 for a free one)"
        ) from None


def run(args: argparse.Namespace, app: App) -> int:
    if args.articles < 0:
        raise UsageError("--articles must be 0 or more")
    with_site = not args.no_site
    if args.fixed_dates:
        portal = SamplePortal(seed=args.seed, articles=args.articles, with_site=with_site)
    else:
        portal = SamplePortal.live(
            args.seed, args.articles, lambda: datetime.now(CHINA_TZ), with_site=with_site
        )
    server = _listen(lambda: serve_portal(portal, host=args.host, port=args.port),
                     args.host, args.port, "--port")
    site_server: PortalServer | None = None
    if portal.site is not None:
        site = portal.site
        try:
            site_server = _listen(
                lambda: serve_site(site, portal, host=args.host, port=args.site_port),
                args.host, args.site_port, "--site-port",
            )
        except UsageError:
            server.close()
            raise
    print(
        f"sample portal: {server.base_url}/ ({portal.articles} articles in "
        f"{len(portal.zones)} zones, {portal.list_pages()} list pages)",
        flush=True,
    )
    if site_server is not None and portal.site is not None:
        print(
            f"sample site: {site_server.base_url}/ ({portal.site.articles} articles of "
            f"{SITE_ZONE}, {len(portal.site.shared())} of them shared with the portal)",
            flush=True,
        )
    print("\npoint zonewire at it in config/zonewire.yaml:\n", flush=True)
    site_url = site_server.base_url if site_server is not None else None
    print(sources_snippet(server.base_url, site_url=site_url), flush=True)
    print("press Ctrl-C to stop", flush=True)
    stop = threading.Event()
    try:
        while not stop.wait(args.add_every if args.add_every > 0 else 3600):
            if args.add_every > 0:
                (page,) = portal.add_articles(1)
                print(f"published {server.base_url}{page.path} {page.text.title}", flush=True)
                if portal.site is not None and site_server is not None:
                    newest = portal.site.pages()[0]
                    if newest.number * SITE_EVERY == page.index:
                        print(f"published {site_server.base_url}{newest.path} "
                              f"{newest.text.title}", flush=True)
    except KeyboardInterrupt:
        pass
    finally:
        if site_server is not None:
            site_server.close()
        server.close()
    return 0
