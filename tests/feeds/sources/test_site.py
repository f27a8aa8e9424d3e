"""Crawling zone websites (SPEC §1 ``type: site``, issue 15) over real HTTP into a real
store (SQLite and PostgreSQL): the portal crawler's walk with the site page reading,
every article placed in the source's zone or region.

The sample zone website (:mod:`feeds.sample.site`) knows the truth of every page it
serves; its request log shows what the crawler asked for.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from feeds.models import CrawlPolicy, SiteSource
from feeds.regions import Gazetteer, zone_key
from feeds.sample import (
    SITE_DETAIL_PATTERN,
    SITE_LIST_PATH,
    SITE_ZONE,
    SamplePortal,
    SampleSite,
)
from feeds.storage import Storage
from tests.feeds.sources.conftest import poll, serving_portal_and_site

Policy = Callable[..., CrawlPolicy]
FIELDS = ("url", "title", "published", "source", "zone", "region", "content")
JIAXING = "330400"  # 嘉兴市


@pytest.fixture
def portal() -> Iterator[SamplePortal]:
    with serving_portal_and_site(seed=3, articles=60) as sample:
        yield sample


@pytest.fixture
def site(portal: SamplePortal) -> SampleSite:
    assert portal.site is not None
    return portal.site


def site_source(site: SampleSite, **changes: Any) -> SiteSource:
    values: dict[str, Any] = {
        "name": "zone-site",
        "base_url": site.base_url,
        "list_urls": (SITE_LIST_PATH,),
        "detail_pattern": SITE_DETAIL_PATTERN,
        "zone": SITE_ZONE,
    }
    values.update(changes)
    return SiteSource(**values)


def test_site_crawl_stores_every_article_in_the_sources_zone(
    site: SampleSite, store: Storage, gazetteer: Gazetteer, now: datetime,
    fast_policy: Policy,
) -> None:
    report = poll(site_source(site), store, gazetteer, fast_policy(), now)
    truth = site.records()
    assert len(truth) == 20 and site.list_pages() == 2
    assert (report.result, report.new, report.failed, report.backfill) == ("ok", 20, 0, True)
    assert report.pages_fetched == 2 + 20  # two list pages (下一页 followed), twenty articles
    assert store.count() == 20
    for want in truth:
        got = store.get(want.url)
        assert got is not None, want.url
        assert {f: getattr(got, f) for f in FIELDS} == {f: getattr(want, f) for f in FIELDS}
        assert got.source_name == "zone-site" and got.backfill
        # placed in the zone, which sits under 嘉兴市 (learned from the source's zone: path)
        assert zone_key("乍浦湾临港开发区") in got.region_keys
        assert JIAXING in got.region_keys
    # every detail page fetched once; list pages and robots.txt only besides
    details = site.requested("/zwgk/yqdt/2")
    assert sorted(details) == sorted(a.path for a in site.pages())
    assert site.requested("/robots.txt") == ["/robots.txt"]
    state = store.sources.get("zone-site")
    assert state.backfill_done and state.last_result == "ok" and state.articles_found == 20
    assert report.problems == []


def test_second_poll_fetches_only_the_new_pages(
    portal: SamplePortal, site: SampleSite, store: Storage, gazetteer: Gazetteer,
    now: datetime, fast_policy: Policy,
) -> None:
    source = site_source(site)
    poll(source, store, gazetteer, fast_policy(), now)
    site.clear_requests()
    quiet = poll(source, store, gazetteer, fast_policy(), now + timedelta(minutes=30))
    assert (quiet.result, quiet.new, quiet.pages_fetched) == ("unchanged", 0, 0)
    assert site.requested("/zwgk/") == [SITE_LIST_PATH]  # answered 304 Not Modified

    portal.add_articles(6)  # six portal slots: the site publishes two articles
    new = site.pages()[:2]
    site.clear_requests()
    report = poll(source, store, gazetteer, fast_policy(), now + timedelta(hours=1))
    assert (report.result, report.new, report.failed, report.backfill) == ("ok", 2, 0, False)
    assert sorted(site.requested("/zwgk/yqdt/2")) == sorted(a.path for a in new)
    # page 1 brought news, so 下一页 is followed; page 2 brings none and ends the walk
    assert site.requested("/zwgk/yqdt/index") == [SITE_LIST_PATH, "/zwgk/yqdt/index_1.html"]
    assert store.count() == 22
    for article in new:
        stored = store.get(article.record(site.base_url).url)
        assert stored is not None and not stored.backfill
        assert stored.zone == "乍浦湾临港开发区" and stored.title == article.text.title


def test_a_site_given_a_region_files_its_articles_there(
    site: SampleSite, store: Storage, gazetteer: Gazetteer, now: datetime,
    fast_policy: Policy,
) -> None:
    source = site_source(site, zone=None, region="嘉兴市", max_pages=1)
    report = poll(source, store, gazetteer, fast_policy(), now)
    assert report.new == 15 and report.failed == 0  # max_pages=1: the first list page only
    stored = list(store.iter_articles())
    assert len(stored) == 15
    assert all((a.zone, a.region) == (None, "嘉兴市") for a in stored)
    assert all(JIAXING in a.region_keys and not any(k.startswith("zone-") for k in a.region_keys)
               for a in stored)


def test_a_site_zone_the_gazetteer_knows_needs_no_division(
    site: SampleSite, store: Storage, gazetteer: Gazetteer, now: datetime,
    fast_policy: Policy,
) -> None:
    gazetteer.add_zone("乍浦湾临港开发区", JIAXING)  # as if the portal had named it first
    report = poll(site_source(site, zone="乍浦湾临港开发区", max_pages=1), store, gazetteer,
                  fast_policy(), now)
    assert report.new == 15
    assert all(JIAXING in a.region_keys and a.zone == "乍浦湾临港开发区"
               for a in store.iter_articles())


def test_a_changed_site_layout_is_reported_as_a_health_problem(
    site: SampleSite, store: Storage, gazetteer: Gazetteer, now: datetime,
    fast_policy: Policy,
) -> None:
    source = site_source(site, detail_pattern=r"/xxgk/\d+\.html")
    report = poll(source, store, gazetteer, fast_policy(), now)
    assert report.new == 0
    assert [p.kind for p in report.problems] == ["no-links"]
