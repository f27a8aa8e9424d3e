"""A zone website source is as confined and as polite as a portal (issue 11, issue 15):
only its own host and ``allowed_hosts`` are asked, robots.txt is obeyed.

Two real servers on 127.0.0.1 serve site-layout pages (tests/data/sites/layouts.py);
their request logs show where the crawler went.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from feeds.models import CHINA_TZ, CrawlPolicy, SiteSource
from feeds.regions import Gazetteer
from feeds.storage import Storage
from tests.data.sites.layouts import SitePage, h1_info
from tests.feeds.sources.conftest import TestServer, detail_path, poll

Policy = Callable[..., CrawlPolicy]


def page(n: int) -> bytes:
    return h1_info(SitePage(
        title=f"青岚湾园区第{n}批重点项目集中签约",
        published=datetime(2026, 11, n, tzinfo=CHINA_TZ),
        source="青岚湾经济发展局",
        paragraphs=(f"{n}日上午，园区举行重点项目集中签约仪式。", "签约项目涵盖新材料和智能装备。"),
        number=n,
    )).body


def source(server: TestServer, **changes: Any) -> SiteSource:
    values: dict[str, Any] = {
        "name": "qinglanwan", "base_url": server.base_url, "list_urls": ("/list/1",),
        "detail_pattern": server.DETAIL_PATTERN, "zone": "嘉兴市/青岚湾经济开发区",
    }
    return SiteSource(**{**values, **changes})


def _stage(server: TestServer, other: TestServer) -> None:
    """The site lists its own article 1 and article 2 on another host."""
    body = server.list_html([1], None).replace(
        "</ul>", f'<li><a href="{other.url(detail_path(2))}">2</a></li></ul>'
    )
    server.routes["/list/1"] = server.Reply(body=body.encode())
    server.routes[detail_path(1)] = server.Reply(body=page(1))
    other.routes[detail_path(2)] = other.Reply(body=page(2))


def test_a_site_source_never_asks_another_host(
    server: TestServer, other: TestServer, store: Storage, gazetteer: Gazetteer,
    now: datetime, fast_policy: Policy,
) -> None:
    _stage(server, other)
    report = poll(source(server), store, gazetteer, fast_policy(), now)
    assert other.paths() == []
    assert report.new == 1
    (article,) = store.iter_articles()
    assert article.url == server.url(detail_path(1))
    assert (article.title, article.source, article.zone) == (
        "青岚湾园区第1批重点项目集中签约", "青岚湾经济发展局", "青岚湾经济开发区")


def test_allowed_hosts_open_another_host_to_a_site_source(
    server: TestServer, other: TestServer, store: Storage, gazetteer: Gazetteer,
    now: datetime, fast_policy: Policy,
) -> None:
    _stage(server, other)
    host = other.base_url.removeprefix("http://")
    report = poll(source(server, allowed_hosts=(host,)), store, gazetteer, fast_policy(), now)
    assert report.new == 2 and report.failed == 0
    assert detail_path(2) in other.paths()
    assert {a.zone for a in store.iter_articles()} == {"青岚湾经济开发区"}


def test_robots_txt_binds_a_site_source(
    server: TestServer, store: Storage, gazetteer: Gazetteer, now: datetime,
    fast_policy: Policy,
) -> None:
    server.routes["/robots.txt"] = server.Reply(
        body=b"User-agent: *\nDisallow: /index.php/home/news/detail/id/2.html\n",
        headers={"Content-Type": "text/plain"},
    )
    server.routes["/list/1"] = server.Reply(body=server.list_html([1, 2], None).encode())
    for n in (1, 2):
        server.routes[detail_path(n)] = server.Reply(body=page(n))
    report = poll(source(server), store, gazetteer, fast_policy(), now)
    assert detail_path(2) not in server.paths()
    assert report.new == 1 and report.failed == 1
    assert "disallowed by robots.txt" in report.errors[0]
