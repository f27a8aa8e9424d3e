"""Upstream RSS/Atom feeds as a source, served over real HTTP, stored in a real store."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from feeds.models import CHINA_TZ, CrawlPolicy, FeedSource
from feeds.regions import Gazetteer
from feeds.sources.feed import parse_feed
from feeds.storage import Storage
from tests.feeds.sources.conftest import poll

Policy = Callable[..., CrawlPolicy]

RSS = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>嘉兴港区动态</title><link>https://example.org/</link>
<description>港区新闻</description>
<item><title>港区新材料项目签约</title><link>https://example.org/news/2.html?utm_source=rss</link>
<pubDate>Tue, 05 Mar 2024 09:30:00 +0800</pubDate><category>招商引资</category>
<description>&lt;p&gt;一个新材料项目在港区签约。&lt;/p&gt;</description></item>
<item><title>港区举办企业服务日</title><link>https://example.org/news/1.html</link>
<pubDate>Mon, 04 Mar 2024 08:00:00 +0800</pubDate>
<description>服务日活动为企业解决难题。</description></item>
</channel></rss>"""

ATOM_GBK = """<?xml version="1.0" encoding="gbk"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>园区公告</title><id>urn:x</id>
<updated>2024-03-05T10:00:00+08:00</updated>
<entry><title>园区公告一则</title><id>urn:y</id><link href="https://example.org/a/9"/>
<updated>2024-03-05T10:00:00+08:00</updated>
<content type="html">&lt;p&gt;公告正文。&lt;/p&gt;</content>
</entry></feed>""".encode("gbk")


def feed_source(server: Any, **changes: Any) -> FeedSource:
    values: dict[str, Any] = {"name": "upstream", "url": server.url("/feed.xml"),
                              "region": "嘉兴", "zone": "嘉兴港区"}
    values.update(changes)
    return FeedSource(**values)


def test_feed_items_are_stored_with_the_configured_region(
    server: Any, store: Storage, gazetteer: Gazetteer, now: datetime, fast_policy: Policy
) -> None:
    server.routes["/feed.xml"] = server.Reply(
        body=RSS.encode(), headers={"Content-Type": "application/rss+xml; charset=utf-8"}
    )
    report = poll(feed_source(server), store, gazetteer, fast_policy(), now)
    assert (report.result, report.new, report.failed, report.backfill) == ("ok", 2, 0, True)
    article = store.get("https://example.org/news/2.html")  # tracking parameter dropped
    assert article is not None
    assert article.title == "港区新材料项目签约"
    assert article.published == datetime(2024, 3, 5, 9, 30, tzinfo=CHINA_TZ)
    assert (article.region, article.zone, article.category) == ("嘉兴", "嘉兴港区", "招商引资")
    assert "新材料项目" in article.content
    assert article.source == "嘉兴港区动态"
    jiaxing = gazetteer.resolve("嘉兴")
    assert jiaxing.key in article.region_keys  # type: ignore[union-attr]
    assert article.region_keys[0].startswith("zone-")  # filed under the zone


def test_feed_second_poll_is_conditional_and_later_items_are_not_backfill(
    server: Any, store: Storage, gazetteer: Gazetteer, now: datetime, fast_policy: Policy
) -> None:
    state = {"body": RSS, "etag": '"f1"'}

    def feed(req: Any) -> Any:
        if req.headers.get("if-none-match") == state["etag"]:
            return server.Reply(304)
        return server.Reply(body=state["body"].encode(), headers={"ETag": state["etag"]})

    server.routes["/feed.xml"] = feed
    poll(feed_source(server), store, gazetteer, fast_policy(), now)
    second = poll(feed_source(server), store, gazetteer, fast_policy(), now + timedelta(hours=1))
    assert (second.result, second.new) == ("unchanged", 0)
    assert server.log[-1].headers.get("if-none-match") == '"f1"'
    state["body"] = RSS.replace("<item>", """<item><title>港区第三条</title>
<link>https://example.org/news/3.html</link><pubDate>Wed, 06 Mar 2024 08:00:00 +0800</pubDate>
<description>第三条正文。</description></item><item>""", 1)
    state["etag"] = '"f2"'
    third = poll(feed_source(server), store, gazetteer, fast_policy(), now + timedelta(hours=2))
    assert (third.result, third.new, third.unchanged, third.backfill) == ("ok", 1, 2, False)
    fresh = store.get("https://example.org/news/3.html")
    assert fresh is not None and not fresh.backfill


def test_gbk_atom_feed_decodes() -> None:
    source = FeedSource(name="gbk", url="https://example.org/atom", region="西城区")
    records, failures = parse_feed(ATOM_GBK, source, now=datetime(2024, 3, 6, tzinfo=UTC))
    assert failures == []
    assert [(r.title, r.region, r.url) for r in records] == [
        ("园区公告一则", "西城区", "https://example.org/a/9")
    ]
    assert records[0].published == datetime(2024, 3, 5, 2, 0, tzinfo=UTC)


def test_a_page_that_is_not_a_feed_fails_the_poll(
    server: Any, store: Storage, gazetteer: Gazetteer, now: datetime, fast_policy: Policy
) -> None:
    server.routes["/feed.xml"] = server.Reply(body="<html><body>维护中".encode())
    report = poll(feed_source(server), store, gazetteer, fast_policy(), now)
    assert (report.result, report.failed, report.new) == ("failed", 1, 0)
    assert "not an RSS or Atom feed" in report.errors[0]
    assert [p.kind for p in report.problems] == ["failing"]


def test_entry_without_link_is_reported_others_kept() -> None:
    body = RSS.replace("<link>https://example.org/news/1.html</link>", "").encode()
    source = FeedSource(name="x", url="https://example.org/rss", region="嘉兴")
    records, failures = parse_feed(body, source, now=datetime(2024, 3, 6, tzinfo=UTC))
    assert [r.title for r in records] == ["港区新材料项目签约"]
    assert len(failures) == 1 and "no link" in failures[0].reason
