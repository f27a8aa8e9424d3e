"""Feed documents in the database for distributed mode (issue 13, SPEC §11).

``feed_documents``: one row per published file (key = its path under the feed
root), its bytes, a strong ETag and when it last changed, so that every
``zonewire serve`` of a distributed setup serves the same feeds.

Revision ID: 0009_feed_documents
Revises: 0008_stories
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from feeds.storage.types import UTCDateTime

revision = "0009_feed_documents"
down_revision = "0008_stories"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "feed_documents",
        sa.Column("key", sa.String(500), nullable=False),
        sa.Column("body", sa.LargeBinary, nullable=False),
        sa.Column("etag", sa.String(80), nullable=False),
        sa.Column("updated", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_feed_documents"),
    )


def downgrade() -> None:
    op.drop_table("feed_documents")
