"""One bad page never costs the poll (issue 10): over real HTTP into real stores.

A portal whose list links to good articles, to a page nested 5,000 levels deep, to
a page whose date the ingest path refuses and to a page of binary noise: every good
article is stored, each bad page is reported with its URL, the next poll works.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from feeds.models import CrawlPolicy, PortalSource
from feeds.regions import Gazetteer
from feeds.storage import Storage
from tests.feeds.sources.conftest import poll

Policy = Callable[..., CrawlPolicy]

DEEP = 101
FUTURE = 102
NOISE = 103


def _hostile_portal(server: Any) -> list[int]:
    good = [1, 2, 3, 4]
    ids = [good[0], DEEP, good[1], FUTURE, good[2], NOISE, good[3]]
    server.routes["/list/1"] = server.Reply(body=server.list_html(ids, None).encode())
    for n in good:
        server.routes[server.detail_path(n)] = server.Reply(body=server.article_html(n).encode())
    # An article page, with its labels, wrapped 5,000 levels deep.
    deep = server.article_html(DEEP).replace(
        '<div class="crumb">', "<div>" * 5000 + '<div class="crumb">', 1
    ).replace("</body>", "</div>" * 5000 + "</body>")
    server.routes[server.detail_path(DEEP)] = server.Reply(body=deep.encode())
    future = server.article_html(FUTURE, date="2150-01-01")
    server.routes[server.detail_path(FUTURE)] = server.Reply(body=future.encode())
    noise = bytes(range(256)) * 40 + b"<div>" * 3000 + b"\xff\xfe\xed\x80" * 500
    server.routes[server.detail_path(NOISE)] = server.Reply(
        body=noise, headers={"Content-Type": "text/html; charset=gb2312"}
    )
    return good


def test_bad_pages_are_reported_and_the_good_ones_stored(
    server: Any, store: Storage, gazetteer: Gazetteer, now: datetime,
    fast_policy: Policy,
) -> None:
    good = _hostile_portal(server)
    source = PortalSource(name="hostile", base_url=server.base_url, list_urls=("/list/1",),
                          detail_pattern=server.DETAIL_PATTERN)
    report = poll(source, store, gazetteer, fast_policy(), now)

    assert report.result == "partial"
    stored = {a.url for a in store.iter_articles()}
    assert {server.url(server.detail_path(n)) for n in good} <= stored
    assert server.url(server.detail_path(FUTURE)) not in stored
    assert server.url(server.detail_path(NOISE)) not in stored
    errors = "\n".join(report.errors)
    print(errors)
    # The date the ingest path refuses is a failed page with its URL, not a crash.
    assert f"{server.url(server.detail_path(FUTURE))}: " in errors
    assert "2150" in errors
    assert f"{server.url(server.detail_path(NOISE))}: " in errors
    # The deep page is read (nesting is capped, its text kept) or reported: never fatal.
    deep_url = server.url(server.detail_path(DEEP))
    assert deep_url in stored or f"{deep_url}: " in errors

    state = store.sources.get("hostile")
    assert state.last_result == "partial" and state.backfill_done

    # The next poll works and asks for no page it already has or knows to be bad.
    server.log.clear()
    server.routes["/list/1"] = server.Reply(
        body=server.list_html([5, *good], None).encode()
    )
    server.routes[server.detail_path(5)] = server.Reply(body=server.article_html(5).encode())
    again = poll(source, store, gazetteer, fast_policy(), now + timedelta(minutes=10))
    assert (again.result, again.new, again.failed) == ("ok", 1, 0)
    assert server.detail_paths() == [server.detail_path(5)]


def test_a_page_nested_5000_levels_deep_is_still_read(
    server: Any, store: Storage, gazetteer: Gazetteer, now: datetime,
    fast_policy: Policy,
) -> None:
    _hostile_portal(server)
    server.routes["/list/1"] = server.Reply(body=server.list_html([DEEP], None).encode())
    source = PortalSource(name="deep", base_url=server.base_url, list_urls=("/list/1",),
                          detail_pattern=server.DETAIL_PATTERN)
    report = poll(source, store, gazetteer, fast_policy(), now)
    assert (report.result, report.new) == ("ok", 1), report.errors
    article = store.get(server.url(server.detail_path(DEEP)))
    assert article is not None and article.title == f"第{DEEP}号智能装备项目在嘉兴港区开工"
    assert "十亿元" in article.content
