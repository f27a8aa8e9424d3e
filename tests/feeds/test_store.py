"""The article store contract, run against SQLite and PostgreSQL alike."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from feeds.intake import Ingestor, load_zones
from feeds.models import CHINA_TZ, ArticleRecord
from feeds.regions import Gazetteer
from feeds.storage import Storage


def record(n: int, **changes: object) -> ArticleRecord:
    base = ArticleRecord(
        url=f"https://www.investchn.com/index.php/home/news/detail/id/{n}.html",
        title=f"第{n}号项目签约落户",
        published=datetime(2022, 11, 7, tzinfo=CHINA_TZ) + timedelta(hours=n),
        source="西城区人民政府",
        zone="中关村科技园区德胜园",
        region="西城区",
        category="文字新闻",
        content=f"<p>第{n}号项目正文。</p>",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_insert_then_identical_reimport_is_a_no_op(
    store: Storage, gazetteer: Gazetteer, now: datetime
) -> None:
    ingest = Ingestor(store, gazetteer)
    first = ingest.add([record(1), record(2)], now=now)
    assert (first.inserted, first.updated, first.unchanged) == (2, 0, 0)
    before = store.get(record(1).url)
    again = ingest.add([record(1), record(2)], now=now + timedelta(hours=1))
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 2)
    assert store.get(record(1).url) == before
    assert store.count() == 2


def test_changed_content_updates_the_article_and_moves_updated_but_not_id(
    store: Storage, gazetteer: Gazetteer, now: datetime
) -> None:
    ingest = Ingestor(store, gazetteer)
    ingest.add([record(1)], now=now)
    original = store.get(record(1).url)
    assert original is not None
    later = now + timedelta(days=1)
    counts = ingest.add([record(1, content="<p>更正后的正文。</p>")], now=later)
    assert counts.updated == 1
    changed = store.get(record(1).url)
    assert changed is not None
    assert changed.content == "<p>更正后的正文。</p>"
    assert changed.id == original.id
    assert changed.seq == original.seq  # an update is not "newly added"
    assert changed.updated == later
    assert changed.updated > original.updated


def test_ingest_order_is_the_order_articles_were_added(
    store: Storage, gazetteer: Gazetteer, now: datetime
) -> None:
    ingest = Ingestor(store, gazetteer)
    # Published dates go backwards; ingest order must not follow them.
    ingest.add([record(5), record(3)], now=now)
    mark = store.max_seq()
    ingest.add([record(9), record(1)], now=now + timedelta(minutes=1))
    newer = [a.url for a in store.iter_articles(after_seq=mark)]
    assert newer == [record(9).url, record(1).url]
    assert [a.url for a in store.iter_articles()] == [record(n).url for n in (5, 3, 9, 1)]


def test_spellings_of_one_url_are_one_article(
    store: Storage, gazetteer: Gazetteer, now: datetime
) -> None:
    ingest = Ingestor(store, gazetteer)
    ingest.add([record(1)], now=now)
    loud = record(
        1,
        url=record(1).url.replace("https://www.investchn.com", "HTTPS://WWW.INVESTCHN.COM:443")
        + "#top",
    )
    counts = ingest.add([loud], now=now)
    assert counts.unchanged == 1
    assert store.count() == 1


def test_articles_carry_their_zone_and_every_region_above(
    store: Storage, gazetteer: Gazetteer, now: datetime
) -> None:
    Ingestor(store, gazetteer).add([record(1)], now=now)
    article = store.get(record(1).url)
    assert article is not None
    names = [gazetteer.get(k).name for k in article.region_keys]
    assert names == ["中关村科技园区德胜园", "西城区", "北京市"]
    assert [a.url for a in store.latest("110102", 10)] == [record(1).url]
    assert [a.url for a in store.latest("110000", 10)] == [record(1).url]
    assert store.latest("330400", 10) == []


def test_learned_zones_survive_a_restart(
    database_url: str, gazetteer: Gazetteer, now: datetime
) -> None:
    store = Storage.open(database_url)
    Ingestor(store, gazetteer).add([record(1)], now=now)
    store.close()
    reopened = Storage.open(database_url)
    try:
        fresh = load_zones(Gazetteer.default(), reopened)
        zone = fresh.zone_named("中关村科技园区德胜园")
        assert zone is not None and zone.parent_key == "110102"
        # An article naming only the zone lands under the zone's known district.
        Ingestor(reopened, fresh).add([record(2, region=None)], now=now)
        article = reopened.get(record(2).url)
        assert article is not None and article.region_keys[1] == "110102"
    finally:
        reopened.close()


def test_unresolvable_regions_are_stored_and_counted(
    store: Storage, gazetteer: Gazetteer, now: datetime
) -> None:
    ingest = Ingestor(store, gazetteer)
    ingest.add(
        [
            record(1, region="火星区", zone=None),
            record(2, region="火星区", zone=None),
            record(3, region="朝阳区", zone=None, source="朝阳区融媒体中心"),
        ],
        now=now,
    )
    assert store.count() == 3
    assert store.unresolved() == [("火星区", 2), ("朝阳区 (ambiguous)", 1)]
    kept = store.get(record(1).url)
    assert kept is not None and kept.region_keys == ()


def test_chaoyang_placed_by_its_zone_or_source(
    store: Storage, gazetteer: Gazetteer, now: datetime
) -> None:
    ingest = Ingestor(store, gazetteer)
    ingest.add(
        [
            record(1, region="朝阳区", zone="长春朝阳经济开发区", source="长春日报"),
            record(2, region="朝阳区", zone=None, source="北京市朝阳区人民政府"),
        ],
        now=now,
    )
    one, two = store.get(record(1).url), store.get(record(2).url)
    assert one is not None and two is not None
    assert "220104" in one.region_keys  # 长春市朝阳区
    assert two.region_keys == ("110105", "110000")  # 北京市朝阳区
    assert store.unresolved() == []


def test_region_counts_and_streaming(
    store: Storage, gazetteer: Gazetteer, now: datetime
) -> None:
    ingest = Ingestor(store, gazetteer)
    ingest.add([record(n) for n in range(1, 26)], now=now)
    counts = {row.key: row.articles for row in store.region_counts()}
    assert counts["110102"] == 25 and counts["110000"] == 25
    assert len(list(store.iter_articles(chunk=7))) == 25
    assert len(list(store.iter_articles(region_key="110102", chunk=4))) == 25


def test_nul_characters_are_dropped_on_every_backend(
    store: Storage, gazetteer: Gazetteer, now: datetime
) -> None:
    Ingestor(store, gazetteer).add(
        [record(1, title="园区\x00新闻", content="<p>正\x00文</p>", source="区\x00政府")], now=now
    )
    stored = store.get(record(1).url)
    assert stored is not None
    assert (stored.title, stored.content, stored.source) == ("园区新闻", "<p>正文</p>", "区政府")
