"""Edge: what a feed build reads from the store, handed to the pure planner.

A full build plans every feed in one pass over the region links; an incremental one
reads what changed since the last build and lets :mod:`feeds.buildplan` decide
(see :func:`plan_changed`). The queries are storage's
(:class:`~feeds.storage.protocols.FeedPlanStore`); feeds list each story once, as
its first article (SPEC §6).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from feeds.atom import ALL_KEY
from feeds.buildplan import Known, Plan, Row, new_mark, plan_feeds, touched
from feeds.feedstate import RENDER_VERSION, LastBuild
from feeds.regions import Gazetteer

if TYPE_CHECKING:
    from feeds.storage.protocols import FeedPlanStore, FeedStateStore

#: Articles held in memory at once while rendering (a batch of neighbouring feeds).
BATCH_ARTICLES = 8000

__all__ = ["BATCH_ARTICLES", "Plan", "known_feeds", "loader", "names", "plan_all", "plan_changed"]


def plan_all(store: FeedPlanStore, limit: int) -> list[Plan]:
    """Every feed: each region's newest ``limit`` seqs and count, and ``all``."""
    plans = [Plan(key, seqs, count) for key, seqs, count in store.region_tops(limit)]
    rows, count = store.newest_rows(None, limit)
    plans.append(Plan(ALL_KEY, [r.seq for r in rows], count))
    return plans


def plan_changed(
    store: FeedPlanStore,
    state: FeedStateStore,
    limit: int,
    previous: LastBuild,
    known: Mapping[str, Known],
) -> tuple[list[Plan], datetime | None, set[int]]:
    """Only the feeds that hold an article added or re-imported since the last build,
    the new re-import mark, and the seqs of those articles: the store is read here,
    :mod:`feeds.buildplan` decides."""
    changed = {
        seq: Row(*row)
        for seq, row in store.changed_rows(previous.last_seq, previous.updated_mark).items()
    }
    mark = new_mark(changed.values(), previous.updated_mark)
    if not changed:
        return [], mark, set()
    regions = store.regions_of(changed)
    # A re-imported article may have moved region: the feeds that listed it before.
    again = [seq for seq in changed if seq <= previous.last_seq]
    listed = state.listing_feeds(again) if again else {}
    touch = touched(changed, regions, previous.last_seq, listed, known)
    lists = state.entry_lists(touch.merge)
    old = store.rows({s for seqs in lists.values() for s in seqs})
    before = {key: [Row(*old[s]) for s in seqs if s in old] for key, seqs in lists.items()}
    queried = {key: _requery(store, key, limit) for key in sorted(touch.requery)}
    plans = plan_feeds(
        touch, changed, previous.last_seq, known, before, queried, limit, RENDER_VERSION
    )
    return plans, mark, set(changed)


def known_feeds(state: FeedStateStore) -> dict[str, Known]:
    """Every feed as the last build left it (the settings pseudo-row included)."""
    return {key: Known(*summary) for key, summary in state.known().items()}


def _requery(store: FeedPlanStore, key: str, limit: int) -> tuple[list[Row], int]:
    """A feed's newest ``limit`` rows and its article count, straight from the store."""
    rows, count = store.newest_rows(None if key == ALL_KEY else key, limit)
    return [Row(*r) for r in rows], count


def loader(store: FeedPlanStore, gazetteer: Gazetteer) -> Any:
    """``load(seqs, light=False)``: full articles, regions as the store placed them,
    leaf first (zone, district, city, province) so categories read from the most
    specific."""
    return store.load


def names(gazetteer: Gazetteer) -> Any:
    def name(key: str) -> str | None:
        region = gazetteer.find(key)
        return region.name if region is not None else None

    return name
