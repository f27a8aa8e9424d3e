"""Every record stands alone in the shared ingest path (SPEC §5, issue 10).

Run against SQLite and PostgreSQL: the bad record is reported with its place and
skipped, every other record of its batch and of the rest of the input is stored.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from feeds import intake as ingest_module
from feeds.intake import Ingestor
from feeds.models import CHINA_TZ, ArticleRecord
from feeds.regions import Gazetteer
from feeds.storage import Storage
from tests.support.rawdb import raw_connection


def record(n: int, **changes: object) -> ArticleRecord:
    base = ArticleRecord(
        url=f"https://www.investchn.com/index.php/home/news/detail/id/{n}.html",
        title=f"第{n}号项目签约落户",
        published=datetime(2022, 11, 7, tzinfo=CHINA_TZ) + timedelta(hours=n),
        source="嘉兴日报",
        zone="嘉兴港区",
        region="嘉兴",
        content=f"<p>第{n}号项目正文。</p>",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def add(
    store: Storage, gazetteer: Gazetteer, records: list[ArticleRecord], now: datetime
) -> tuple[int, dict[int, str]]:
    """Ingest with places 1..N, as the import does; (inserted, {place: reason})."""
    rejected: dict[int, str] = {}
    counts = Ingestor(store, gazetteer).add_located(
        enumerate(records, start=1), now=now, on_reject=rejected.__setitem__
    )
    assert counts.rejected == len(rejected)
    return counts.inserted, rejected


def test_text_is_made_valid_before_it_is_hashed_and_stored(
    store: Storage, gazetteer: Gazetteer, now: datetime
) -> None:
    dirty = record(
        1, title="港区\x00新闻\x01", source="区\ud800政府", content="<p>正\x0b文\ufffe</p>"
    )
    inserted, rejected = add(store, gazetteer, [dirty], now)
    assert (inserted, rejected) == (1, {})
    stored = store.get(dirty.url)
    assert stored is not None
    assert stored.title == "港区新闻"
    assert stored.source == "区\ufffd政府"  # a lone surrogate leaves a mark
    assert stored.content == "<p>正文</p>"
    # The same dirty record again is the same article, unchanged.
    again = Ingestor(store, gazetteer).add([dirty], now=now + timedelta(hours=1))
    assert (again.inserted, again.unchanged) == (0, 1)


@pytest.mark.parametrize(
    ("bad", "says"),
    [
        ({"published": datetime(1989, 6, 1, tzinfo=CHINA_TZ)}, "before 1990-01-01"),
        ({"published": datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=8)))}, "before 1990"),
        ({"published": datetime(9999, 12, 31, tzinfo=timezone(-timedelta(hours=8)))}, "after now"),
        ({"url": "https://example.org/" + "长" * 300}, "longer than 2,048 characters"),
        ({"url": "https://example.org/\ud800"}, "not valid Unicode"),
        ({"url": "ftp://example.org/a"}, "not an absolute http(s) URL"),
        ({"title": "\x00\x01 "}, "'title' is blank"),
        ({"zone": "开发区" * 40}, "too long to be a zone name"),
    ],
)
def test_a_record_that_cannot_be_stored_is_reported_and_its_batch_is_kept(
    store: Storage, gazetteer: Gazetteer, now: datetime, bad: dict[str, object], says: str
) -> None:
    records = [record(n) for n in range(1, 6)]
    records[2] = record(3, **bad)
    inserted, rejected = add(store, gazetteer, records, now)
    assert inserted == 4
    assert list(rejected) == [3]
    assert says in rejected[3]
    assert store.count() == 4


def test_dates_on_both_edges_of_the_window(
    store: Storage, gazetteer: Gazetteer, now: datetime
) -> None:
    records = [
        record(1, published=datetime(1989, 12, 31, tzinfo=CHINA_TZ)),
        record(2, published=datetime(9999, 1, 1, tzinfo=CHINA_TZ)),
        record(3, published=now + timedelta(days=2)),
        record(4, published=now),
        record(5, published=now + timedelta(hours=20)),
    ]
    inserted, rejected = add(store, gazetteer, records, now)
    assert inserted == 2
    assert sorted(rejected) == [1, 2, 3]
    latest = store.latest(None, 1)[0]
    assert latest.url == records[4].url  # year 9999 did not take the top of the feeds


def test_zone_names_sharing_a_slug_in_one_batch_are_both_stored(
    store: Storage, gazetteer: Gazetteer, now: datetime
) -> None:
    records = [record(1, zone="嘉兴港区"), record(2, zone="嘉兴港區"), record(3, zone="!!!"),
               record(4, zone="@@@")]
    inserted, rejected = add(store, gazetteer, records, now)
    assert (inserted, rejected) == (4, {})


def _refuse_titles(store: Storage, title: str) -> None:
    """A real database rule that refuses one value: the way a database refuses what
    zonewire cannot foresee (a CHECK on PostgreSQL, a trigger on SQLite)."""
    with raw_connection(store, write=True) as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql(
                "CREATE TRIGGER refuse BEFORE INSERT ON articles "
                f"WHEN NEW.title = '{title}' BEGIN SELECT RAISE(ABORT, 'refused title'); END"
            )
        else:
            conn.exec_driver_sql(
                f"ALTER TABLE articles ADD CONSTRAINT refuse CHECK (title <> '{title}')"
            )


def test_a_batch_the_database_refuses_is_stored_one_by_one(
    store: Storage,
    gazetteer: Gazetteer,
    now: datetime,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ingest_module, "BATCH", 10)  # three batches, the middle one refused
    _refuse_titles(store, "拒收")
    records = [record(n) for n in range(1, 26)]
    records[14] = record(15, title="拒收")
    inserted, rejected = add(store, gazetteer, records, now)
    assert inserted == 24
    assert list(rejected) == [15]
    assert "the database refused it" in rejected[15]
    stored = {a.url for a in store.iter_articles()}
    assert stored == {r.url for r in records} - {records[14].url}
    # Ingest order is still the input order, around the refused record.
    order = [a.url for a in store.iter_articles()]
    assert order == [r.url for r in records if r.title != "拒收"]


def test_a_database_that_is_gone_is_not_blamed_on_the_records(
    store: Storage, gazetteer: Gazetteer, now: datetime
) -> None:
    with raw_connection(store, write=True) as conn:
        conn.execute(sa.text("DROP TABLE article_regions"))
    rejected: dict[int, str] = {}
    with pytest.raises(sa.exc.DBAPIError):
        Ingestor(store, gazetteer).add_located(
            enumerate([record(1), record(2)], start=1), now=now, on_reject=rejected.__setitem__
        )
    assert rejected == {}
