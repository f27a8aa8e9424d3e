"""Articles on their way into the store: placed records, content hashes, entry ids.

Pure values and functions; :mod:`feeds.storage.bulk` writes them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from feeds.models import ArticleRecord

if TYPE_CHECKING:
    from feeds.stories import StoryPrint


@dataclass(frozen=True, slots=True)
class PlacedArticle:
    """A record ready to store: canonical URL and resolved regions attached."""

    record: ArticleRecord
    region_keys: tuple[str, ...]  # the leaf region first, then every region above it
    unresolved: str | None = None  # the name that could not be placed, if any
    source_name: str | None = None
    #: Its text's print for folding into stories (SPEC §6); ``None``: not folded.
    story: StoryPrint | None = None


def content_hash(record: ArticleRecord) -> str:
    """What decides "changed" on re-import: every field a reader could see."""
    r = record
    fields = (
        r.title,
        r.published.isoformat(),
        r.source,
        r.zone,
        r.region,
        r.category,
        r.content,
        r.summary,
    )
    # Unit separators keep ("ab", "c") and ("a", "bc") apart; None differs from "".
    payload = "\x1f".join("\x00" if f is None else f for f in fields)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def entry_id(url: str, first_seen: datetime) -> str:
    """A ``tag:`` URI (RFC 4151) minted once per article and never recomputed.

    RFC 4287 §4.2.6 asks that an entry id never change; it is stored with the article,
    so a later change of URL scheme or date does not move it.
    """
    digest = hashlib.sha1(url.encode("utf-8")).hexdigest()[:20]
    return f"tag:zonewire,{first_seen.astimezone(UTC):%Y-%m-%d}:article/{digest}"
