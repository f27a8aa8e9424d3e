"""Edge: what the feed builds remember between runs, as the build sees it.

The rows live in storage (:class:`~feeds.storage.protocols.FeedStateStore`): one
state per feed (fingerprint, article count, last publication, entry list) and a
settings version (the render version, WebSub hubs, archive page size), so changing
any of them makes the next build a full one. This module says what that version is
and turns the build's plans into the records stored.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from feeds.storage.feed_state import FeedRecord, LastBuild

if TYPE_CHECKING:
    from feeds.buildplan import Plan
    from feeds.storage import Storage

__all__ = ["RENDER_VERSION", "LastBuild", "last_build", "records", "settings_version"]

#: Bumped whenever rendering changes in a way the fingerprints cannot see, so the
#: next incremental build re-renders everything once (3: archives, region pages).
RENDER_VERSION = "3"


def last_build(store: Storage) -> LastBuild | None:
    """The last build's summary, or ``None`` before the first."""
    return store.feed_state.last_build()


def settings_version(hubs: Sequence[str], page_size: int) -> str:
    """The render version with the hub list and the archive page size: changing
    either re-renders every feed once."""
    version = f"{RENDER_VERSION}/p{page_size}"
    if not hubs:
        return version
    return version + ":" + hashlib.sha256("\n".join(hubs).encode()).hexdigest()[:16]


def records(plans: Iterable[Plan]) -> list[FeedRecord]:
    """What the next build compares against, from the plans this one carried out."""
    return [
        FeedRecord(p.key, p.fingerprint or "", p.count, p.last_published, tuple(p.seqs))
        for p in plans
    ]
