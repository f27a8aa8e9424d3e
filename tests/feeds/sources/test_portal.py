"""Polling a portal over real HTTP into a real store (SQLite and PostgreSQL).

The server is the small portal of ``conftest.py``; its request log shows what the
crawler fetched, which is what "incremental" and "polite" are about.
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


def portal(server: Any, **changes: Any) -> PortalSource:
    values: dict[str, Any] = {
        "name": "mini",
        "base_url": server.base_url,
        "list_urls": ("/list/1",),
        "detail_pattern": server.DETAIL_PATTERN,
    }
    values.update(changes)
    return PortalSource(**values)


def detail_url(server: Any, n: int) -> str:
    return server.url(server.detail_path(n))


def test_first_poll_stores_every_article_as_backfill(
    server: Any, store: Storage, gazetteer: Gazetteer, now: datetime, fast_policy: Policy
) -> None:
    ids = server.mini_portal(12, per_page=5)
    report = poll(portal(server), store, gazetteer, fast_policy(), now)
    assert (report.result, report.new, report.failed, report.backfill) == ("ok", 12, 0, True)
    assert report.pages_fetched == 3 + 12  # three list pages, twelve articles
    assert store.count() == 12
    article = store.get(detail_url(server, 7))
    assert article is not None
    assert article.title == "第7号智能装备项目在嘉兴港区开工"
    assert (article.zone, article.region, article.source) == ("嘉兴港区", "嘉兴", "嘉兴日报")
    assert article.backfill and article.source_name == "mini"
    assert all(a.backfill for a in store.iter_articles())
    # every detail page fetched exactly once, robots.txt asked once
    assert sorted(server.detail_paths()) == sorted(server.detail_path(i) for i in ids)
    assert server.paths().count("/robots.txt") == 1
    state = store.sources.get("mini")
    assert state.backfill_done and state.last_result == "ok" and state.articles_found == 12


def test_second_poll_fetches_no_known_detail_page(
    server: Any, store: Storage, gazetteer: Gazetteer, now: datetime, fast_policy: Policy
) -> None:
    server.mini_portal(12, per_page=5)
    poll(portal(server), store, gazetteer, fast_policy(), now)
    server.log.clear()
    report = poll(portal(server), store, gazetteer, fast_policy(), now + timedelta(minutes=10))
    assert (report.new, report.failed, report.pages_fetched) == (0, 0, 1)
    assert server.detail_paths() == []
    assert [p for p in server.paths() if p != "/robots.txt"] == ["/list/1"]


def test_poll_after_new_articles_fetches_only_those_and_notifies(
    server: Any, store: Storage, gazetteer: Gazetteer, now: datetime, fast_policy: Policy
) -> None:
    server.mini_portal(12, per_page=5)
    poll(portal(server), store, gazetteer, fast_policy(), now)
    server.mini_portal(15, per_page=5)  # 13, 14, 15 appear on top of page 1
    server.log.clear()
    report = poll(portal(server), store, gazetteer, fast_policy(), now + timedelta(minutes=10))
    assert (report.new, report.backfill) == (3, False)
    assert sorted(server.detail_paths()) == sorted(server.detail_path(i) for i in (13, 14, 15))
    # page 1 brought new links so page 2 was read; page 2 brought none, so page 3 was not.
    assert [p for p in server.paths() if "/list/" in p] == ["/list/1", "/list/2"]
    fresh = store.get(detail_url(server, 14))
    assert fresh is not None and not fresh.backfill
    old = store.get(detail_url(server, 3))
    assert old is not None and old.backfill


def test_404_is_counted_the_poll_goes_on_and_it_is_not_refetched(
    server: Any, store: Storage, gazetteer: Gazetteer, now: datetime, fast_policy: Policy
) -> None:
    server.mini_portal(6, per_page=10)
    del server.routes[server.detail_path(4)]
    report = poll(portal(server), store, gazetteer, fast_policy(), now)
    assert (report.result, report.new, report.failed) == ("partial", 5, 1)
    assert report.errors == [f"{detail_url(server, 4)}: HTTP 404 Not Found"]
    assert store.get(detail_url(server, 4)) is None
    assert server.detail_paths().count(server.detail_path(4)) == 1  # 404 is not retried
    server.log.clear()
    again = poll(portal(server), store, gazetteer, fast_policy(), now + timedelta(minutes=10))
    assert (again.new, again.failed) == (0, 0)
    assert server.detail_paths() == []  # a page gone for good is not asked for every poll
    state = store.sources.get("mini")
    assert state.error_count == 1 and state.last_result == "ok"


def test_500_once_is_stored_after_the_retry(
    server: Any, store: Storage, gazetteer: Gazetteer, now: datetime, fast_policy: Policy
) -> None:
    server.mini_portal(4, per_page=10)
    good = server.routes[server.detail_path(2)]
    answers = iter([server.Reply(500, b"busy"), good])
    server.routes[server.detail_path(2)] = lambda _req: next(answers)
    report = poll(portal(server), store, gazetteer, fast_policy(retries=2), now)
    assert (report.result, report.new, report.failed) == ("ok", 4, 0)
    assert server.detail_paths().count(server.detail_path(2)) == 2
    assert store.get(detail_url(server, 2)) is not None


def test_slow_page_fails_the_poll_goes_on_and_the_next_poll_retries_it(
    server: Any, store: Storage, gazetteer: Gazetteer, now: datetime, fast_policy: Policy
) -> None:
    server.mini_portal(5, per_page=10)
    good = server.routes[server.detail_path(3)]
    server.routes[server.detail_path(3)] = server.Reply(body=good.body, delay=3)
    policy = fast_policy(timeout=timedelta(milliseconds=300), retries=0)
    report = poll(portal(server), store, gazetteer, policy, now)
    assert (report.result, report.new, report.failed) == ("partial", 4, 1)
    assert "timed out" in report.errors[0] and detail_url(server, 3) in report.errors[0]
    # The page heals; the next poll asks for it although the list page brings nothing new.
    server.routes[server.detail_path(3)] = good
    server.log.clear()
    again = poll(portal(server), store, gazetteer, policy, now + timedelta(minutes=10))
    assert (again.result, again.new, again.failed) == ("ok", 1, 0)
    assert server.detail_paths() == [server.detail_path(3)]


def test_non_article_page_is_reported_with_the_reason_and_not_stored(
    server: Any, store: Storage, gazetteer: Gazetteer, now: datetime, fast_policy: Policy
) -> None:
    server.mini_portal(3, per_page=10)
    server.routes[server.detail_path(2)] = server.Reply(
        body="<html><body><h1>网站维护中</h1><p>请稍后访问。</p></body></html>".encode()
    )
    report = poll(portal(server), store, gazetteer, fast_policy(), now)
    assert (report.new, report.failed) == (2, 1)
    assert report.errors[0].startswith(detail_url(server, 2))
    assert "not an article" in report.errors[0] and "发布时间" in report.errors[0]
    assert store.get(detail_url(server, 2)) is None
    assert store.count() == 2


def test_unchanged_list_page_is_answered_304_and_nothing_else_is_fetched(
    server: Any, store: Storage, gazetteer: Gazetteer, now: datetime, fast_policy: Policy
) -> None:
    server.mini_portal(3, per_page=10)
    body = server.routes["/list/1"].body

    def listing(req: Any) -> Any:
        if req.headers.get("if-none-match") == '"l1"':
            return server.Reply(304)
        return server.Reply(body=body, headers={"ETag": '"l1"'})

    server.routes["/list/1"] = listing
    poll(portal(server), store, gazetteer, fast_policy(), now)
    server.log.clear()
    report = poll(portal(server), store, gazetteer, fast_policy(), now + timedelta(minutes=10))
    assert (report.result, report.pages_fetched, report.new) == ("unchanged", 0, 0)
    assert [p for p in server.paths() if p != "/robots.txt"] == ["/list/1"]
    assert server.log[-1].headers["if-none-match"] == '"l1"'


def test_list_page_validators_are_kept_only_when_every_article_was_fetched(
    server: Any, store: Storage, gazetteer: Gazetteer, now: datetime, fast_policy: Policy
) -> None:
    server.mini_portal(3, per_page=10)
    body = server.routes["/list/1"].body
    server.routes["/list/1"] = lambda req: (
        server.Reply(304) if req.headers.get("if-none-match") == '"l1"'
        else server.Reply(body=body, headers={"ETag": '"l1"'})
    )
    good = server.routes[server.detail_path(1)]
    server.routes[server.detail_path(1)] = server.Reply(503, b"busy")
    poll(portal(server), store, gazetteer, fast_policy(retries=0), now)
    server.routes[server.detail_path(1)] = good
    server.log.clear()
    report = poll(portal(server), store, gazetteer, fast_policy(), now + timedelta(minutes=10))
    assert report.new == 1
    listing = [r for r in server.log if r.path == "/list/1"]
    assert len(listing) == 1 and "if-none-match" not in listing[0].headers
    # Now every article is in: the next poll may ask conditionally and get a 304.
    server.log.clear()
    third = poll(portal(server), store, gazetteer, fast_policy(), now + timedelta(minutes=20))
    assert third.result == "unchanged"
    assert [r.headers.get("if-none-match") for r in server.log if r.path == "/list/1"] == ['"l1"']


def test_robots_txt_disallowed_detail_pages_are_not_fetched(
    server: Any, store: Storage, gazetteer: Gazetteer, now: datetime, fast_policy: Policy
) -> None:
    server.mini_portal(3, per_page=10)
    server.routes["/robots.txt"] = server.Reply(
        body=f"User-agent: zonewire\nDisallow: {server.detail_path(2)}\n".encode(),
        headers={"Content-Type": "text/plain"},
    )
    report = poll(portal(server), store, gazetteer, fast_policy(), now)
    assert (report.new, report.failed) == (2, 1)
    assert "robots.txt" in report.errors[0]
    assert server.detail_path(2) not in server.paths()


def test_max_pages_bounds_the_walk(
    server: Any, store: Storage, gazetteer: Gazetteer, now: datetime, fast_policy: Policy
) -> None:
    server.mini_portal(20, per_page=5)
    report = poll(portal(server, max_pages=2), store, gazetteer, fast_policy(), now)
    assert report.new == 10
    assert [p for p in server.paths() if "/list/" in p] == ["/list/1", "/list/2"]


def test_list_url_that_fails_makes_the_poll_failed_and_not_a_backfill(
    server: Any, store: Storage, gazetteer: Gazetteer, now: datetime, fast_policy: Policy
) -> None:
    server.routes["/list/1"] = server.Reply(500, b"down")
    report = poll(portal(server), store, gazetteer, fast_policy(retries=0), now)
    assert (report.result, report.failed) == ("failed", 1)
    assert [p.kind for p in report.problems] == ["failing"]
    state = store.sources.get("mini")
    assert state.consecutive_failures == 1 and not state.backfill_done
    # The portal comes back: this first successful poll is the backfill.
    server.mini_portal(2, per_page=10)
    later = poll(portal(server), store, gazetteer, fast_policy(), now + timedelta(minutes=10))
    assert (later.result, later.new, later.backfill) == ("ok", 2, True)
    state = store.sources.get("mini")
    assert state.consecutive_failures == 0 and state.backfill_done


def test_list_pages_without_detail_links_are_flagged(
    server: Any, store: Storage, gazetteer: Gazetteer, now: datetime, fast_policy: Policy
) -> None:
    server.mini_portal(3, per_page=10)
    poll(portal(server), store, gazetteer, fast_policy(), now)
    # A redesign: the list page still answers 200, but its links have a new shape.
    server.routes["/list/1"] = server.Reply(
        body='<html><body><a href="/news/show-99.html">新闻</a></body></html>'.encode()
    )
    report = poll(portal(server), store, gazetteer, fast_policy(), now + timedelta(minutes=10))
    assert report.result == "ok" and report.new == 0
    assert [p.kind for p in report.problems] == ["no-links"]
    assert "detail_pattern" in report.problems[0].message
