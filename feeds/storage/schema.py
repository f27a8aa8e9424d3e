"""Every table zonewire keeps, on one :data:`metadata`.

The migrations in ``feeds/storage/migrations`` build exactly this (a test runs
them on empty SQLite and PostgreSQL databases and compares); change a table here
and in a new migration together. Only modules of :mod:`feeds.storage` query them.
"""

from __future__ import annotations

import sqlalchemy as sa

from feeds.storage.types import UTCDateTime

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# -- articles, their regions, learned zones (migrations 0001, 0005) ----------------

articles = sa.Table(
    "articles",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("entry_id", sa.String(512), nullable=False),
    sa.Column("url", sa.String(2048), nullable=False, unique=True),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("published", UTCDateTime, nullable=False),
    sa.Column("updated", UTCDateTime, nullable=False),
    sa.Column("ingested_at", UTCDateTime, nullable=False),
    sa.Column("source", sa.Text),
    sa.Column("zone", sa.Text),
    sa.Column("region", sa.Text),
    sa.Column("category", sa.Text),
    sa.Column("content", sa.Text, nullable=False),
    sa.Column("summary", sa.Text),
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("backfill", sa.Boolean, nullable=False, default=False),
    sa.Column("source_name", sa.String(200)),
    sa.Column("region_key", sa.String(200)),
    sa.Column("unresolved", sa.Text),
    # The story's first article, on articles that joined one (feeds/storage/stories.py).
    sa.Column("story_seq", sa.Integer),
    # Only the few unplaced articles are indexed, for `zonewire status`.
    sa.Index(
        "ix_articles_unresolved",
        "unresolved",
        sqlite_where=sa.text("unresolved IS NOT NULL"),
        postgresql_where=sa.text("unresolved IS NOT NULL"),
    ),
    # Only re-imported articles (updated moved past published), for incremental
    # feed builds; an import of new articles pays nothing for it.
    sa.Index(
        "ix_articles_reimported",
        "updated",
        sqlite_where=sa.text("updated <> published"),
        postgresql_where=sa.text("updated <> published"),
    ),
    # Only articles that joined another's story: "who else published it" (0008).
    sa.Index(
        "ix_articles_story_seq",
        "story_seq",
        sqlite_where=sa.text("story_seq IS NOT NULL"),
        postgresql_where=sa.text("story_seq IS NOT NULL"),
    ),
)

#: The one source of truth for which regions an article is in (leaf and above).
article_regions = sa.Table(
    "article_regions",
    metadata,
    sa.Column(
        "article_seq",
        sa.Integer,
        sa.ForeignKey("articles.seq", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("region_key", sa.String(200), primary_key=True),
    sa.Index("ix_article_regions_region_key_article_seq", "region_key", "article_seq"),
)

zones = sa.Table(
    "zones",
    metadata,
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("name", sa.Text, nullable=False, unique=True),
    sa.Column("parent_key", sa.String(200)),
    sa.Column("first_seen", UTCDateTime, nullable=False),
)

# -- sources between polls (migration 0002b) --------------------------------------

source_state = sa.Table(
    "source_state",
    metadata,
    sa.Column("name", sa.String(200), primary_key=True),
    sa.Column("last_poll_at", UTCDateTime),
    sa.Column("last_success_at", UTCDateTime),
    sa.Column("last_result", sa.String(20)),
    sa.Column("last_error", sa.Text),
    sa.Column("consecutive_failures", sa.Integer, nullable=False, default=0),
    sa.Column("error_count", sa.Integer, nullable=False, default=0),
    sa.Column("polls", sa.Integer, nullable=False, default=0),
    sa.Column("pages_fetched", sa.Integer, nullable=False, default=0),
    sa.Column("pages_failed", sa.Integer, nullable=False, default=0),
    sa.Column("links_found", sa.Integer, nullable=False, default=0),
    sa.Column("extract_failed", sa.Integer, nullable=False, default=0),
    sa.Column("articles_found", sa.Integer, nullable=False, default=0),
    sa.Column("empty_polls", sa.Integer, nullable=False, default=0),
    sa.Column("last_article_at", UTCDateTime),
    sa.Column("last_article_url", sa.String(2048)),
    sa.Column("backfill_done", sa.Boolean, nullable=False, default=False),
)

source_urls = sa.Table(
    "source_urls",
    metadata,
    sa.Column("url", sa.String(2048), primary_key=True),
    sa.Column("source_name", sa.String(200), nullable=False, index=True),
    sa.Column("etag", sa.Text),
    sa.Column("last_modified", sa.Text),
    sa.Column("failure", sa.Text),
    sa.Column("permanent", sa.Boolean, nullable=False, default=False),
    sa.Column("failures", sa.Integer, nullable=False, default=0),
    sa.Column("checked_at", UTCDateTime, nullable=False),
)

# -- feed builds (migration 0003) --------------------------------------------------

feed_state = sa.Table(
    "feed_state",
    metadata,
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    # Entry lists: feed_state_entries (feeds/storage/feed_entries.py, migration 0007).
    sa.Column("articles", sa.Integer, nullable=False),
    sa.Column("last_published", UTCDateTime),
)

feed_builds = sa.Table(
    "feed_builds",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("last_seq", sa.Integer, nullable=False),
    sa.Column("updated_mark", UTCDateTime),
    sa.Column("built_at", UTCDateTime, nullable=False),
    sa.Column("feeds", sa.Integer, nullable=False),
    sa.Column("written", sa.Integer, nullable=False),
    sa.Column("base_url", sa.Text, nullable=False),
    sa.Column("entries", sa.Integer, nullable=False),
)

# -- the delivery ledger (migrations 0004, 0006) ----------------------------------

subscriber_state = sa.Table(
    "subscriber_state",
    metadata,
    sa.Column("subscriber_id", sa.String(200), primary_key=True),
    sa.Column("first_seen_seq", sa.Integer, nullable=False),
    sa.Column("first_seen_at", UTCDateTime, nullable=False),
    sa.Column("last_seq", sa.Integer, nullable=False),
    sa.Column("last_planned_at", UTCDateTime),
    sa.Column("choice_fingerprint", sa.String(128)),
    sa.Column("unsubscribed_all", sa.Boolean, nullable=False, default=False),
    sa.Column("unsubscribed_regions", sa.Text, nullable=False, default="[]"),
    sa.Column("choice_at", UTCDateTime),
    sa.Column("disabled_fingerprint", sa.String(128)),
    sa.Column("disabled_reason", sa.Text),
)

#: Keyed by digest id; its natural key is (subscriber, channel, seq range), so a
#: subscriber with an email and a webhook has one row per channel.
digests = sa.Table(
    "digests",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("subscriber_id", sa.String(200), nullable=False, index=True),
    sa.Column("channel", sa.String(20), nullable=False),
    sa.Column("first_seq", sa.Integer, nullable=False),
    sa.Column("last_seq", sa.Integer, nullable=False),
    sa.Column("article_seqs", sa.Text, nullable=False),
    sa.Column("more", sa.Integer, nullable=False),
    sa.Column("status", sa.String(12), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", UTCDateTime),
    sa.Column("last_error", sa.Text),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("sent_at", UTCDateTime),
    # Who is sending it now, and until when (migration 0006).
    sa.Column("claimed_by", sa.String(100)),
    sa.Column("claim_expires_at", UTCDateTime),
    # Distributed mode: the subscriber as planned, sealed (encrypted with a key
    # derived from secret_key); NULL once the digest is settled (migration 0010).
    sa.Column("snapshot", sa.LargeBinary),
    sa.Index("ix_digests_status_next_attempt_at", "status", "next_attempt_at"),
    sa.Index(
        "ix_digests_subscriber_id_channel_first_seq_last_seq",
        "subscriber_id",
        "channel",
        "first_seq",
        "last_seq",
        unique=True,
    ),
    sa.Index(
        "ix_digests_claimed_by",
        "claimed_by",
        sqlite_where=sa.text("claimed_by IS NOT NULL"),
        postgresql_where=sa.text("claimed_by IS NOT NULL"),
    ),
)

#: One row per channel whose transport is broken (migration 0006).
channel_state = sa.Table(
    "channel_state",
    metadata,
    sa.Column("channel", sa.String(20), primary_key=True),
    sa.Column("problem", sa.Text, nullable=False),
    sa.Column("since", UTCDateTime, nullable=False),
    sa.Column("failures", sa.Integer, nullable=False),
    sa.Column("retry_at", UTCDateTime, nullable=False),
    sa.Column("settings_fingerprint", sa.String(64), nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

# Tables declared beside their queries join this metadata (migrations 0007, 0008).
from feeds.storage import documents as _documents  # noqa: E402, F401
from feeds.storage import feed_entries as _feed_entries  # noqa: E402, F401
from feeds.storage import stories as _stories  # noqa: E402, F401
