"""FeedPlanStore, FeedStateStore, FeedEntryCache and ArchiveStore contracts: what a
feed build reads and leaves behind, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from feeds.models import ArticleRecord
from feeds.rows import PlacedArticle
from feeds.storage import Storage
from feeds.storage.feed_entries import CachedEntry
from feeds.storage.feed_state import FeedRecord, LastBuild
from feeds.stories import story_print

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
CITY, DISTRICT, OTHER = "320500", "320571", "330400"
STORY = "苏州工业园区签约一批重点项目，总投资超过一百亿元。" * 8


def placed(
    n: int, keys: tuple[str, ...], *, hours: int = 0, source: str = "甲", content: str = ""
) -> PlacedArticle:
    record = ArticleRecord(
        url=f"https://example.org/{n}",
        title=f"第{n}条" if not content else "重点项目签约",
        published=NOW - timedelta(hours=hours),
        source=source,
        content=content or f"正文{n}",
    )
    story = story_print(record.title, record.content) if content else None
    return PlacedArticle(record, keys, source_name=source, story=story)


def fill(storage: Storage) -> dict[int, int]:
    """Articles 1-4 in the district (and city), 5 elsewhere; published out of seq
    order. Returns article number -> seq."""
    storage.upsert(
        [
            placed(1, (DISTRICT, CITY), hours=5),
            placed(2, (DISTRICT, CITY), hours=1),
            placed(3, (CITY,), hours=3),
            placed(4, (DISTRICT, CITY), hours=2),
            placed(5, (OTHER,), hours=4),
        ],
        now=NOW,
    )
    return {n: seq_of(storage, n) for n in range(1, 6)}


def seq_of(storage: Storage, n: int) -> int:
    article = storage.get(f"https://example.org/{n}")
    assert article is not None
    return article.seq


def test_plan_queries_give_each_feed_newest_first_with_its_count(storage: Storage) -> None:
    seq = fill(storage)
    plans = storage.feed_plan
    assert plans.top_seq() == seq[5]
    tops = {key: (seqs, count) for key, seqs, count in plans.region_tops(2)}
    assert tops == {
        CITY: ([seq[2], seq[4]], 4),
        DISTRICT: ([seq[2], seq[4]], 3),
        OTHER: ([seq[5]], 1),
    }
    rows, count = plans.newest_rows(None, 3)
    assert [r.seq for r in rows] == [seq[2], seq[4], seq[3]] and count == 5
    rows, count = plans.newest_rows(DISTRICT, 10)
    assert [r.seq for r in rows] == [seq[2], seq[4], seq[1]] and count == 3
    assert rows[0].published == NOW - timedelta(hours=1)
    assert sorted(plans.regions_of([seq[1], seq[5]])[seq[1]]) == sorted([DISTRICT, CITY])
    assert plans.regions_of([seq[5]]) == {seq[5]: [OTHER]}
    assert set(plans.rows([seq[1], seq[3], 999])) == {seq[1], seq[3]}


def test_changed_rows_are_new_articles_and_reimports_since_the_mark(storage: Storage) -> None:
    seq = fill(storage)
    plans = storage.feed_plan
    assert set(plans.changed_rows(0, None)) == set(seq.values())
    assert plans.changed_rows(seq[5], None) == {}
    assert plans.reimport_mark() is None
    later = NOW + timedelta(hours=1)
    edited = placed(3, (CITY,), hours=3)
    edited = PlacedArticle(
        ArticleRecord(edited.record.url, "改过的标题", edited.record.published, content="新正文"),
        edited.region_keys,
    )
    storage.upsert([edited], now=later)
    changed = plans.changed_rows(seq[5], None)
    assert set(changed) == {seq[3]} and changed[seq[3]].updated == later
    assert plans.reimport_mark() == later
    # At or after the mark: still changed; after it: no longer.
    assert set(plans.changed_rows(seq[5], later)) == {seq[3]}
    assert plans.changed_rows(seq[5], later + timedelta(seconds=1)) == {}


def test_load_gives_articles_with_their_stored_regions_and_light_ones_without_text(
    storage: Storage,
) -> None:
    seq = fill(storage)
    full = storage.feed_plan.load([seq[1], seq[5]])
    assert full[seq[1]].content == "正文1" and full[seq[1]].title == "第1条"
    # the regions the store placed it in (article_regions), leaf first
    assert full[seq[1]].region_keys == storage.get("https://example.org/1").region_keys
    assert set(full[seq[1]].region_keys) == {DISTRICT, CITY}
    light = storage.feed_plan.load([seq[1]], light=True)
    assert light[seq[1]].content == "" and light[seq[1]].summary is None
    assert light[seq[1]].content_hash == full[seq[1]].content_hash
    assert storage.feed_plan.load([]) == {}


def test_feeds_list_a_story_once_and_its_lead_names_the_others(storage: Storage) -> None:
    storage.upsert([placed(1, (CITY,), hours=2, source="甲", content=STORY)], now=NOW)
    storage.upsert([placed(2, (CITY,), hours=1, source="乙", content=STORY)], now=NOW)
    lead, joined = seq_of(storage, 1), seq_of(storage, 2)
    plans = storage.feed_plan
    assert {key: seqs for key, seqs, _ in plans.region_tops(10)} == {CITY: [lead]}
    assert plans.newest_rows(None, 10)[1] == 1
    assert set(plans.changed_rows(0, None)) == {lead}
    loaded = plans.load([lead])
    assert [o.url for o in loaded[lead].also] == ["https://example.org/2"]
    assert joined not in plans.changed_rows(0, None)


def test_feed_states_are_saved_in_one_transaction_and_replaced_per_feed(
    storage: Storage,
) -> None:
    state = storage.feed_state
    assert state.last_build() is None and state.version() is None and state.known() == {}
    build = LastBuild(7, None, NOW, 2, 9, "https://feeds.example.org/", 50)
    with state.saving() as saving:
        saving.save_feeds(
            [FeedRecord("a", "fa", 3, NOW, (3, 1, 2)), FeedRecord("b", "fb", 1, None, (5,))],
            [],
            full=True,
            version="3/p100",
        )
        assert sorted(r[0] for r in saving.feed_rows()) == ["a", "b", "~version"]
        saving.save_build(build)
    assert state.last_build() == build
    assert state.version() == "3/p100"
    assert {k: (s.fingerprint, s.articles) for k, s in state.known().items() if k[0] != "~"} == {
        "a": ("fa", 3),
        "b": ("fb", 1),
    }
    assert state.entry_lists(["a", "b", "c"]) == {"a": [3, 1, 2], "b": [5]}
    assert state.listing_feeds([1, 5, 8]) == {"a": {1}, "b": {5}}
    # An incremental save replaces the named feeds, drops the gone ones, keeps the rest.
    with state.saving() as saving:
        saving.save_feeds([FeedRecord("c", "fc", 1, NOW, (8,))], ["b"], full=False, version="x")
        saving.save_build(LastBuild(8, NOW, NOW, 2, 1, build.base_url, 50))
    assert sorted(state.known()) == ["a", "c", "~version"] and state.version() == "3/p100"
    assert state.entry_lists(["a", "b", "c"]) == {"a": [3, 1, 2], "c": [8]}
    assert dict((k, n) for k, n, _ in state.feed_rows())["c"] == 1
    last = state.last_build()
    assert last is not None and (last.last_seq, last.updated_mark) == (8, NOW)


def test_a_failed_save_leaves_the_last_build_as_it_was(storage: Storage) -> None:
    state = storage.feed_state
    with pytest.raises(RuntimeError):
        with state.saving() as saving:
            saving.save_feeds([FeedRecord("a", "fa", 1, NOW, (1,))], [], full=True, version="v")
            raise RuntimeError("the site could not be written")
    assert state.known() == {} and state.last_build() is None and state.entry_lists(["a"]) == {}


def test_kept_entries_are_replaced_per_article_and_forgotten_at_once(storage: Storage) -> None:
    seq = fill(storage)
    cache = storage.feed_entries

    def entry(n: int, atom: bytes) -> CachedEntry:
        return CachedEntry(seq[n], "v1", f"h{n}", NOW, atom, "{}", "<li>页</li>")

    assert cache.get([seq[1]]) == {}
    cache.save([entry(1, b"<entry>1</entry>"), entry(2, b"\x00\xff")], replace=False)
    kept = cache.get([seq[1], seq[2], seq[3]])
    assert set(kept) == {seq[1], seq[2]} and kept[seq[2]].atom == b"\x00\xff"
    assert kept[seq[1]].page == "<li>页</li>" and kept[seq[1]].fits("v1", "h1", NOW)
    assert not kept[seq[1]].fits("v2", "h1", NOW)
    cache.save([entry(1, b"<entry>new</entry>")])
    assert cache.get([seq[1]])[seq[1]].atom == b"<entry>new</entry>"
    cache.forget()
    assert cache.get(seq.values()) == {}


def test_archive_ranks_are_by_seq_whatever_the_publication_date(storage: Storage) -> None:
    seq = fill(storage)
    archive = storage.archive
    assert dict(archive.region_seqs({DISTRICT, OTHER, "nowhere"})) == {
        DISTRICT: [seq[1], seq[2], seq[4]],
        OTHER: [seq[5]],
    }
    assert archive.all_seqs() == sorted(seq.values())
    assert archive.newest_seqs(CITY, 2) == [seq[3], seq[4]]
    assert archive.newest_seqs(None, 10) == sorted(seq.values())
    assert archive.rank(DISTRICT, seq[4]) == 2
    assert archive.rank(DISTRICT, seq[3]) == 2  # not in the district: where it would rank
    assert archive.rank(None, seq[1]) == 0 and archive.rank(None, seq[5] + 1) == 5
