"""Source health: plain state and a fixed clock in, problems with reasons out."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from feeds.models import CHINA_TZ, FeedSource, PortalSource
from feeds.sources.health import check_source
from feeds.sources.state import SourceState

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=CHINA_TZ)
PORTAL = PortalSource(
    name="investchn", base_url="https://www.investchn.com", list_urls=("/list",),
    detail_pattern=r"/detail/id/\d+\.html", interval=timedelta(minutes=10),
    silent_after=timedelta(days=14),
)
FEED = FeedSource(name="upstream", url="https://example.org/rss", region="嘉兴")


def healthy(**changes: object) -> SourceState:
    base = dict(
        name="investchn", last_poll_at=NOW - timedelta(minutes=5),
        last_success_at=NOW - timedelta(minutes=5), last_result="ok", polls=10,
        pages_fetched=3, links_found=20, articles_found=2, backfill_done=True,
    )
    base.update(changes)
    return SourceState(**base)  # type: ignore[arg-type]


def kinds(source: PortalSource | FeedSource, state: SourceState, **kw: object) -> list[str]:
    return [p.kind for p in check_source(source, state, NOW, **kw)]  # type: ignore[arg-type]


def test_a_working_source_has_no_problem() -> None:
    assert check_source(PORTAL, healthy(), NOW) == []


def test_a_never_polled_source_has_no_problem_yet() -> None:
    assert check_source(PORTAL, SourceState("investchn"), NOW) == []


def test_failing_polls_are_flagged_with_the_last_error() -> None:
    state = healthy(
        last_result="failed", consecutive_failures=3, pages_fetched=0, links_found=0,
        last_success_at=NOW - timedelta(hours=5),
        last_error="https://www.investchn.com/list: HTTP 503",
    )
    [problem] = check_source(PORTAL, state, NOW)
    assert problem.kind == "failing"
    assert str(problem) == (
        "investchn: last 3 polls failed (last success 5 hours ago): "
        "https://www.investchn.com/list: HTTP 503"
    )


def test_list_pages_that_stop_yielding_links_are_flagged() -> None:
    state = healthy(links_found=0, articles_found=0, empty_polls=2)
    [problem] = check_source(PORTAL, state, NOW)
    assert problem.kind == "no-links"
    assert "detail_pattern" in problem.message and "layout" in problem.message


def test_detail_pages_that_all_fail_to_extract_are_flagged() -> None:
    state = healthy(
        last_result="partial", articles_found=0, extract_failed=6, pages_failed=6,
        last_error="https://x/detail/id/1.html: not an article page: no meta line with 发布时间",
    )
    assert kinds(PORTAL, state) == ["not-articles", "page-errors"]


def test_some_failed_pages_are_reported_but_not_as_a_redesign() -> None:
    state = healthy(last_result="partial", articles_found=5, extract_failed=1, pages_failed=2,
                    last_error="https://x/detail/id/3.html: HTTP 404 Not Found")
    assert kinds(PORTAL, state) == ["page-errors"]


def test_a_source_nobody_polls_is_overdue() -> None:
    two_hours_ago = NOW - timedelta(hours=2)
    state = healthy(last_poll_at=two_hours_ago, last_success_at=two_hours_ago)
    [problem] = check_source(PORTAL, state, NOW)
    assert problem.kind == "overdue" and "10m" in problem.message


@pytest.mark.parametrize(
    ("age", "flagged"), [(timedelta(days=13), False), (timedelta(days=15), True)]
)
def test_a_zone_silent_longer_than_silent_after(age: timedelta, flagged: bool) -> None:
    zones = {"嘉兴港区": NOW - age, "德胜园": NOW - timedelta(days=1)}
    problems = check_source(PORTAL, healthy(), NOW, zone_last_published=zones)
    assert [p.kind for p in problems] == (["silent"] if flagged else [])
    if flagged:
        assert problems[0].message.startswith("no article for 嘉兴港区 for 15 days")
        assert "silent_after is 14d" in problems[0].message


def test_without_silent_after_quiet_zones_are_fine() -> None:
    zones = {"嘉兴港区": NOW - timedelta(days=400)}
    assert check_source(FEED, healthy(name="upstream"), NOW, zone_last_published=zones) == []
