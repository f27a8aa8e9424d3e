"""Edge: what the feed builds remember between runs (tables ``feed_state`` and
``feed_builds``, migration 0003).

``feed_state`` holds one row per feed (its entry seqs, fingerprint, article count
and last publication) plus a ``~version`` pseudo-row: the render version and the
settings that shape every document (WebSub hubs, archive page size), so changing
any of them makes the next build a full one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from feeds.storage.schema import feed_builds, feed_state
from feeds.store import ArticleStore

if TYPE_CHECKING:
    from feeds.feedplan import Plan

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


def last_build(store: ArticleStore) -> LastBuild | None:
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


def state_version(store: ArticleStore) -> str | None:
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
            "entries": ",".join(map(str, p.seqs)),
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
                "entries": "",
                "articles": 0,
                "last_published": None,
            }
        )
    if rows:
        conn.execute(sa.insert(feed_state), rows)
