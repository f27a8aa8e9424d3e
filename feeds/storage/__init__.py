"""Storage: every table, every query and the migrations, behind small protocols.

Callers in ``feeds`` and ``notifier`` never see SQLAlchemy: they open a
:class:`Storage` with :func:`open_storage` and use the protocols of
:mod:`feeds.storage.protocols` it gives. The schema is
:data:`feeds.storage.schema.metadata`; it changes only through the Alembic
migrations in ``feeds/storage/migrations``.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from sqlalchemy.engine import Engine

from feeds.storage.archive_ranks import SqlArchiveStore
from feeds.storage.articles import RegionCount, SqlArticleStore, UpsertCounts
from feeds.storage.channels import SqlChannelStateStore
from feeds.storage.documents import SqlFeedDocumentStore
from feeds.storage.engine import create_engine, migrate
from feeds.storage.feed_entries import SqlFeedEntryCache
from feeds.storage.feed_plans import SqlFeedPlanStore
from feeds.storage.feed_state import SqlFeedStateStore
from feeds.storage.ledger import SqlLedgerStore
from feeds.storage.locks import SqlWorkerLock
from feeds.storage.sources import SqlSourceStateStore

if TYPE_CHECKING:
    from feeds.storage.jobqueue import QueueCounts

__all__ = ["RegionCount", "Storage", "UpsertCounts", "open_storage"]


class Storage(SqlArticleStore):
    """One database: the articles (this object is the
    :class:`~feeds.storage.protocols.ArticleStore`) and every other store on it."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)

    @classmethod
    def open(
        cls, url: str, *, migrate_schema: bool = True, where: str | None = None
    ) -> Storage:
        """``where``: the file the URL came from, named in messages."""
        engine = create_engine(url, where=where)
        if migrate_schema:
            migrate(engine, where=where)
        return cls(engine)

    def close(self) -> None:
        self._engine.dispose()

    @property
    def url(self) -> str:
        """The database, for messages and for other processes (password shown)."""
        return self._engine.url.render_as_string(hide_password=False)

    @property
    def where(self) -> str:
        """The database, for messages (password hidden)."""
        return self._engine.url.render_as_string(hide_password=True)

    @cached_property
    def sources(self) -> SqlSourceStateStore:
        return SqlSourceStateStore(self._engine)

    @cached_property
    def ledger(self) -> SqlLedgerStore:
        return SqlLedgerStore(self._engine)

    @cached_property
    def channels(self) -> SqlChannelStateStore:
        return SqlChannelStateStore(self._engine)

    @cached_property
    def documents(self) -> SqlFeedDocumentStore:
        """Published feed files, for distributed mode's ``serve`` (SPEC §11)."""
        return SqlFeedDocumentStore(self._engine)

    @cached_property
    def feed_state(self) -> SqlFeedStateStore:
        """What the last feed build left (states, entry lists, marks)."""
        return SqlFeedStateStore(self._engine)

    @cached_property
    def feed_plan(self) -> SqlFeedPlanStore:
        """The article queries a feed build plans from."""
        return SqlFeedPlanStore(self._engine)

    @cached_property
    def feed_entries(self) -> SqlFeedEntryCache:
        """Rendered entries kept per article between builds."""
        return SqlFeedEntryCache(self._engine)

    @cached_property
    def archive(self) -> SqlArchiveStore:
        """Region article ranks, for archive pages."""
        return SqlArchiveStore(self._engine)

    def queue_counts(self) -> QueueCounts:
        """The job queue of distributed mode, for ``status``."""
        from feeds.storage.jobqueue import queue_counts

        return queue_counts(self._engine)

    def worker_lock(self) -> SqlWorkerLock:
        """A new, unheld handle on this database's worker lock."""
        return SqlWorkerLock(self._engine)


def open_storage(url: str, *, where: str | None = None, migrate_schema: bool = True) -> Storage:
    """Open (and by default migrate) the database at ``url``; ``where`` names the
    file the URL came from, in messages."""
    return Storage.open(url, migrate_schema=migrate_schema, where=where)
