"""Source state: last poll, counters, backfill flag; per-URL validators and failures.

Revision ID: 0002b
Revises: 0001
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from feeds.storage.types import UTCDateTime

revision = "0002b"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "source_state",
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("last_poll_at", UTCDateTime),
        sa.Column("last_success_at", UTCDateTime),
        sa.Column("last_result", sa.String(20)),
        sa.Column("last_error", sa.Text),
        sa.Column("consecutive_failures", sa.Integer, nullable=False),
        sa.Column("error_count", sa.Integer, nullable=False),
        sa.Column("polls", sa.Integer, nullable=False),
        sa.Column("pages_fetched", sa.Integer, nullable=False),
        sa.Column("pages_failed", sa.Integer, nullable=False),
        sa.Column("links_found", sa.Integer, nullable=False),
        sa.Column("extract_failed", sa.Integer, nullable=False),
        sa.Column("articles_found", sa.Integer, nullable=False),
        sa.Column("empty_polls", sa.Integer, nullable=False),
        sa.Column("last_article_at", UTCDateTime),
        sa.Column("last_article_url", sa.String(2048)),
        sa.Column("backfill_done", sa.Boolean, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_source_state"),
    )
    op.create_table(
        "source_urls",
        sa.Column("url", sa.String(2048), nullable=False),
        sa.Column("source_name", sa.String(200), nullable=False),
        sa.Column("etag", sa.Text),
        sa.Column("last_modified", sa.Text),
        sa.Column("failure", sa.Text),
        sa.Column("permanent", sa.Boolean, nullable=False),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("checked_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("url", name="pk_source_urls"),
    )
    op.create_index("ix_source_urls_source_name", "source_urls", ["source_name"])


def downgrade() -> None:
    op.drop_index("ix_source_urls_source_name", "source_urls")
    op.drop_table("source_urls")
    op.drop_table("source_state")
