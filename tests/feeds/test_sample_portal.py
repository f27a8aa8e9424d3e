"""The bundled sample portal: its truth, its HTTP behaviour and its test hooks."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from feeds.extract import extract_links
from feeds.models import PortalSource, Region, RegionLevel
from feeds.regions import Gazetteer, looks_like_zone
from feeds.sample import DETAIL_PATTERN, PLACES, PortalServer, SamplePortal, serve_portal
from tests.feeds.conftest import sample_portal_command


@pytest.fixture
def served() -> Iterator[PortalServer]:
    with serve_portal(SamplePortal(seed=2, articles=30)) as server:
        yield server


def test_same_seed_same_articles_and_growth_keeps_older_ones() -> None:
    a, b = SamplePortal(seed=4, articles=25), SamplePortal(seed=4, articles=40)
    assert b.records()[-25:] == a.records()
    assert SamplePortal(seed=5, articles=25).records() != a.records()


def test_articles_cover_30_zones_10_regions_4_provinces_that_the_gazetteer_knows(
    gazetteer: Gazetteer,
) -> None:
    pages = SamplePortal(seed=1, articles=400).pages()
    zones = {p.text.zone for p in pages}
    regions = {p.text.region for p in pages}
    provinces = {p.text.province for p in pages}
    assert len(zones) >= 30 and len(regions) >= 10 and len(provinces) >= 4
    assert all(looks_like_zone(zone) for zone in zones)
    for region, _full, province, _zones in PLACES:
        resolved = gazetteer.resolve(region)
        assert isinstance(resolved, Region), region
        assert resolved.level in (RegionLevel.CITY, RegionLevel.DISTRICT)
        assert gazetteer.path(resolved).startswith(province)
        assert gazetteer.resolve(region, ()) == resolved


def test_list_pages_hold_20_newest_first_and_link_the_next_page(served: PortalServer) -> None:
    portal = served.portal
    newest = [r.url for r in portal.records()]
    with httpx.Client(follow_redirects=True) as client:
        first = client.get(served.base_url + "/")
        assert str(first.url) == portal.list_url(1)
        links = extract_links(first.text, portal.list_url(1), DETAIL_PATTERN)
        assert links[:20] == newest[:20]
        assert '<a href="/index.php/home/news/index/p/2.html">下一页</a>' in first.text
        second = client.get(portal.list_url(2)).text
        assert extract_links(second, portal.list_url(2), DETAIL_PATTERN)[:10] == newest[20:]
        assert client.get(portal.list_url(3)).status_code == 404


def test_new_articles_appear_on_top_of_page_one(served: PortalServer) -> None:
    portal = served.portal
    before = portal.records()
    with httpx.Client() as client:
        etag = client.get(portal.list_url(1)).headers["etag"]
        added = portal.add_articles(3)
        page1 = client.get(portal.list_url(1), headers={"If-None-Match": etag})
    assert page1.status_code == 200
    links = extract_links(page1.text, portal.list_url(1), DETAIL_PATTERN)
    assert links[:3] == [portal.url(p.path) for p in added]
    assert links[3:20] == [r.url for r in before[:17]]
    assert portal.records()[3:] == before


def test_conditional_get_answers_304(served: PortalServer) -> None:
    url = served.portal.url(served.portal.pages()[0].path)
    with httpx.Client() as client:
        first = client.get(url)
        etag, modified = first.headers["etag"], first.headers["last-modified"]
        assert client.get(url, headers={"If-None-Match": etag}).status_code == 304
        assert client.get(url, headers={"If-None-Match": '"other"'}).status_code == 200
        assert client.get(url, headers={"If-Modified-Since": modified}).status_code == 304
        again = client.get(url, headers={"If-None-Match": etag})
    assert again.headers["etag"] == etag and again.content == b""


def test_charset_cases_are_declared_as_documented(served: PortalServer) -> None:
    with httpx.Client() as client:
        for page in served.portal.pages()[:14]:
            response = client.get(served.portal.url(page.path))
            head = response.content[:400].lower()
            content_type = response.headers["content-type"].lower()
            if page.charset == "utf-8":
                assert "utf-8" in content_type and b'charset="utf-8"' in head
            elif page.charset == "gbk-header":
                assert "charset=gbk" in content_type and b"charset" not in head
            elif page.charset == "gbk-meta":
                assert "charset" not in content_type and b"charset=gbk" in head
            elif page.charset == "gb2312-meta":
                assert "charset" not in content_type and b'charset="gb2312"' in head
            else:
                assert "charset" not in content_type and b"charset" not in head


def test_robots_txt_and_a_page_that_is_not_an_article(served: PortalServer) -> None:
    served.portal.robots_disallow = ("/private/",)
    with httpx.Client() as client:
        robots = client.get(served.base_url + "/robots.txt")
        about = client.get(served.base_url + "/index.php/home/about/index.html")
    assert robots.text == "User-agent: *\nDisallow: /private/\n"
    assert about.status_code == 200 and "关于我们" in about.text


def test_hooks_404_500_once_and_slow(served: PortalServer) -> None:
    portal = served.portal
    gone, flaky, slow = (portal.url(p.path) for p in portal.pages()[:3])
    portal.fail(gone, 404)
    portal.fail(flaky, 500, times=1)
    portal.slow(slow, 0.5)
    with httpx.Client(timeout=0.2) as client:
        assert [client.get(gone).status_code for _ in range(2)] == [404, 404]
        assert [client.get(flaky).status_code for _ in range(2)] == [500, 200]
        with pytest.raises(httpx.TimeoutException):
            client.get(slow)
    assert [(r.path, r.status) for r in portal.requests[:4]] == [
        (portal.pages()[0].path, 404), (portal.pages()[0].path, 404),
        (portal.pages()[1].path, 500), (portal.pages()[1].path, 200),
    ]
    portal.clear_hooks()
    portal.clear_requests()
    with httpx.Client() as client:
        assert client.get(gone).status_code == 200
    assert portal.requested() == [portal.pages()[0].path]


def test_serves_concurrent_requests(served: PortalServer) -> None:
    urls = [served.portal.url(p.path) for p in served.portal.pages()] * 3
    with httpx.Client(limits=httpx.Limits(max_connections=16)) as client:
        with ThreadPoolExecutor(16) as pool:
            statuses = list(pool.map(lambda u: client.get(u).status_code, urls))
    assert statuses == [200] * len(urls)


def test_sample_portal_command_prints_its_url_and_a_working_sources_snippet(
    tmp_path: Path,
) -> None:
    with sample_portal_command(tmp_path, "--articles", "25", "--no-site") as (lines, sources):
        base_url = lines[0].split()[2].rstrip("/")
        (source,) = sources
        assert isinstance(source, PortalSource)
        with httpx.Client() as client:
            page = client.get(source.base_url + source.list_urls[0])
        links = extract_links(page.text, str(page.url), source.detail_pattern)
    assert lines[0].startswith("sample portal: http://127.0.0.1:")
    assert "25 articles" in lines[0]
    assert source.base_url == base_url and source.next_page_text == "下一页"
    assert len(links) == 20
