"""Edge: what the feed builds remember between runs (tables ``feed_state`` and
``feed_builds``, migration 0003).

``feed_state`` holds one row per feed (fingerprint, article count and last
publication; its entry seqs are rows of ``feed_state_entries``) plus a ``~version``
pseudo-row: the render version and the settings that shape every document (WebSub
hubs, archive page size), so changing any of them makes the next build a full one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from feeds.buildplan import Known
from feeds.storage import Storage
from feeds.storage.feed_entries import save_entry_lists
from feeds.storage.schema import feed_builds, feed_state

if TYPE_CHECKING:
    from feeds.buildplan import Plan

#: Bumped whenever rendering changes in a way the fingerprints cannot see, so the
#: next incremental build re-renders everything once (3: archives, region pages).
RENDER_VERSION = "3"
IN_CHUNK = 500




@dataclass(frozen=True, slots=True)
class LastBuild:
    last_seq: int
    updated_mark: datetime | None
    built_at: datetime
    feeds: int
    written: int
    base_url: str
    entries: int


def last_build(store: Storage) -> LastBuild | None:
    """The last build's summary, or ``None`` before the first."""
    with store.engine.connect() as conn:
        row = conn.execute(sa.select(feed_builds).where(feed_builds.c.id == 1)).first()
    if row is None:
        return None
    return LastBuild(
        row.last_seq,
        row.updated_mark,
        row.built_at,
        row.feeds,
        row.written,
        row.base_url,
        row.entries,
    )


def state_version(store: Storage) -> str | None:
    """The render version the stored fingerprints were made with (kept in a
    pseudo-row so a renderer change forces one full build)."""
    with store.engine.connect() as conn:
        value = conn.execute(
            sa.select(feed_state.c.fingerprint).where(feed_state.c.key == "~version")
        ).scalar()
    return None if value is None else str(value)


def settings_version(hubs: Sequence[str], page_size: int) -> str:
    """The render version with the hub list and the archive page size: changing
    either re-renders every feed once."""
    version = f"{RENDER_VERSION}/p{page_size}"
    if not hubs:
        return version
    return version + ":" + hashlib.sha256("\n".join(hubs).encode()).hexdigest()[:16]


def save_state(
    conn: Connection, plans: dict[str, Plan], gone: list[str], full: bool, version: str
) -> None:
    if full:
        conn.execute(sa.delete(feed_state))
    else:
        doomed = list(plans) + gone
        for start in range(0, len(doomed), IN_CHUNK):
            conn.execute(
                sa.delete(feed_state).where(feed_state.c.key.in_(doomed[start : start + IN_CHUNK]))
            )
    rows = [
        {
            "key": p.key,
            "fingerprint": p.fingerprint or "",
            "articles": p.count,
            "last_published": p.last_published,
        }
        for p in plans.values()
    ]
    if full:
        rows.append(
            {
                "key": "~version",
                "fingerprint": version,
                "articles": 0,
                "last_published": None,
            }
        )
    if rows:
        conn.execute(sa.insert(feed_state), rows)
    save_entry_lists(conn, {p.key: p.seqs for p in plans.values()}, gone, full)


def known_feeds(conn: Connection) -> dict[str, Known]:
    """Every feed as the last build left it (the ``~version`` row included)."""
    query = sa.select(feed_state.c.key, feed_state.c.fingerprint, feed_state.c.articles)
    return {key: Known(key, fp, int(count)) for key, fp, count in conn.execute(query)}


def feed_rows(conn: Connection) -> list[tuple[str, int, datetime | None]]:
    """(key, articles, last publication) of every feed: what the index lists."""
    query = sa.select(feed_state.c.key, feed_state.c.articles, feed_state.c.last_published)
    return [(r[0], int(r[1]), r[2]) for r in conn.execute(query)]


def save_build(conn: Connection, values: dict[str, object]) -> None:
    """Record this build's summary (one row, replaced)."""
    if conn.execute(sa.update(feed_builds).where(feed_builds.c.id == 1), values).rowcount == 0:
        conn.execute(sa.insert(feed_builds), {"id": 1, **values})
