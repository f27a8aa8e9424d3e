"""robots.txt per RFC 9309 against a local portal, counted on the server (issue 11).

``urllib.robotparser`` got each of these wrong: it knows no ``*`` or ``$`` and takes
the first matching rule, not the longest.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from feeds.models import CrawlPolicy, PortalSource
from feeds.regions import Gazetteer
from feeds.sources.poll import IngestReport
from feeds.storage import Storage
from tests.feeds.sources.conftest import TestServer, detail_path, poll

Policy = Callable[..., CrawlPolicy]


def _poll(server: TestServer, robots: str, store: Storage, gazetteer: Gazetteer,
          policy: CrawlPolicy, now: datetime, **changes: Any) -> IngestReport:
    """Serve ``robots`` as robots.txt, then poll the server's portal once."""
    server.routes["/robots.txt"] = server.Reply(
        body=robots.encode(), headers={"Content-Type": "text/plain"}
    )
    values: dict[str, Any] = {"name": "robots", "base_url": server.base_url,
                              "list_urls": ("/list/1",),
                              "detail_pattern": server.DETAIL_PATTERN}
    return poll(PortalSource(**{**values, **changes}), store, gazetteer, policy, now)


def test_wildcard_disallow_blocks_every_detail_page(
    server: TestServer, store: Storage, gazetteer: Gazetteer, now: datetime,
    fast_policy: Policy,
) -> None:
    server.mini_portal(6, per_page=6)
    report = _poll(server, "User-agent: *\nDisallow: /index.php/*/detail/\n",
                   store, gazetteer, fast_policy(), now)
    assert server.detail_paths() == []
    assert "/list/1" in server.paths()
    assert report.new == 0 and report.failed == 6
    assert all("disallowed by robots.txt" in error for error in report.errors)


def test_dollar_anchors_the_end_of_the_path(
    server: TestServer, store: Storage, gazetteer: Gazetteer, now: datetime,
    fast_policy: Policy,
) -> None:
    server.mini_portal(12, per_page=12)
    robots = "User-agent: zonewire\nDisallow: /*/id/1.html$\nDisallow: /*/id/2.htm$\n"
    report = _poll(server, robots, store, gazetteer, fast_policy(), now)
    fetched = set(server.detail_paths())
    assert detail_path(1) not in fetched  # ends exactly in /id/1.html
    assert detail_path(11) in fetched and detail_path(2) in fetched  # .html is not .htm$
    assert (report.new, report.failed) == (11, 1)


def test_longest_match_wins_and_allow_beats_a_shorter_disallow(
    server: TestServer, store: Storage, gazetteer: Gazetteer, now: datetime,
    fast_policy: Policy,
) -> None:
    ids = server.mini_portal(4, per_page=4)
    server.routes["/index.php/home/news/list.html"] = server.Reply(
        body=server.list_html([9], None).encode()
    )
    robots = ("User-agent: *\nDisallow: /index.php/home/news\n"
              "Allow: /index.php/home/news/detail\n")
    report = _poll(server, robots, store, gazetteer, fast_policy(), now,
                   list_urls=("/list/1", "/index.php/home/news/list.html"))
    assert sorted(server.detail_paths()) == sorted(detail_path(i) for i in ids)
    assert "/index.php/home/news/list.html" not in server.paths()
    assert report.new == 4


def test_crawl_delay_spaces_requests_when_longer_than_the_configured_delay(
    server: TestServer, store: Storage, gazetteer: Gazetteer, now: datetime,
    fast_policy: Policy,
) -> None:
    server.mini_portal(3, per_page=3)
    report = _poll(server, "User-agent: *\nCrawl-delay: 0.3\n", store, gazetteer,
                   fast_policy(per_host_concurrency=4), now)
    assert report.new == 3
    arrivals = sorted(r.at for r in server.log if r.path != "/robots.txt")
    span = arrivals[-1] - arrivals[0]
    print(f"4 requests after Crawl-delay: 0.3 spanned {span:.2f} s")
    # list page + three detail pages, 0.3 s apart: at least 0.9 s (less a little for
    # the server thread logging late).
    assert len(arrivals) == 4 and span >= 0.8
