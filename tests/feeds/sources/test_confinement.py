"""Only the portal's own host, and hosts in ``allowed_hosts``, are ever asked (issue 11).

Two real servers on 127.0.0.1: the portal, and "another host" on another port. The
other server's request log shows whether the crawler ever went there.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest

from feeds.models import CrawlPolicy, PortalSource
from feeds.regions import Gazetteer
from feeds.sources.fetch import Fetcher, OffHost
from feeds.storage import Storage
from tests.feeds.sources.conftest import TestServer, detail_path, poll

Policy = Callable[..., CrawlPolicy]


def _stage(server: TestServer, other: TestServer) -> None:
    """The portal's list links to its own article 1, to article 2 on the other host,
    to its own article 3 that redirects there, and its 下一页 leads there too."""
    body = server.list_html([1, 3], None).replace(
        "</ul>",
        f'<li><a href="{other.url(detail_path(2))}">2</a></li></ul>'
        f'<a href="{other.url("/list/2")}">下一页</a>',
    )
    server.routes["/list/1"] = server.Reply(body=body.encode())
    server.routes[detail_path(1)] = server.Reply(body=server.article_html(1).encode())
    server.routes[detail_path(3)] = server.Reply(
        302, headers={"Location": other.url(detail_path(3))}
    )
    for n in (2, 3):
        other.routes[detail_path(n)] = other.Reply(
            body=other.article_html(n, zone="平湖经济技术开发区").encode()
        )
    other.routes["/list/2"] = other.Reply(body=other.list_html([4], None).encode())
    other.routes[detail_path(4)] = other.Reply(body=other.article_html(4).encode())


def _source(server: TestServer, **changes: Any) -> PortalSource:
    return PortalSource(name="confined", base_url=server.base_url, list_urls=("/list/1",),
                        detail_pattern=server.DETAIL_PATTERN, **changes)


def test_links_and_redirects_to_another_host_are_never_followed(
    server: TestServer, other: TestServer, store: Storage, gazetteer: Gazetteer,
    now: datetime, fast_policy: Policy,
) -> None:
    _stage(server, other)
    report = poll(_source(server), store, gazetteer, fast_policy(), now)

    assert other.log == []  # not one request, not even robots.txt
    assert report.new == 1 and store.get(server.url(detail_path(1))) is not None
    # The redirected page is a failed page with a clear reason; nothing is stored under
    # the portal's URL with the other host's content.
    assert store.get(server.url(detail_path(3))) is None
    other_host = other.base_url.removeprefix("http://")
    assert (f"{server.url(detail_path(3))}: redirected to other host {other_host}, "
            "not in allowed_hosts") in report.errors
    assert store.count() == 1


def test_allowed_hosts_lets_the_other_host_through(
    server: TestServer, other: TestServer, store: Storage, gazetteer: Gazetteer,
    now: datetime, fast_policy: Policy,
) -> None:
    _stage(server, other)
    other_host = other.base_url.removeprefix("http://")
    report = poll(_source(server, allowed_hosts=(other_host,)), store, gazetteer,
                  fast_policy(), now)
    assert (report.result, report.failed) == ("ok", 0), report.errors
    assert {p for p in other.paths()} >= {detail_path(2), detail_path(3), "/list/2",
                                          detail_path(4), "/robots.txt"}
    for n in (1, 2, 3, 4):
        assert store.get((server if n in (1, 3) else other).url(detail_path(n))) is not None
    # The redirected article is stored under the link the portal gave.
    article = store.get(server.url(detail_path(3)))
    assert article is not None and article.zone == "平湖经济技术开发区"


def test_fetcher_refuses_an_other_host_before_asking(
    server: TestServer, other: TestServer, fast_policy: Policy
) -> None:
    hosts = {server.base_url.removeprefix("http://")}

    async def main() -> None:
        async with Fetcher(fast_policy()) as fetcher:
            with pytest.raises(OffHost, match="not the source's host"):
                await fetcher.get(other.url("/x"), hosts=hosts)

    asyncio.run(main())
    assert other.log == []
