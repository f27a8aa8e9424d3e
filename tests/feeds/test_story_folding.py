"""Folding stories as articles are stored (SPEC §6): through the intake into real
SQLite and PostgreSQL stores, in both orders of arrival, across batches and
re-imports, and what ``status`` counts."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from xml.etree import ElementTree

import pytest

from feeds.intake import Ingestor
from feeds.models import ArticleRecord
from feeds.regions import Gazetteer
from feeds.sample import REPOST_PREFIX, SamplePortal, serve_portal, serve_site
from feeds.sample.content import SampleText
from feeds.sample.site import repost_text, site_text
from feeds.storage import Storage
from feeds.stories import StoryPrint, same_story, story_print
from notifier.cli import main
from notifier.commands.sample_portal import sources_snippet
from tests.feeds.test_stories import DECOY, DECOY_TITLE, ORIGINAL, ORIGINAL_TITLE, html
from tests.support.rawdb import raw_connection

SITE_URL = "http://www.zpw.example.cn/zwgk/yqdt/202611/t20261120_5101.html"
PORTAL_URL = "https://www.investchn.example.org/index.php/home/news/detail/id/100006.html"


def site_article(now: datetime, url: str = SITE_URL, title: str = ORIGINAL_TITLE,
                 body: list[str] = ORIGINAL) -> ArticleRecord:
    return ArticleRecord(url=url, title=title, published=now - timedelta(hours=5),
                         source="乍浦湾临港开发区管委会", zone="乍浦湾临港开发区",
                         region="嘉兴市", content=html(body))


def repost(now: datetime) -> ArticleRecord:
    return ArticleRecord(url=PORTAL_URL, title="【园区动态】" + ORIGINAL_TITLE,
                         published=now - timedelta(hours=2), source="投资中国网",
                         zone="乍浦湾临港开发区", region="嘉兴", content=html(ORIGINAL[:-1]))


def by_url(store: Storage) -> dict[str, object]:
    return {a.url: a for a in store.iter_articles()}


def test_a_repost_joins_the_zone_sites_story(
    store: Storage, gazetteer: Gazetteer, now: datetime
) -> None:
    ingest = Ingestor(store, gazetteer)
    ingest.add([site_article(now)], now=now, source_name="zone-site")
    later = now + timedelta(hours=3)
    ingest.add([repost(later)], now=later, source_name="investchn")
    site, portal = store.get(SITE_URL), store.get(PORTAL_URL)
    assert site is not None and portal is not None
    assert site.leads_story and site.story_seq is None
    assert portal.story_seq == site.seq and not portal.leads_story
    assert [(o.url, o.source_name) for o in site.also] == [(PORTAL_URL, "investchn")]
    assert [(o.url, o.source_name) for o in portal.also] == [(SITE_URL, "zone-site")]
    # The lead changed (it gained a related link): feeds render it again.
    assert site.updated == later
    assert store.story_counts() == [("investchn", 1, 1), ("zone-site", 1, 0)]


def test_the_repost_first_leads_and_the_original_joins_it(
    store: Storage, gazetteer: Gazetteer, now: datetime
) -> None:
    ingest = Ingestor(store, gazetteer)
    ingest.add([repost(now)], now=now, source_name="investchn")
    ingest.add([site_article(now)], now=now + timedelta(minutes=30), source_name="zone-site")
    site, portal = store.get(SITE_URL), store.get(PORTAL_URL)
    assert site is not None and portal is not None
    assert portal.leads_story and site.story_seq == portal.seq
    assert store.story_counts() == [("investchn", 1, 0), ("zone-site", 1, 1)]


def test_one_batch_folds_within_itself_and_keeps_other_stories_apart(
    store: Storage, gazetteer: Gazetteer, now: datetime
) -> None:
    decoy = site_article(now, url=SITE_URL.replace("5101", "5102"), title=DECOY_TITLE,
                         body=DECOY)
    Ingestor(store, gazetteer).add([site_article(now), decoy, repost(now)], now=now)
    articles = by_url(store)
    site, other, portal = articles[SITE_URL], articles[decoy.url], articles[PORTAL_URL]
    assert site.story_seq is None and other.story_seq is None  # type: ignore[attr-defined]
    assert portal.story_seq == site.seq  # type: ignore[attr-defined]
    assert other.also == ()  # type: ignore[attr-defined]


def test_an_edited_article_stays_in_its_story(
    store: Storage, gazetteer: Gazetteer, now: datetime
) -> None:
    ingest = Ingestor(store, gazetteer)
    ingest.add([site_article(now)], now=now, source_name="zone-site")
    ingest.add([repost(now)], now=now, source_name="investchn")
    lead = store.get(SITE_URL)
    assert lead is not None
    # Both re-imported with a changed text (a correction, a rewritten title).
    edited_site = site_article(now, title=ORIGINAL_TITLE + "（更正）",
                               body=[*ORIGINAL[:2], "会议改为线上召开。"])
    edited_repost = replace(repost(now), title="【园区动态】开发区召开安全生产会议",
                            content=html(ORIGINAL[:1]))
    counts = ingest.add([edited_site, edited_repost], now=now + timedelta(days=1))
    assert counts.updated == 2
    site, portal = store.get(SITE_URL), store.get(PORTAL_URL)
    assert site is not None and portal is not None
    assert site.seq == lead.seq and site.story_seq is None
    assert portal.story_seq == lead.seq
    # A later repost of the corrected text still finds the story.
    third = replace(edited_site, url="https://news.example.org/a/1.html",
                    title="[转载]" + edited_site.title)
    ingest.add([third], now=now + timedelta(days=2), source_name="news")
    found = store.get(third.url)
    assert found is not None and found.story_seq == lead.seq
    lead_now = store.get(SITE_URL)
    assert lead_now is not None
    assert {o.url for o in lead_now.also} == {PORTAL_URL, third.url}


def test_an_edited_article_keeps_only_its_new_band_keys(
    store: Storage, gazetteer: Gazetteer, now: datetime
) -> None:
    """Re-importing an edited article replaces its band rows: a stale key would
    keep offering it as a candidate for its old text."""
    other_url = SITE_URL.replace("5101", "5102")
    ingest = Ingestor(store, gazetteer)
    ingest.add([site_article(now), site_article(now, url=other_url, title=DECOY_TITLE,
                                                body=DECOY)], now=now)
    edited = site_article(now, title=ORIGINAL_TITLE + "（更正）",
                          body=[*ORIGINAL[:2], "会议改为线上召开。"])
    assert ingest.add([edited], now=now + timedelta(days=1)).updated == 1

    def bands_of(url: str) -> list[int]:
        article = store.get(url)
        assert article is not None
        with raw_connection(store) as conn:
            return sorted(key for (key,) in conn.exec_driver_sql(
                f"SELECT band_key FROM story_bands WHERE article_seq = {article.seq}"))

    assert bands_of(SITE_URL) == sorted(set(story_print(edited.title, edited.content or "")
                                            .bands()))
    assert bands_of(other_url) == sorted(set(story_print(DECOY_TITLE, html(DECOY)).bands()))


def test_articles_stored_before_the_upgrade_are_found_by_later_reposts(
    database_url: str, gazetteer: Gazetteer, now: datetime
) -> None:
    """Migration 0008 prints the stored articles, so a repost of one folds into it."""
    from alembic import command
    from alembic.config import Config

    from feeds.storage.engine import create_engine

    engine = create_engine(database_url)
    config = Config()
    config.set_main_option("script_location", "feeds.storage:migrations")
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0007_feed_entries")
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO articles (entry_id, url, title, published, updated, ingested_at, "
            "content, content_hash, backfill, source_name) VALUES ('tag:x', "
            f"'{SITE_URL}', '{ORIGINAL_TITLE}', '2026-11-30 01:00:00.000000', "
            "'2026-11-30 01:00:00.000000', '2026-11-30 01:00:00.000000', "
            f"'{html(ORIGINAL)}', 'h', false, 'zone-site')"
        )
    engine.dispose()
    store = Storage.open(database_url)
    try:
        Ingestor(store, gazetteer).add([repost(now)], now=now, source_name="investchn")
        portal, site = store.get(PORTAL_URL), store.get(SITE_URL)
        assert portal is not None and site is not None
        assert portal.story_seq == site.seq
    finally:
        store.close()


# -- two workers storing the two copies of one story at the same instant -------------

RACES = 50


def _distinct_stories(count: int) -> list[SampleText]:
    """``count`` sample site texts no two of which (nor their reposts) are one story:
    the sample's templates repeat, so some pairs of its texts would fold."""
    kept: list[SampleText] = []
    prints: list[StoryPrint] = []
    number = 0
    while len(kept) < count:
        text = site_text(23, number)
        number += 1
        copy = repost_text(text, text)
        made = [story_print(t.title, html(list(t.paragraphs))) for t in (text, copy)]
        if not any(same_story(one, other) for one in made for other in prints):
            kept.append(text)
            prints += made
    return kept


def _at_once(*calls: Callable[[], object]) -> list[BaseException]:
    """Run ``calls`` in threads released together; what they raised."""
    start = threading.Barrier(len(calls))
    failures: list[BaseException] = []

    def run(call: Callable[[], object]) -> None:
        try:
            start.wait(timeout=30)
            call()
        except BaseException as exc:  # reported by the test
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return failures


def test_two_workers_storing_both_copies_at_once_make_one_lead(
    database_url: str, now: datetime
) -> None:
    """Distributed mode ingests in several workers at once: the original and its
    repost stored by two processes at the same moment must still be one story with
    one lead (else a subscriber hears of it twice). Each race starts both upserts
    together, on two stores (two connection pools) of one database."""
    stores = [Storage.open(database_url), Storage.open(database_url)]
    try:
        ingestors = [Ingestor(store, Gazetteer.default()) for store in stores]
        for n, ingest in enumerate(ingestors):  # both learn the zone, one at a time
            ingest.add([site_article(now, url=f"{SITE_URL}?warm={n}", title=f"预热{n}号通知",
                                     body=[f"第{n}条与本测试无关的通知内容，仅供预热使用。"])],
                       now=now, source_name="zone-site")
        for race, text in enumerate(_distinct_stories(RACES)):
            copy = repost_text(text, text)
            original = site_article(now, url=f"{SITE_URL}?race={race}", title=text.title,
                                    body=list(text.paragraphs))
            repost_record = replace(original, url=f"{PORTAL_URL}?race={race}",
                                    title=copy.title, content=html(list(copy.paragraphs)))
            failures = _at_once(
                partial(ingestors[0].add, [original], now=now, source_name="zone-site"),
                partial(ingestors[1].add, [repost_record], now=now, source_name="portal"),
            )
            assert not failures, failures
            stored = [stores[0].get(original.url), stores[0].get(repost_record.url)]
            assert all(a is not None for a in stored)
            leads = [a for a in stored if a is not None and a.story_seq is None]
            assert len(leads) == 1, f"race {race}: {len(leads)} leads"
            (joined,) = [a for a in stored if a is not None and a.story_seq is not None]
            assert joined.story_seq == leads[0].seq
    finally:
        for store in stores:
            store.close()


def test_an_edit_of_a_lead_and_a_repost_of_it_stored_at_once_both_land(
    database_url: str, now: datetime
) -> None:
    """One worker stores a corrected text of a story's lead while another stores a
    repost of it: both commit (neither waits on the other for ever, nor is chosen
    as a deadlock victim) and the repost is in the lead's story."""
    stores = [Storage.open(database_url), Storage.open(database_url)]
    try:
        ingestors = [Ingestor(store, Gazetteer.default()) for store in stores]
        texts = _distinct_stories(RACES // 2)
        for n, text in enumerate(texts):
            ingestors[n % 2].add([site_article(now, url=f"{SITE_URL}?lead={n}", title=text.title,
                                               body=list(text.paragraphs))],
                                 now=now, source_name="zone-site")
        later = now + timedelta(hours=1)
        for n, text in enumerate(texts):
            url = f"{SITE_URL}?lead={n}"
            lead = stores[0].get(url)
            assert lead is not None
            edited = site_article(now, url=url, title=text.title,
                                  body=[*text.paragraphs, "（本文有更正）"])
            copy = repost_text(text, text)
            repost_record = replace(edited, url=f"{PORTAL_URL}?lead={n}", title=copy.title,
                                    content=html(list(copy.paragraphs)))
            failures = _at_once(
                partial(ingestors[0].add, [edited], now=later, source_name="zone-site"),
                partial(ingestors[1].add, [repost_record], now=later, source_name="portal"),
            )
            assert not failures, failures
            site, portal = stores[0].get(url), stores[0].get(repost_record.url)
            assert site is not None and portal is not None
            assert site.content == edited.content
            assert site.story_seq is None and portal.story_seq == lead.seq
    finally:
        for store in stores:
            store.close()


# -- end to end: both bundled sample sources, as the quickstart runs them ------------


def test_sample_portal_and_site_reposts_fold_in_feeds_and_status(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ZONEWIRE_CONFIG", raising=False)
    (tmp_path / "config").mkdir()
    portal = SamplePortal(seed=5, articles=90, with_site=True)
    assert portal.site is not None
    with serve_portal(portal), serve_site(portal.site, portal):
        (tmp_path / "config" / "zonewire.yaml").write_text(
            f"database: {database_url}\n"
            "crawl: {per_host_delay: 0s, per_host_concurrency: 4, timeout: 2s, retries: 0}\n"
            + sources_snippet(portal.base_url, site_url=portal.site.base_url),
            encoding="utf-8",
        )
        assert main(["ingest"]) == 0
        shared = portal.site.shared()
        reposted = [a for a in shared if a.repost_index is not None
                    and a.repost_index < portal.articles]
        assert reposted, "the sample must repost some site articles"
        assert main(["status"]) == 0
        out, _ = capsys.readouterr()
        # `ingest` polls the portal first: the site's originals join the reposts' stories.
        assert "  sample: 90 articles, 0 folded into stories first seen elsewhere" in out
        assert (f"  sample-site: {portal.site.articles} articles, {len(reposted)} folded "
                "into stories first seen elsewhere") in out
        assert main(["feeds", "build"]) == 0

    store = Storage.open(database_url)
    try:
        stored = list(store.iter_articles())
    finally:
        store.close()
    joined = [a for a in stored if a.story_seq is not None]
    # Every repost the portal has published so far joined its site article's story.
    assert len(joined) == len(reposted)
    lead_of = {a.seq: a for a in stored}
    for a in joined:  # a repost and its original, whichever was polled first
        lead = lead_of[a.story_seq]  # type: ignore[index]
        assert {a.source_name, lead.source_name} == {"sample", "sample-site"}
        assert a.title.removeprefix(REPOST_PREFIX) == lead.title.removeprefix(REPOST_PREFIX)
    expected = {lead_of[a.story_seq].url: a.url for a in joined}  # type: ignore[index]

    ns = {"a": "http://www.w3.org/2005/Atom"}
    for path in sorted((tmp_path / "public" / "feeds").rglob("*.atom")):  # archives too
        doc = ElementTree.fromstring(path.read_bytes())
        for entry in doc.findall("a:entry", ns):
            links = entry.findall("a:link", ns)
            url = next(x.get("href") for x in links if x.get("rel") in (None, "alternate"))
            related = [x.get("href") for x in links if x.get("rel") == "related"]
            assert url not in expected.values(), f"{path.name}: a repost has its own entry"
            assert related == ([expected[url]] if url in expected else [])
    assert list((tmp_path / "public" / "feeds" / "archive").rglob("*.atom"))
    all_feed = ElementTree.fromstring((tmp_path / "public" / "feeds" / "all.atom").read_bytes())
    assert any(x.get("rel") == "related" for x in all_feed.iter(f"{{{ns['a']}}}link"))
    items = json.loads((tmp_path / "public" / "feeds" / "all.json").read_text("utf-8"))["items"]
    for item in items:
        also = [o["url"] for o in item.get("_zonewire", {}).get("also", [])]
        assert also == ([expected[item["url"]]] if item["url"] in expected else [])


def test_an_incremental_build_links_a_repost_that_came_after_the_feeds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database_url: str,
    gazetteer: Gazetteer, now: datetime,
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "zonewire.yaml").write_text(f"database: {database_url}\n", "utf-8")
    store = Storage.open(database_url)
    try:
        Ingestor(store, gazetteer).add([site_article(now)], now=now, source_name="zone-site")
        assert main(["feeds", "build"]) == 0
        feed = tmp_path / "public" / "feeds" / "all.atom"
        assert b'rel="related"' not in feed.read_bytes()
        later = now + timedelta(hours=3)
        Ingestor(store, gazetteer).add([repost(later)], now=later, source_name="investchn")
    finally:
        store.close()
    assert main(["feeds", "build"]) == 0
    ns = {"a": "http://www.w3.org/2005/Atom"}
    (entry,) = ElementTree.fromstring(feed.read_bytes()).findall("a:entry", ns)
    links = {(x.get("rel"), x.get("href")) for x in entry.findall("a:link", ns)}
    assert links == {(None, SITE_URL), ("related", PORTAL_URL)}
    updated = datetime.fromisoformat(entry.findtext("a:updated", namespaces=ns) or "")
    assert later <= updated < later + timedelta(seconds=1)  # it changed when the repost came
