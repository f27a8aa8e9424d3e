"""The pure feed-build planner with plain data: which feeds a change touches, each
feed's entry list, and which documents must be rendered."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from feeds.buildplan import (
    ALL_KEY,
    Known,
    Plan,
    Row,
    documents,
    fingerprint,
    gone_feeds,
    merge_entries,
    new_mark,
    page_count,
    paged,
    plan_feeds,
    site_documents,
    touched,
)

T0 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
V = "3"


def row(seq: int, hours: float = 0.0, moved: float | None = None, h: str = "h") -> Row:
    published = T0 - timedelta(hours=hours)
    updated = published if moved is None else T0 + timedelta(hours=moved)
    return Row(seq, published, updated, f"{h}{seq}")


def newest(rows: list[Row], limit: int) -> list[Row]:
    return sorted(rows, key=lambda r: (r.published, r.seq), reverse=True)[:limit]


def test_new_articles_touch_their_regions_and_all_and_merge_known_feeds() -> None:
    changed = {11: row(11), 12: row(12, 1)}
    regions = {11: ["z1", "110102", "110000"], 12: ["z2", "110102", "110000"]}
    known = {k: Known(k, "fp", 10) for k in ("all", "z1", "110102", "110000")}
    touch = touched(changed, regions, 10, {}, known)
    assert touch.members == {
        "all": [11, 12],
        "z1": [11],
        "z2": [12],
        "110102": [11, 12],
        "110000": [11, 12],
    }
    # z2 has no feed yet: it is read from the store; the others are old list + newcomers.
    assert touch.merge == {"all", "z1", "110102", "110000"} and touch.requery == {"z2"}
    assert touch.left == {}


def test_a_reimported_article_that_moved_touches_the_feeds_that_listed_it() -> None:
    changed = {5: row(5, 3, moved=1)}
    regions = {5: ["330400", "330000"]}
    listed = {"z1": {5}, "110102": {5}, "110000": {5}, "all": {5}}
    known = {k: Known(k, "fp", 3) for k in ("all", "z1", "110102", "110000", "330400")}
    touch = touched(changed, regions, 10, listed, known)
    assert set(touch.members) == {"all", "330400", "330000", "z1", "110102", "110000"}
    assert touch.left == {"z1": {5}, "110102": {5}, "110000": {5}}
    # Anything holding a re-imported article is read afresh (its date may have moved).
    assert touch.merge == set() and touch.requery == set(touch.members)


def test_nothing_changed_touches_nothing() -> None:
    touch = touched({}, {}, 10, {}, {})
    assert touch.members == {} and touch.merge == set()


def test_merge_keeps_the_newest_by_published_then_seq() -> None:
    old = [row(3, 1), row(2, 2), row(1, 2)]
    new = [row(9, 1.5), row(10, 5)]
    assert [r.seq for r in merge_entries(old, new, 4)] == [3, 9, 2, 1]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(0, 50), min_size=0, max_size=40),
    st.lists(st.integers(0, 50), min_size=1, max_size=10),
    st.integers(1, 15),
)
def test_merging_equals_reading_the_feed_afresh(
    old_hours: list[int], new_hours: list[int], limit: int
) -> None:
    """The merge shortcut gives the entry list a fresh query would, whatever the dates
    (a backfill older than every entry included)."""
    old = [row(i + 1, h) for i, h in enumerate(old_hours)]
    top = len(old)
    new = [row(top + i + 1, h) for i, h in enumerate(new_hours)]
    changed = {r.seq: r for r in new}
    known = {"z": Known("z", "fp", len(old))}
    touch = touched(changed, {r.seq: ["z"] for r in new}, top, {}, known)
    assert "z" in touch.merge or not old
    previous = {"z": newest(old, limit)}
    queried = {k: (newest(old + new, limit), len(old) + len(new)) for k in touch.requery}
    found = plan_feeds(touch, changed, top, known, previous, queried, limit, V)
    plans = {p.key: p for p in found}
    expected = newest(old + new, limit)
    assert plans["z"].seqs == [r.seq for r in expected]
    assert plans["z"].count == len(old) + len(new)
    assert plans["z"].fingerprint == fingerprint(expected, V)
    # The feed of everything has no previous state here: it is read afresh.
    assert ALL_KEY in touch.requery and plans[ALL_KEY].seqs == plans["z"].seqs


def test_plan_remembers_the_oldest_reimported_article() -> None:
    changed = {4: row(4, 1, moved=2), 7: row(7, 0, moved=2), 12: row(12)}
    touch = touched(changed, {4: ["z"], 7: ["z"], 12: ["z"]}, 10, {"y": {7}}, {})
    queried = {
        "z": ([changed[12], changed[7], changed[4]], 3),
        "y": ([], 0),
        ALL_KEY: ([changed[12], changed[7], changed[4]], 12),
    }
    plans = {p.key: p for p in plan_feeds(touch, changed, 10, {}, {}, queried, 50, V)}
    assert plans["z"].reimported == 4 and plans["y"].reimported == 7
    assert plans["y"].seqs == [] and plans["y"].count == 0


def test_fingerprint_sees_content_updated_order_and_version() -> None:
    rows = [row(2), row(1, 1)]
    base = fingerprint(rows, V)
    assert fingerprint(list(rows), V) == base
    assert fingerprint(rows[::-1], V) != base
    assert fingerprint([row(2, h="x"), row(1, 1)], V) != base
    assert fingerprint([row(2, moved=3), row(1, 1)], V) != base
    assert fingerprint(rows, "4") != base


@pytest.mark.parametrize(
    ("before", "count", "rank", "first", "pages"),
    [
        (0, 3, None, 1, 1),  # a new feed: its one open page
        (7, 9, None, 2, 2),  # the open page (page 2) takes the newcomers
        (9, 11, None, 2, 3),  # page 2 fills, page 3 opens: both rendered
        (12, 13, 1, 1, 3),  # a re-import on page 1 re-renders from there
    ],
)
def test_documents_of_an_incremental_build(
    before: int, count: int, rank: int | None, first: int, pages: int
) -> None:
    plan = Plan("z", [1], count, "new")
    doc = documents(plan, Known("z", "old", before), False, 5, rank)
    assert (doc.current, doc.archive_from, doc.pages, doc.region_page) == (True, first, pages, True)
    assert plan.fingerprint == paged("new", pages)


def test_unchanged_feed_keeps_its_current_documents() -> None:
    pages = page_count(7, 5)
    plan = Plan("z", [1, 2], 7, "same")
    doc = documents(plan, Known("z", paged("same", pages), 7), False, 5, None)
    assert not doc.current and doc.region_page and doc.archive_from == 2
    # One more article opens a new archive page: the feed's prev-archive link moves.
    grown = Plan("z", [1, 2], 10, "same")
    assert documents(grown, Known("z", paged("same", pages), 7), False, 5, None).current


def test_full_build_renders_everything_and_empty_feeds_nothing() -> None:
    doc = documents(Plan("z", [1], 12, None), Known("z", "x", 12), True, 5, None)
    assert (doc.current, doc.archive_from, doc.pages) == (True, 1, 3)
    empty = documents(Plan("z", [], 0, "e"), Known("z", "x", 1), False, 5, None)
    assert (empty.current, empty.archive_from, empty.region_page) == (False, 0, False)
    # The feed of every article exists even for an empty store, without archive.
    everything = documents(Plan(ALL_KEY, [], 0, None), None, True, 5, None)
    assert everything.current and everything.archive_from == 0 and not everything.region_page


def test_gone_feeds_and_site_documents() -> None:
    plans = [Plan("a", [], 0), Plan(ALL_KEY, [], 0), Plan("b", [1], 1)]
    assert gone_feeds(plans, ["a", "b", "c", "~version"], ["b"], False) == ["a"]
    assert gone_feeds(plans, ["a", "b", "c", "~version"], ["b"], True) == ["a", "c"]
    assert site_documents(False, 0, 0, {"a"}, {"a"}, True) == ()
    assert site_documents(False, 2, 0, {"a"}, {"a"}, True) == ("index.html",)
    assert site_documents(False, 2, 0, {"a"}, {"a", "b"}, True) == ("index.html", "feeds.opml")
    assert site_documents(False, 0, 0, {"a"}, {"a"}, False) == ("index.html", "feeds.opml")
    assert site_documents(True, 0, 0, {"a"}, {"a"}, True) == ("index.html", "feeds.opml")


def test_new_mark_is_the_newest_reimport() -> None:
    assert new_mark([row(1), row(2)], None) is None
    moved = row(3, 5, moved=2)
    assert new_mark([row(1), moved, row(4, 1, moved=1)], None) == moved.updated
    later = T0 + timedelta(hours=9)
    assert new_mark([moved], later) == later
