"""Region pages ``r/KEY.html``: valid HTML5 (html5lib in strict mode), the promised
content and links, no script, written incrementally with the feeds."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urljoin

import html5lib
import httpx
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import html as lxml_html

from feeds.atom import AtomRenderer
from feeds.intake import Ingestor
from feeds.jsonfeed import JsonFeedRenderer
from feeds.models import Region, RegionLevel
from feeds.pages import page_items, render_region_page
from feeds.publish import build_feeds
from feeds.regions import Gazetteer
from feeds.storage import Storage
from tests.feeds.test_atom import NAMES, article
from tests.feeds.test_publish import BASE, DESHENG, fill, record, snapshot
from tests.feeds.test_web import Served

XHTML = "{http://www.w3.org/1999/xhtml}"


def parse_strict(data: bytes) -> lxml_html.HtmlElement:
    """Parse errors of the HTML5 algorithm fail the test; lxml gives the tree to query."""
    html5lib.HTMLParser(strict=True).parse(data)  # raises ParseError on any error
    return lxml_html.fromstring(data)


def check_page(out: Path, key: str) -> lxml_html.HtmlElement:
    """Structure every region page has; its local links resolve to files."""
    data = (out / "r" / f"{key}.html").read_bytes()
    assert data.startswith(b"<!DOCTYPE html>\n")
    root = parse_strict(data)
    assert root.get("lang") == "zh-CN"
    assert root.find(".//meta[@charset='utf-8']") is not None
    assert root.find(".//meta[@name='viewport']") is not None
    assert root.findall(".//script") == [] and b"javascript:" not in data.lower()
    assert all(not name.startswith("on") for el in root.iter() for name in el.attrib)
    assert len(root.findall(".//h1")) == 1
    types = {e.get("type"): e.get("href") for e in root.findall(".//link[@rel='alternate']")}
    assert types == {
        "application/atom+xml": f"../feeds/{key}.atom",
        "application/feed+json": f"../feeds/{key}.json",
    }
    for a in root.iter("a"):
        href = a.get("href", "")
        if not href.startswith(("http://", "https://")):
            target = urljoin(f"file://{out}/r/{key}.html", href).removeprefix("file://")
            assert Path(target).is_file(), (key, href)
    return root


def test_every_region_gets_a_valid_page_linked_from_the_index(
    store: Storage, gazetteer: Gazetteer, tmp_path: Path, now: datetime
) -> None:
    fill(store, gazetteer, now)
    out = tmp_path / "public"
    build_feeds(store, gazetteer, out, BASE, 50)
    zone = gazetteer.zone_named(DESHENG)
    assert zone is not None
    keys = {p.stem for p in (out / "feeds").glob("*.atom")} - {"all"}
    assert {p.stem for p in (out / "r").glob("*.html")} == keys
    index = parse_strict((out / "index.html").read_bytes())
    linked = {a.get("href") for a in index.iter("a")}
    assert {f"r/{k}.html" for k in keys} <= linked
    for key in keys:
        check_page(out, key)

    page = check_page(out, zone.key)
    crumbs = [li.text_content() for li in page.findall(".//nav//li")]
    assert crumbs == ["全部地区", "北京市", "西城区", DESHENG]
    assert [a.get("href") for a in page.findall(".//nav//a")] == [
        "../index.html",
        "110000.html",
        "110102.html",
    ]
    stored = store.get(record(1).url)
    assert stored is not None
    items = page.findall(".//article")
    assert len(items) == 3
    first = items[0]
    link = first.find(".//h3/a")
    assert link is not None and link.get("href") == stored.url
    assert link.text_content() == stored.title
    meta = first.find(".//p[@class='meta']")
    assert meta is not None
    time = meta.find("time")
    assert time is not None and time.text == "2026-11-20"
    assert "西城区人民政府" in meta.text_content() and DESHENG in meta.text_content()
    assert "智能制造" in first.text_content()  # the summary
    text = page.text_content()
    assert zone.key in text and "subscriptions.yaml" in text  # email instructions
    # The district page lists its zone; the province page its district.
    district = check_page(out, "110102")
    assert [a.get("href") for a in district.findall(".//ul[@class='children']//a")] == [
        f"{zone.key}.html"
    ]
    assert "3 篇" in district.text_content()


def test_region_pages_follow_only_the_feeds_that_changed(
    store: Storage, gazetteer: Gazetteer, tmp_path: Path, now: datetime
) -> None:
    fill(store, gazetteer, now)
    out = tmp_path / "public"
    build_feeds(store, gazetteer, out, BASE, 50)
    before = snapshot(out)
    # A backdated article for a new zone: the district's newest entries do not change,
    # but its page must now list the new child and count one more article.
    old = datetime.fromisoformat("2020-01-01T09:00:00+08:00")
    Ingestor(store, gazetteer).add(
        [record(9, "北京金融街", "西城区", published=old)], now=now + timedelta(hours=1)
    )
    report = build_feeds(store, gazetteer, out, BASE, 50)
    newzone = gazetteer.zone_named("北京金融街")
    assert newzone is not None
    pages = sorted(p for p in report.written if p.startswith("r/"))
    assert pages == sorted(f"r/{k}.html" for k in (newzone.key, "110102", "110000"))
    district = check_page(out, "110102")
    assert f"{newzone.key}.html" in [a.get("href") for a in district.iter("a")]
    assert "4 篇" in district.text_content()
    after = snapshot(out)
    for key in ("330400", "330000"):
        assert after[f"r/{key}.html"] == before[f"r/{key}.html"]
    assert build_feeds(store, gazetteer, out, BASE, 50, all=True).written == []


def test_region_page_served_with_a_csp_that_allows_only_its_style(
    store: Storage, gazetteer: Gazetteer, tmp_path: Path, now: datetime
) -> None:
    Ingestor(store, gazetteer).add([record(1)], now=now)
    out = tmp_path / "public"
    out.mkdir()
    with Served(out) as served:
        build_feeds(store, gazetteer, out, served.base, 50)
        with httpx.Client(base_url=served.base) as client:
            reply = client.get("r/110102.html")
        assert reply.status_code == 200
        assert reply.headers["content-type"] == "text/html; charset=utf-8"
        csp = reply.headers["content-security-policy"]
        assert "default-src 'none'" in csp and "'sha256-" in csp and "unsafe" not in csp


ZONE = Region("zone-deshengyuan", "中关村科技园区德胜园", RegionLevel.ZONE, "110102", "deshengyuan")
GAZETTEER = Gazetteer.default()
GAZETTEER.add_zone(ZONE.name, "110102", key=ZONE.key)


@settings(max_examples=120, deadline=None)
@given(
    title=st.text(max_size=80),
    content=st.text(max_size=300),
    source=st.one_of(st.none(), st.text(max_size=40)),
    zone=st.one_of(st.none(), st.text(max_size=40)),
    url=st.sampled_from(
        ["https://example.org/a?b=1&c=<2>", "javascript:alert(1)", "data:text/html,x", ""]
    ),
)
def test_hostile_article_text_gives_a_valid_page_without_script(
    title: str, content: str, source: str | None, zone: str | None, url: str
) -> None:
    gazetteer = GAZETTEER
    evil = article(
        1,
        title=title + "<script>alert(1)</script>",
        content=content + '<img src=x onerror="alert(1)">',
        source=source,
        zone=zone,
        url=url,
    )
    renderer = AtomRenderer(BASE, NAMES)
    items = page_items(renderer, JsonFeedRenderer(renderer), [evil])
    data = render_region_page(
        gazetteer.get(ZONE.key), gazetteer, items, 1, {ZONE.key: 1, "110102": 1}, 100
    )
    root = parse_strict(data)
    assert root.findall(".//script") == []
    assert all(not n.startswith("on") for el in root.iter() for n in el.attrib)
    hrefs = [a.get("href", "") for a in root.iter("a")]
    assert not any(h.lower().startswith(("javascript:", "data:")) for h in hrefs)
