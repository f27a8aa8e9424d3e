"""Upstream feeds with hostile items: each item stands alone (SPEC §5, issue 10).

One broken item (a lone surrogate, a character XML forbids, an absurd date, no
link) is reported with its URL or position and skipped; every other item is stored
in a real store (SQLite and PostgreSQL).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feeds.intake import Ingestor
from feeds.models import CrawlPolicy, FeedSource
from feeds.regions import Gazetteer
from feeds.sources.feed import parse_feed
from feeds.storage import Storage
from tests.feeds.sources.conftest import poll

Policy = Callable[..., CrawlPolicy]
GOOD_DATE = "Tue, 05 Mar 2024 09:30:00 +0800"
BAD_DATES = ["Fri, 31 Dec 9999 23:00:00 +0800", "Mon, 01 Jan 1900 00:00:00 +0000",
             "Sun, 31 Dec 1989 12:00:00 +0800"]


def rss(items: list[str]) -> str:
    return ('<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
            "<title>嘉兴港区动态</title><link>https://example.org/</link>"
            + "".join(items) + "</channel></rss>")


def item(title: str, link: str | None, date: str = GOOD_DATE, body: str = "正文") -> str:
    link_xml = f"<link>{link}</link>" if link else ""
    return (f"<item><title>{title}</title>{link_xml}<pubDate>{date}</pubDate>"
            f"<description>{body}</description></item>")


def test_a_hostile_feed_over_http_keeps_its_good_items(
    server: Any, store: Storage, gazetteer: Gazetteer, now: datetime, fast_policy: Policy
) -> None:
    body = rss([
        item("港区新材料项目签约", "https://example.org/news/1.html"),
        item("港区\x01\x00新闻&#xD800;&#0;", "https://example.org/news/2.html",
             body="&lt;p&gt;坏&amp;#xDC00;字&lt;/p&gt;"),
        item("九九九九年", "https://example.org/news/3.html", date=BAD_DATES[0]),
        item("没有链接", None),
        item("港区企业服务日", "https://example.org/news/5.html"),
    ]).encode()
    server.routes["/feed.xml"] = server.Reply(
        body=body, headers={"Content-Type": "application/rss+xml; charset=utf-8"}
    )
    source = FeedSource(name="upstream", url=server.url("/feed.xml"), region="嘉兴",
                        zone="嘉兴港区")
    report = poll(source, store, gazetteer, fast_policy(), now)
    assert (report.new, report.failed) == (3, 2)
    assert any(e.startswith("https://example.org/news/3.html: 'published' 9999-12-31")
               for e in report.errors)
    assert any(e.startswith(f"{server.url('/feed.xml')} entry 4: entry has no link")
               for e in report.errors)
    hostile = store.get("https://example.org/news/2.html")
    assert hostile is not None
    assert hostile.title == "港区新闻\ufffd"  # controls dropped, the surrogate marked
    assert hostile.content == "<p>坏&#xfffd;字</p>"  # HTML: the reference is harmless
    assert store.get("https://example.org/news/3.html") is None
    # The year-9999 item is not first in the feeds: the newest is a real one.
    assert store.latest(None, 1)[0].published.year == 2024


# -- property: arbitrary hostile item text ---------------------------------------------

#: What a hostile feed puts in item text, beyond arbitrary characters.
NASTY = st.sampled_from([
    "\x00", "\x01", "\x0b", "\x1f", "&#xD800;", "&#xdfff;", "&#0;", "&#1;", "&#xFFFE;",
    "&#99999999999;", "&#x110000;", "&amp;#xD800;", "&amp;#0;", "&lt;b&gt;", "&amp;",
    "&lt;script&gt;x&lt;/script&gt;", "\ufffd", "😀", "\u3000",
])
SEGMENT = st.one_of(st.text(max_size=8).map(escape), NASTY)
HOSTILE = st.lists(SEGMENT, max_size=6).map("".join)
_examples = itertools.count(1)


@dataclass(frozen=True)
class Spec:
    title: str
    body: str
    flaw: str | None  # None, "date" or "link"
    date: str = GOOD_DATE


@st.composite
def specs(draw: st.DrawFn) -> Spec:
    flaw = draw(st.sampled_from([None, None, None, "date", "link"]))
    date = draw(st.sampled_from(BAD_DATES)) if flaw == "date" else GOOD_DATE
    return Spec("标题" + draw(HOSTILE), draw(HOSTILE), flaw, date)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(items=st.lists(specs(), min_size=1, max_size=8))
def test_every_good_feed_item_is_stored_and_every_bad_one_reported(
    store: Storage, gazetteer: Gazetteer, now: datetime, items: list[Spec]
) -> None:
    example = next(_examples)
    feed_url = f"https://example.org/{example}/feed.xml"
    links = [f"https://example.org/{example}/news/{n}.html" for n in range(1, len(items) + 1)]
    body = rss([item(s.title, None if s.flaw == "link" else link, s.date, s.body)
                for s, link in zip(items, links, strict=True)])
    source = FeedSource(name="upstream", url=feed_url, region="嘉兴", zone="嘉兴港区")

    records, failures = parse_feed(body.encode(), source, now=now)
    rejected: dict[str, str] = {}
    counts = Ingestor(store, gazetteer).add(records, now=now, on_reject=rejected.__setitem__)

    expected_bad = {
        (link if s.flaw == "date" else f"{feed_url} entry {n}")
        for n, (s, link) in enumerate(zip(items, links, strict=True), start=1) if s.flaw
    }
    assert {f.url for f in failures} | set(rejected) == expected_bad
    good = [link for s, link in zip(items, links, strict=True) if s.flaw is None]
    assert counts.inserted == len(good)
    for link in good:
        stored = store.get(link)
        assert stored is not None
        assert stored.title.startswith("标题")
        stored.title.encode("utf-8")  # valid Unicode, so it hashes, stores and publishes
