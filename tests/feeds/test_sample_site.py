"""The bundled sample zone website (issue 15): every page it serves reads back exactly as
generated, its list pages chain by 下一页, it is the same for the same seed, and about
a third of its stories come back later on the sample portal as reposts."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from feeds.extract import extract_page
from feeds.links import extract_links, find_next_page
from feeds.models import PortalSource, SiteSource
from feeds.sample import (
    REPOST_PREFIX,
    SITE_DETAIL_PATTERN,
    SITE_LIST_PATH,
    SamplePortal,
    SampleSite,
    serve_portal,
    serve_site,
)
from feeds.sample.site import SHARE, is_shared
from feeds.siteextract import extract_site_page
from tests.feeds.conftest import sample_portal_command

FIELDS = ("url", "title", "published", "source", "content")


def _site(portal: SamplePortal) -> SampleSite:
    assert portal.site is not None
    return portal.site


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_site_page_extracts_exactly_as_generated(seed: int) -> None:
    portal = SamplePortal(seed=seed, articles=150, with_site=True)
    site = _site(portal)
    with serve_portal(portal), serve_site(site, portal), httpx.Client() as client:
        pages = site.pages()
        assert len(pages) == 50
        assert {p.charset for p in pages} == {"utf-8", "gb2312"}
        assert {p.number % 3 for p in pages} == {0, 1, 2}  # all three date formats
        for article in pages:
            url = site.url(article.path)
            response = client.get(url)
            assert response.status_code == 200
            got = extract_site_page(response.content, response.headers.get("content-type"),
                                    url, "sample-site")
            want = article.record(site.base_url)
            assert not isinstance(got, str), f"{url}: {got}"
            assert {f: getattr(got, f) for f in FIELDS} == {f: getattr(want, f) for f in FIELDS}


def test_reposts_read_back_exactly_on_the_portal_and_follow_their_original() -> None:
    portal = SamplePortal(seed=4, articles=300, with_site=True)
    site = _site(portal)
    by_index = {page.index: page for page in portal.pages()}
    shared = [a for a in site.pages() if a.shared]
    assert shared
    for article in shared:
        assert article.repost_index is not None
        repost = by_index[article.repost_index]
        original = article.text
        assert repost.text.title == REPOST_PREFIX + original.title
        # one sentence (the closing one) removed, the rest word for word
        assert repost.text.paragraphs == original.paragraphs[:-1]
        assert original.paragraphs[-1].count("。") == 1
        assert repost.text.published > original.published
        assert (repost.text.zone, repost.text.source) == (original.zone, original.source)
        response = portal.respond("GET", repost.path, {})
        got = extract_page(response.body, response.headers["Content-Type"],
                           portal.url(repost.path))
        assert got == repost.record(portal.base_url)
    # no other portal article is a repost
    reposts = {a.repost_index for a in shared}
    assert all(not p.text.title.startswith(REPOST_PREFIX)
               for i, p in by_index.items() if i not in reposts)


def test_about_the_configured_share_of_site_stories_is_reposted() -> None:
    shared = sum(is_shared(1, n) for n in range(2000))
    assert abs(shared / 2000 - SHARE) < 0.04


def test_the_site_is_the_same_for_the_same_seed_and_grows_at_the_top() -> None:
    a = _site(SamplePortal(seed=6, articles=60, with_site=True))
    b = _site(SamplePortal(seed=6, articles=90, with_site=True))
    assert b.records()[-len(a.records()):] == a.records()
    assert _site(SamplePortal(seed=7, articles=60, with_site=True)).records() != a.records()
    assert SamplePortal(seed=6, articles=60).site is None  # the portal alone by default


def test_a_live_site_publishes_new_articles_now() -> None:
    from datetime import datetime

    from feeds.models import CHINA_TZ

    clock = [datetime(2026, 11, 30, 9, 0, tzinfo=CHINA_TZ)]
    portal = SamplePortal.live(1, 30, lambda: clock[0], with_site=True)
    site = _site(portal)
    assert max(a.text.published for a in site.pages()) <= clock[0]
    clock[0] += timedelta(hours=2)
    portal.add_articles(3)
    newest = site.pages()[0]
    assert newest.number == 10
    assert newest.text.published.date() == clock[0].date()


def test_list_pages_chain_by_next_page_and_link_every_article_once() -> None:
    portal = SamplePortal(seed=2, articles=120, with_site=True)
    site = _site(portal)
    with serve_portal(portal), serve_site(site, portal), httpx.Client() as client:
        url: str | None = site.url(SITE_LIST_PATH)
        links: list[str] = []
        while url is not None:
            page = client.get(url)
            assert page.status_code == 200
            links += extract_links(page.text, str(page.url), SITE_DETAIL_PATTERN)
            url = find_next_page(page.text, str(page.url), "下一页")
        again = client.get(site.url(SITE_LIST_PATH),
                           headers={"If-None-Match": page.headers["etag"]})
        first = client.get(site.url(SITE_LIST_PATH))
        unchanged = client.get(site.url(SITE_LIST_PATH),
                               headers={"If-None-Match": first.headers["etag"]})
    assert links == [site.url(a.path) for a in site.pages()]
    assert site.list_pages() == 3
    assert again.status_code == 200 and unchanged.status_code == 304


def test_sample_portal_command_prints_both_sources(tmp_path: Path) -> None:
    options = ("--site-port", "0", "--articles", "30", "--fixed-dates")
    with sample_portal_command(tmp_path, *options) as (lines, sources):
        portal_source, site_source = sources
        assert isinstance(portal_source, PortalSource) and isinstance(site_source, SiteSource)
        with httpx.Client() as client:
            page = client.get(site_source.base_url + site_source.list_urls[0])
        links = extract_links(page.text, str(page.url), site_source.detail_pattern)
    assert lines[0].startswith("sample portal: http://127.0.0.1:") and "30 articles" in lines[0]
    assert lines[1].startswith(f"sample site: {site_source.base_url}/ (10 articles of ")
    assert site_source.base_url != portal_source.base_url
    assert site_source.zone == "嘉兴市/乍浦湾临港开发区" and site_source.region is None
    assert len(links) == 10
