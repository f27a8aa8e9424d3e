"""RFC 5005 archived feeds from a real store (SQLite and PostgreSQL): the walk from the
current document finds every article once, full pages never change, builds stay
incremental."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import httpx
import sqlalchemy as sa
from lxml import etree

from feeds.archive import page_count
from feeds.atom import HISTORY_NS
from feeds.intake import Ingestor
from feeds.publish import build_feeds
from feeds.regions import Gazetteer
from feeds.storage import Storage
from feeds.storage.schema import article_regions, articles
from tests.feeds.test_atom import ATOM, assert_valid
from tests.feeds.test_publish import BASE, DESHENG, JIAXING, record, snapshot
from tests.feeds.test_web import Served
from tests.support.rawdb import raw_connection

SIZE = 5  # articles per archive page in these tests (the default is 100)
FH = f"{{{HISTORY_NS}}}"


def links(root: etree._Element) -> dict[str, str]:
    return {e.get("rel", ""): e.get("href", "") for e in root.findall(f"{ATOM}link")}


def local(out: Path, url: str) -> Path:
    assert url.startswith(BASE), url
    return out / url.removeprefix(BASE)


def walk(out: Path, key: str) -> tuple[list[str], list[list[str]]]:
    """The current document's entry ids, and each archive page's (newest page first),
    reached only through ``prev-archive`` links; every document checked on the way."""
    current = assert_valid((out / "feeds" / f"{key}.atom").read_bytes())
    assert current.find(f"{FH}archive") is None  # the current document is not an archive
    ids = [e.findtext(f"{ATOM}id") or "" for e in current.findall(f"{ATOM}entry")]
    pages: list[list[str]] = []
    href = links(current).get("prev-archive")
    newer: str | None = None
    while href:
        path = local(out, href)
        root = assert_valid(path.read_bytes())
        assert root.find(f"{FH}archive") is not None, path
        rel = links(root)
        assert rel["self"] == href and rel["current"] == BASE + f"feeds/{key}.atom"
        # next-archive points back the way we came (absent on the newest page).
        assert rel.get("next-archive") == newer
        # Same feed (RFC 5005: an archive is part of the feed, not a new one).
        assert root.findtext(f"{ATOM}id") == current.findtext(f"{ATOM}id")
        pages.append([e.findtext(f"{ATOM}id") or "" for e in root.findall(f"{ATOM}entry")])
        newer, href = href, rel.get("prev-archive")
    return ids, pages


def region_ids(store: Storage, key: str) -> list[str]:
    with raw_connection(store) as conn:
        query = sa.select(articles.c.entry_id)
        if key != "all":
            query = query.join(
                article_regions, article_regions.c.article_seq == articles.c.seq
            ).where(article_regions.c.region_key == key)
        return list(conn.execute(query).scalars())


def zone_of(gazetteer: Gazetteer) -> str:
    """德胜园's key (the zone exists once an article named it)."""
    zone = gazetteer.zone_named(DESHENG)
    assert zone is not None
    return zone.key


def fill(store: Storage, gazetteer: Gazetteer, now: datetime, numbers: range) -> None:
    Ingestor(store, gazetteer).add([record(n) for n in numbers], now=now)


def test_walk_from_the_current_document_finds_every_article_exactly_once(
    store: Storage, gazetteer: Gazetteer, tmp_path: Path, now: datetime
) -> None:
    ingestor = Ingestor(store, gazetteer)
    ingestor.add([record(n) for n in range(1, 18)], now=now)  # 17 in 德胜园
    ingestor.add([record(n, JIAXING, "嘉兴") for n in range(30, 36)], now=now)  # 6 in 嘉兴
    out = tmp_path / "public"
    build_feeds(store, gazetteer, out, BASE, 4, page_size=SIZE)
    zone_key = zone_of(gazetteer)
    for key, total in ((zone_key, 17), ("110102", 17), ("330400", 6), ("all", 23)):
        current, pages = walk(out, key)
        expected = region_ids(store, key)
        assert len(expected) == total
        found = [ident for page in pages for ident in page]
        # The archive documents together hold every article of the region, each once;
        # the current document repeats the newest (RFC 5005 §4 allows the overlap).
        assert sorted(found) == sorted(expected) and len(set(found)) == len(found)
        assert len(current) == 4 and set(current) <= set(found)
        # Full pages of SIZE, then the open page: 17 -> 5, 5, 5, 2 (newest first).
        sizes = [len(p) for p in reversed(pages)]
        assert len(pages) == page_count(total, SIZE)
        assert sizes == [SIZE] * (total // SIZE) + [total % SIZE]
    # The walk sees exactly the archive files there are (no orphan pages).
    assert len(list((out / "feeds" / "archive" / zone_key).glob("*.atom"))) == 4


def test_full_pages_keep_their_bytes_when_articles_arrive_even_backdated(
    store: Storage, gazetteer: Gazetteer, tmp_path: Path, now: datetime
) -> None:
    fill(store, gazetteer, now, range(1, 13))  # 12: pages 1, 2 full, page 3 open (2)
    out = tmp_path / "public"
    build_feeds(store, gazetteer, out, BASE, 4, page_size=SIZE)
    zone_key = zone_of(gazetteer)
    before = snapshot(out)
    full = [f"feeds/archive/{k}/{n}.atom" for k in (zone_key, "110102", "all") for n in (1, 2)]
    # New articles: one from years ago (a backfill), one from today, then more later.
    old = record(40, published=datetime.fromisoformat("2019-03-01T09:00:00+08:00"))
    Ingestor(store, gazetteer).add([old, record(41)], now=now + timedelta(hours=1))
    first = build_feeds(store, gazetteer, out, BASE, 4, page_size=SIZE)
    assert not first.full
    Ingestor(store, gazetteer).add([record(n) for n in range(42, 50)], now=now + timedelta(hours=2))
    build_feeds(store, gazetteer, out, BASE, 4, page_size=SIZE)
    forced = build_feeds(store, gazetteer, out, BASE, 4, page_size=SIZE, all=True)
    assert not any(p.startswith("feeds/archive/") for p in forced.written)
    after = snapshot(out)
    for path in full:
        assert after[path] == before[path], path  # bytes and mtime (so the ETag too)
    # The backdated article is archived (in page 3, which was open), not current.
    stored = store.get(old.url)
    assert stored is not None
    current, pages = walk(out, zone_key)
    assert stored.id not in current
    assert stored.id in pages[-3] and len(pages) == 5  # 22 articles: 5, 5, 5, 5, 2


def test_full_pages_served_with_a_stable_etag(
    store: Storage, gazetteer: Gazetteer, tmp_path: Path, now: datetime
) -> None:
    fill(store, gazetteer, now, range(1, 8))
    out = tmp_path / "public"
    out.mkdir()
    with Served(out) as served:
        build_feeds(store, gazetteer, out, served.base, 4, page_size=SIZE)
        with httpx.Client(base_url=served.base) as client:
            first = client.get("feeds/archive/all/1.atom")
            assert first.status_code == 200
            assert first.headers["content-type"] == "application/atom+xml; charset=utf-8"
            etag = first.headers["etag"]
            fill(store, gazetteer, now + timedelta(hours=1), range(8, 11))
            report = build_feeds(store, gazetteer, out, served.base, 4, page_size=SIZE)
            assert "feeds/archive/all/2.atom" in report.written
            again = client.get("feeds/archive/all/1.atom", headers={"If-None-Match": etag})
            assert again.status_code == 304
            assert client.get("feeds/archive/all/1.atom").content == first.content


def test_incremental_build_touches_the_current_document_and_the_newest_page(
    store: Storage, gazetteer: Gazetteer, tmp_path: Path, now: datetime
) -> None:
    ingestor = Ingestor(store, gazetteer)
    ingestor.add([record(n) for n in range(1, 12)], now=now)  # 11 in 德胜园: page 3 open
    ingestor.add([record(n, JIAXING, "嘉兴") for n in range(30, 33)], now=now)
    out = tmp_path / "public"
    build_feeds(store, gazetteer, out, BASE, 4, page_size=SIZE)
    zone_key = zone_of(gazetteer)
    before = snapshot(out)
    fresh = datetime.fromisoformat("2026-11-25T10:00:00+08:00")
    ingestor.add(  # 13 in 德胜园: page 3 still open; both enter the current documents
        [record(20, published=fresh), record(21, published=fresh)], now=now + timedelta(hours=1)
    )
    report = build_feeds(store, gazetteer, out, BASE, 4, page_size=SIZE)
    lineage = [zone_key, "110102", "110000", "all"]
    archives = sorted(p for p in report.written if p.startswith("feeds/archive/"))
    # all: 14 + 2 = 16 articles, page 3 (open, 4 articles) filled, page 4 opened.
    assert archives == sorted(
        [f"feeds/archive/{k}/3.atom" for k in lineage] + ["feeds/archive/all/4.atom"]
    )
    atoms = sorted(p for p in report.written if p.endswith(".atom") and p.count("/") == 1)
    assert atoms == sorted(f"feeds/{k}.atom" for k in lineage)
    after = snapshot(out)
    untouched = [p for p in before if p not in report.written]
    assert all(after[p] == before[p] for p in untouched)
    assert all(
        after[f"feeds/archive/330400/{n}.atom"] == before[f"feeds/archive/330400/{n}.atom"]
        for n in (1,)
    )
    # What was written equals a build from scratch.
    assert build_feeds(store, gazetteer, out, BASE, 4, page_size=SIZE, all=True).written == []


def test_a_corrected_article_is_rerendered_in_its_page_only(
    store: Storage, gazetteer: Gazetteer, tmp_path: Path, now: datetime
) -> None:
    fill(store, gazetteer, now, range(1, 13))
    out = tmp_path / "public"
    build_feeds(store, gazetteer, out, BASE, 4, page_size=SIZE)
    zone_key = zone_of(gazetteer)
    before = snapshot(out)
    # record(2) was the second stored: page 1 of every feed it is in.
    fixed = record(2, content="<p>更正:签约项目总投资额更新为十二亿元。</p>")
    Ingestor(store, gazetteer).add([fixed], now=now + timedelta(hours=3))
    report = build_feeds(store, gazetteer, out, BASE, 4, page_size=SIZE)
    archives = {p for p in report.written if p.startswith("feeds/archive/")}
    assert archives == {f"feeds/archive/{k}/1.atom" for k in (zone_key, "110102", "110000", "all")}
    assert "十二亿元" in (out / "feeds" / "archive" / "all" / "1.atom").read_text("utf-8")
    assert (
        snapshot(out)[f"feeds/archive/{zone_key}/2.atom"]
        == before[f"feeds/archive/{zone_key}/2.atom"]
    )
    assert build_feeds(store, gazetteer, out, BASE, 4, page_size=SIZE, all=True).written == []


def test_default_page_size_is_100_and_a_region_without_articles_has_no_archive(
    store: Storage, gazetteer: Gazetteer, tmp_path: Path, now: datetime
) -> None:
    fill(store, gazetteer, now, range(1, 106))
    out = tmp_path / "public"
    build_feeds(store, gazetteer, out, BASE, 50)
    zone_key = zone_of(gazetteer)
    current, pages = walk(out, zone_key)
    assert [len(p) for p in pages] == [5, 100] and len(current) == 50
    assert not (out / "feeds" / "archive" / "330400").exists()
    # Changing the page size rebuilds every archive once, with no page left over.
    report = build_feeds(store, gazetteer, out, BASE, 50, page_size=60)
    assert report.full
    assert sorted(p.name for p in (out / "feeds" / "archive" / zone_key).glob("*")) == [
        "1.atom",
        "2.atom",
    ]
