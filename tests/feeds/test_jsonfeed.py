"""JSON Feed 1.1 beside every Atom feed: schema-valid, same ids and dates, written
with the Atom feeds, announced on the index, served with its own content type."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import jsonschema
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from feeds.atom import AtomRenderer, feed_info
from feeds.intake import Ingestor
from feeds.jsonfeed import JsonFeedRenderer
from feeds.publish import build_feeds
from feeds.regions import Gazetteer
from feeds.storage import Storage
from tests.feeds.test_atom import ATOM, DATA, NAMES, ZONE, article, assert_valid
from tests.feeds.test_publish import BASE, DESHENG, snapshot
from tests.feeds.test_publish import record as rec
from tests.feeds.test_web import Served

SCHEMA = json.loads((DATA / "jsonfeed-1.1.schema.json").read_text("utf-8"))
HUBS = ("http://127.0.0.1:9/hub", "https://pubsubhubbub.example.org/")


def assert_json_feed(data: bytes) -> dict:
    feed = json.loads(data)
    jsonschema.Draft202012Validator(SCHEMA).validate(feed)
    return feed


def test_every_json_feed_matches_its_atom_feed(
    filled: Storage, gazetteer: Gazetteer, tmp_path: Path
) -> None:
    out = tmp_path / "public"
    build_feeds(filled, gazetteer, out, BASE, 50, hubs=HUBS)
    atoms = sorted((out / "feeds").glob("*.atom"))
    assert {p.stem for p in (out / "feeds").glob("*.json")} == {p.stem for p in atoms}
    for path in atoms:
        root = assert_valid(path.read_bytes())
        assert [h.get("href") for h in root.findall(f"{ATOM}link[@rel='hub']")] == list(HUBS)
        feed = assert_json_feed(path.with_suffix(".json").read_bytes())
        assert feed["feed_url"] == BASE + f"feeds/{path.stem}.json"
        assert feed["home_page_url"] == BASE and feed["language"] == "zh-CN"
        assert feed["title"] == root.findtext(f"{ATOM}title")
        assert [h["url"] for h in feed["hubs"]] == list(HUBS)
        entries = root.findall(f"{ATOM}entry")
        assert [i["id"] for i in feed["items"]] == [e.findtext(f"{ATOM}id") for e in entries]
        for item, entry in zip(feed["items"], entries, strict=True):
            assert item["date_published"] == entry.findtext(f"{ATOM}published")
            assert item["date_modified"] == entry.findtext(f"{ATOM}updated")
            assert item["content_html"] == entry.findtext(f"{ATOM}content")
            assert item["summary"] == entry.findtext(f"{ATOM}summary")
            assert item["authors"] == [{"name": entry.findtext(f"{ATOM}author/{ATOM}name")}]
            assert item["url"] == entry.find(f"{ATOM}link").get("href")
            assert DESHENG in item["tags"] or "嘉兴经济技术开发区" in item["tags"]
            assert "文字新闻" in item["tags"]


def test_json_feeds_are_written_incrementally_with_the_atom_feeds(
    filled: Storage, gazetteer: Gazetteer, tmp_path: Path, now: datetime
) -> None:
    out = tmp_path / "public"
    build_feeds(filled, gazetteer, out, BASE, 50)
    before = snapshot(out)
    assert build_feeds(filled, gazetteer, out, BASE, 50).written == []
    assert build_feeds(filled, gazetteer, out, BASE, 50, all=True).written == []
    assert snapshot(out) == before
    Ingestor(filled, gazetteer).add([rec(0)], now=now + timedelta(hours=1))
    report = build_feeds(filled, gazetteer, out, BASE, 50)
    zone = gazetteer.zone_named(DESHENG)
    assert zone is not None
    keys = ("all", zone.key, "110102", "110000")
    changed = {f"feeds/{k}.{x}" for k in keys for x in ("atom", "json")}
    assert set(report.changed_feeds) == changed
    assert snapshot(out)["feeds/330000.json"] == before["feeds/330000.json"]
    new = filled.get(rec(0).url)
    assert new is not None
    feed = assert_json_feed((out / "feeds" / f"{zone.key}.json").read_bytes())
    assert feed["items"][0]["id"] == new.id and len(feed["items"]) == 4
    # Reused items are byte-identical to a fresh rendering of the whole store.
    incremental = snapshot(out)
    assert build_feeds(filled, gazetteer, out, BASE, 50, all=True).written == []
    assert snapshot(out) == incremental


def test_index_announces_and_links_the_json_feeds(
    filled: Storage, gazetteer: Gazetteer, tmp_path: Path
) -> None:
    out = tmp_path / "public"
    build_feeds(filled, gazetteer, out, BASE, 50)
    page = etree.HTML((out / "index.html").read_bytes())
    found = page.xpath("//head/link[@rel='alternate' and @type='application/feed+json']/@href")
    assert "feeds/all.json" in found and "feeds/110000.json" in found
    links = page.xpath("//body//a[@type='application/feed+json']/@href")
    assert {f"feeds/{p.name}" for p in (out / "feeds").glob("*.json")} == set(links)


def test_json_feed_served_with_its_type_etag_304_and_gzip(
    filled: Storage, gazetteer: Gazetteer, tmp_path: Path
) -> None:
    out = tmp_path / "public"
    out.mkdir()
    with Served(out) as served:
        build_feeds(filled, gazetteer, out, served.base, 50)
        with httpx.Client(base_url=served.base) as client:
            first = client.get("feeds/all.json", headers={"Accept-Encoding": "identity"})
            assert first.status_code == 200
            assert first.headers["content-type"] == "application/feed+json; charset=utf-8"
            assert first.content == (out / "feeds" / "all.json").read_bytes()
            etag = first.headers["etag"]
            again = client.get("feeds/all.json", headers={"If-None-Match": etag})
            assert again.status_code == 304
            zipped = client.get("feeds/all.json", headers={"Accept-Encoding": "gzip"})
            assert zipped.headers["content-encoding"] == "gzip"
            assert zipped.content == first.content


@settings(max_examples=150, deadline=None)
@given(
    st.text(max_size=80),
    st.text(max_size=300),
    st.one_of(st.none(), st.text(max_size=40)),
    st.one_of(st.none(), st.text(max_size=80)),
)
def test_hostile_text_gives_schema_valid_json(
    title: str, content: str, source: str | None, summary: str | None
) -> None:
    arts = [article(1, title=title, content=content, source=source, summary=summary), article(2)]
    renderer = JsonFeedRenderer(AtomRenderer(BASE, NAMES), HUBS)
    data = renderer.render(feed_info(ZONE), arts)
    feed = assert_json_feed(data)
    assert [i["id"] for i in feed["items"]] == [a.id for a in arts]
    # A later build assembles the feed from the items it kept (feed_entries).
    kept = {a.id: renderer.item(a) for a in arts}
    fresh = JsonFeedRenderer(AtomRenderer(BASE, NAMES), HUBS)
    for a in arts:
        fresh.seed(a, kept[a.id])
    assert fresh.render(feed_info(ZONE), arts) == data
