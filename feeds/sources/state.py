"""What zonewire remembers about each source between polls, as values.

:class:`SourceState` (the last poll and its outcome, counters, whether the first
poll — the backfill — is done) and :class:`Validators` (HTTP validators of a list
page or feed, for conditional GET). They are stored by
:mod:`feeds.storage.sources`; read and write them through
:class:`feeds.storage.protocols.SourceStateStore`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

#: Poll outcomes, as shown by ``zonewire status``.
OK, PARTIAL, FAILED, UNCHANGED = "ok", "partial", "failed", "unchanged"


@dataclass(frozen=True, slots=True)
class SourceState:
    """One source's memory. Counters named ``pages_*``/``links_*``/``articles_*``/
    ``extract_*`` describe the LAST poll; ``error_count`` and ``polls`` are totals."""

    name: str
    last_poll_at: datetime | None = None
    last_success_at: datetime | None = None
    last_result: str | None = None
    last_error: str | None = None
    consecutive_failures: int = 0
    error_count: int = 0
    polls: int = 0
    pages_fetched: int = 0
    pages_failed: int = 0
    links_found: int = 0
    extract_failed: int = 0
    articles_found: int = 0
    empty_polls: int = 0  # consecutive polls whose fetched list pages held no detail link
    last_article_at: datetime | None = None
    last_article_url: str | None = None
    backfill_done: bool = False


@dataclass(frozen=True, slots=True)
class Validators:
    etag: str | None = None
    last_modified: str | None = None

