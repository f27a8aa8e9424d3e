"""Feed build state: one row per published feed, one row per build.

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from feeds.storage.types import UTCDateTime

revision = "0003"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "feed_state",
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("entries", sa.Text, nullable=False),
        sa.Column("articles", sa.Integer, nullable=False),
        sa.Column("last_published", UTCDateTime),
        sa.PrimaryKeyConstraint("key", name="pk_feed_state"),
    )
    op.create_table(
        "feed_builds",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("last_seq", sa.Integer, nullable=False),
        sa.Column("updated_mark", UTCDateTime),
        sa.Column("built_at", UTCDateTime, nullable=False),
        sa.Column("feeds", sa.Integer, nullable=False),
        sa.Column("written", sa.Integer, nullable=False),
        sa.Column("base_url", sa.Text, nullable=False),
        sa.Column("entries", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_feed_builds"),
    )


def downgrade() -> None:
    op.drop_table("feed_builds")
    op.drop_table("feed_state")
