"""Storage of what zonewire remembers about each source between polls.

Two tables (migration ``0002b``): ``source_state`` (one row per configured source:
the last poll and its outcome, counters, whether the backfill is done) and
``source_urls`` (HTTP validators of list pages and feeds for conditional GET, and
pages that failed for a reason that will not heal by asking again).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import fields
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from feeds.sources.state import SourceState, Validators
from feeds.storage.schema import articles, source_state, source_urls
from feeds.storage.types import UTCDateTime

_STATE_FIELDS = [f.name for f in fields(SourceState)]


class SqlSourceStateStore:
    """:class:`~feeds.storage.protocols.SourceStateStore` over SQLAlchemy Core."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    # -- source state ---------------------------------------------------------

    def get(self, name: str) -> SourceState:
        with self._engine.connect() as conn:
            row = conn.execute(
                sa.select(source_state).where(source_state.c.name == name)
            ).first()
        return SourceState(name) if row is None else _state(row)

    def all(self) -> dict[str, SourceState]:
        with self._engine.connect() as conn:
            rows = conn.execute(sa.select(source_state).order_by(source_state.c.name)).all()
        return {row.name: _state(row) for row in rows}

    def save(self, state: SourceState) -> None:
        values = {name: getattr(state, name) for name in _STATE_FIELDS}
        with self._engine.begin() as conn:
            done = conn.execute(
                source_state.update().where(source_state.c.name == state.name), values
            )
            if done.rowcount == 0:
                conn.execute(source_state.insert(), values)

    # -- per-URL memory -------------------------------------------------------

    def validators(self, urls: Iterable[str]) -> dict[str, Validators]:
        wanted = list(urls)
        found: dict[str, Validators] = {}
        with self._engine.connect() as conn:
            for start in range(0, len(wanted), 500):
                rows = conn.execute(
                    sa.select(source_urls.c.url, source_urls.c.etag, source_urls.c.last_modified)
                    .where(source_urls.c.url.in_(wanted[start : start + 500]))
                    .where(sa.or_(source_urls.c.etag.is_not(None),
                                  source_urls.c.last_modified.is_not(None)))
                )
                for url, etag, modified in rows:
                    found[url] = Validators(etag, modified)
        return found

    def save_validators(
        self, source_name: str, items: dict[str, Validators], *, now: datetime
    ) -> None:
        for url, found in items.items():
            self._put(url, source_name, now, {"etag": found.etag,
                                              "last_modified": found.last_modified})

    def skipped(self, urls: Iterable[str], *, now: datetime, recheck: timedelta) -> set[str]:
        """URLs that failed permanently (404, not an article) less than ``recheck`` ago."""
        wanted = list(urls)
        since = now - recheck
        found: set[str] = set()
        with self._engine.connect() as conn:
            for start in range(0, len(wanted), 500):
                rows = conn.execute(
                    sa.select(source_urls.c.url)
                    .where(source_urls.c.url.in_(wanted[start : start + 500]))
                    .where(source_urls.c.permanent.is_(True))
                    .where(source_urls.c.checked_at > since)
                )
                found.update(url for (url,) in rows)
        return found

    def record_failure(
        self,
        source_name: str,
        url: str,
        reason: str,
        *,
        permanent: bool,
        now: datetime,
        give_up_after: int | None = None,
    ) -> None:
        """Remember a failed page; after ``give_up_after`` failures it counts as permanent."""
        with self._engine.connect() as conn:
            row = conn.execute(
                sa.select(source_urls.c.failures).where(source_urls.c.url == url)
            ).first()
        failures = (int(row[0]) if row else 0) + 1
        if give_up_after is not None and failures >= give_up_after:
            permanent = True
        self._put(url, source_name, now, {"failure": reason, "permanent": permanent,
                                          "failures": failures})

    def retry_urls(self, source_name: str, *, limit: int) -> list[str]:
        """Pages of ``source_name`` that failed for a passing reason, oldest first."""
        query = (
            sa.select(source_urls.c.url)
            .where(source_urls.c.source_name == source_name)
            .where(source_urls.c.failure.is_not(None))
            .where(source_urls.c.permanent.is_(False))
            .order_by(source_urls.c.checked_at)
            .limit(limit)
        )
        with self._engine.connect() as conn:
            return [url for (url,) in conn.execute(query)]

    def failures(self, source_name: str) -> list[tuple[str, str, bool, int]]:
        """(url, reason, permanent, failures) of every page of a source still failing."""
        query = (
            sa.select(source_urls.c.url, source_urls.c.failure, source_urls.c.permanent,
                      source_urls.c.failures)
            .where(source_urls.c.source_name == source_name)
            .where(source_urls.c.failure.is_not(None))
            .order_by(source_urls.c.url)
        )
        with self._engine.connect() as conn:
            return [(u, r, bool(p), int(n)) for u, r, p, n in conn.execute(query)]

    def clear_failures(self, urls: Iterable[str]) -> None:
        wanted = list(urls)
        with self._engine.begin() as conn:
            for start in range(0, len(wanted), 500):
                conn.execute(
                    source_urls.update()
                    .where(source_urls.c.url.in_(wanted[start : start + 500]))
                    .where(source_urls.c.failure.is_not(None))
                    .values(failure=None, permanent=False, failures=0)
                )

    def _put(self, url: str, source_name: str, now: datetime, values: dict[str, Any]) -> None:
        values = {**values, "source_name": source_name, "checked_at": now}
        with self._engine.begin() as conn:
            done = conn.execute(source_urls.update().where(source_urls.c.url == url), values)
            if done.rowcount == 0:
                base = {"failures": 0, "permanent": False}
                conn.execute(source_urls.insert(), {**base, **values, "url": url})

    # -- what the articles table says ----------------------------------------

    def zone_last_published(self, source_name: str) -> dict[str, datetime]:
        """Each zone (or region, when no zone) of a source -> its newest article date."""
        name = sa.func.coalesce(articles.c.zone, articles.c.region)
        query = (
            sa.select(name, sa.type_coerce(sa.func.max(articles.c.published), UTCDateTime))
            .where(articles.c.source_name == source_name)
            .where(name.is_not(None))
            .group_by(name)
        )
        with self._engine.connect() as conn:
            return {zone: last for zone, last in conn.execute(query) if last is not None}


def _state(row: Any) -> SourceState:
    values = {name: getattr(row, name) for name in _STATE_FIELDS}
    for name in ("consecutive_failures", "error_count", "polls", "pages_fetched",
                 "pages_failed", "links_found", "extract_failed", "articles_found",
                 "empty_polls"):
        values[name] = int(values[name] or 0)
    values["backfill_done"] = bool(values["backfill_done"])
    return SourceState(**values)
