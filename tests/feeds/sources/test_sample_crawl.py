"""Crawling the bundled sample portal over HTTP on 127.0.0.1 into a real store.

The sample portal knows the truth each page was generated from, in six markups and
five charset cases; a crawl must store exactly that truth. Its request log shows
what the crawler asked for.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from feeds.models import CrawlPolicy, PortalSource
from feeds.regions import Gazetteer
from feeds.sample import DETAIL_PATTERN, LIST_PATH, SamplePortal, serve_portal
from feeds.storage import Storage
from tests.feeds.sources.conftest import poll

Policy = Callable[..., CrawlPolicy]
DETAILS = "/index.php/home/news/detail/"
FIELDS = ("url", "title", "published", "source", "zone", "region", "category", "content")


@pytest.fixture
def sample() -> Iterator[SamplePortal]:
    portal = SamplePortal(seed=3, articles=45)
    with serve_portal(portal):
        yield portal


def source(portal: SamplePortal, **changes: Any) -> PortalSource:
    values: dict[str, Any] = {
        "name": "sample",
        "base_url": portal.base_url,
        "list_urls": (LIST_PATH.format(n=1),),
        "detail_pattern": DETAIL_PATTERN,
    }
    values.update(changes)
    return PortalSource(**values)


def test_crawl_stores_exactly_the_sample_truth(
    sample: SamplePortal, store: Storage, gazetteer: Gazetteer, now: datetime,
    fast_policy: Policy,
) -> None:
    report = poll(source(sample), store, gazetteer, fast_policy(), now)
    assert (report.result, report.failed, report.new) == ("ok", 0, 45), report.errors
    truth = sample.records()
    assert store.count() == len(truth)
    for expected in truth:
        stored = store.get(expected.url)
        assert stored is not None, expected.url
        for name in FIELDS:
            assert getattr(stored, name) == getattr(expected, name), (expected.url, name)
        assert stored.backfill and stored.region_keys  # placed in the hierarchy
    # robots.txt read once, each detail page fetched once
    assert sample.requested("/robots.txt") == ["/robots.txt"]
    details = sample.requested(DETAILS)
    assert sorted(details) == sorted({p.path for p in sample.pages()})


def test_second_poll_is_conditional_and_fetches_no_known_page(
    sample: SamplePortal, store: Storage, gazetteer: Gazetteer, now: datetime,
    fast_policy: Policy,
) -> None:
    poll(source(sample), store, gazetteer, fast_policy(), now)
    sample.clear_requests()
    report = poll(source(sample), store, gazetteer, fast_policy(), now + timedelta(minutes=10))
    assert (report.result, report.new, report.pages_fetched) == ("unchanged", 0, 0)
    assert sample.requested(DETAILS) == []
    lists = [r for r in sample.requests if r.path.startswith("/index.php/home/news/index/")]
    assert [(r.path, r.status) for r in lists] == [(LIST_PATH.format(n=1), 304)]


def test_new_articles_are_the_only_pages_fetched_and_are_not_backfill(
    sample: SamplePortal, store: Storage, gazetteer: Gazetteer, now: datetime,
    fast_policy: Policy,
) -> None:
    poll(source(sample), store, gazetteer, fast_policy(), now)
    added = sample.add_articles(4)
    sample.clear_requests()
    report = poll(source(sample), store, gazetteer, fast_policy(), now + timedelta(minutes=10))
    assert (report.new, report.failed, report.backfill) == (4, 0, False)
    assert sorted(sample.requested(DETAILS)) == sorted(p.path for p in added)
    for page in added:
        stored = store.get(page.record(sample.base_url).url)
        assert stored is not None and not stored.backfill
        assert stored.title == page.text.title


def test_404_500_once_and_slow_pages_in_one_poll(
    sample: SamplePortal, store: Storage, gazetteer: Gazetteer, now: datetime,
    fast_policy: Policy,
) -> None:
    pages = sample.pages()
    missing, flaky, slow = pages[2], pages[5], pages[30]
    sample.fail(missing.path, status=404)
    sample.fail(flaky.path, status=500, times=1)
    sample.slow(slow.path, 2.0)
    policy = fast_policy(timeout=timedelta(milliseconds=400), retries=1)
    report = poll(source(sample), store, gazetteer, policy, now)
    assert (report.result, report.new, report.failed) == ("partial", 43, 2)
    reasons = {e.split(": ", 1)[0]: e.split(": ", 1)[1] for e in report.errors}
    assert "404" in reasons[sample.url(missing.path)]
    assert "timed out" in reasons[sample.url(slow.path)]
    assert store.get(sample.url(flaky.path)) is not None  # succeeded on the retry
    assert sample.requested(flaky.path) == [flaky.path, flaky.path]
    assert store.get(sample.url(missing.path)) is None
    assert store.get(sample.url(slow.path)) is None
