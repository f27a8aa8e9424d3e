"""A crawled page with a date outside SPEC §5's window is reported with its URL and
not stored; the poll's other pages are (issue 10: year 9999 stayed first for good)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest

from feeds.models import CrawlPolicy, PortalSource
from feeds.regions import Gazetteer
from feeds.storage import Storage
from tests.feeds.sources.conftest import poll


def test_pages_dated_9999_or_1989_are_reported_and_the_others_stored(
    server: Any,
    store: Storage,
    gazetteer: Gazetteer,
    now: datetime,
    fast_policy: Callable[..., CrawlPolicy],
    caplog: pytest.LogCaptureFixture,
) -> None:
    server.mini_portal(5)
    for n, date in ((3, "9999-01-01"), (4, "1989-06-04")):
        server.routes[server.detail_path(n)] = server.Reply(
            body=server.article_html(n, date=date).encode()
        )
    source = PortalSource(name="mini", base_url=server.base_url, list_urls=("/list/1",),
                          detail_pattern=server.DETAIL_PATTERN)
    report = poll(source, store, gazetteer, fast_policy(), now)
    assert report.new == 3
    said = caplog.text + "\n".join(report.errors)
    for n, why in ((3, "more than a day after now"), (4, "before 1990-01-01")):
        url = server.url(server.detail_path(n))
        assert store.get(url) is None
        assert url in said and why in said
    assert store.latest(None, 1)[0].published.year == 2024
