"""Delivery ledger: per-subscriber cursors and choices, and every digest.

Revision ID: 0004
Revises: 0001
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from feeds.storage.types import UTCDateTime

revision = "0004"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "subscriber_state",
        sa.Column("subscriber_id", sa.String(200), nullable=False),
        sa.Column("first_seen_seq", sa.Integer, nullable=False),
        sa.Column("first_seen_at", UTCDateTime, nullable=False),
        sa.Column("last_seq", sa.Integer, nullable=False),
        sa.Column("last_planned_at", UTCDateTime),
        sa.Column("choice_fingerprint", sa.String(128)),
        sa.Column("unsubscribed_all", sa.Boolean, nullable=False),
        sa.Column("unsubscribed_regions", sa.Text, nullable=False),
        sa.Column("choice_at", UTCDateTime),
        sa.Column("disabled_fingerprint", sa.String(128)),
        sa.Column("disabled_reason", sa.Text),
        sa.PrimaryKeyConstraint("subscriber_id", name="pk_subscriber_state"),
    )
    op.create_table(
        "digests",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("subscriber_id", sa.String(200), nullable=False),
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
        sa.PrimaryKeyConstraint("id", name="pk_digests"),
    )
    op.create_index("ix_digests_status_next_attempt_at", "digests", ["status", "next_attempt_at"])
    op.create_index("ix_digests_subscriber_id", "digests", ["subscriber_id"])


def downgrade() -> None:
    op.drop_index("ix_digests_subscriber_id", "digests")
    op.drop_index("ix_digests_status_next_attempt_at", "digests")
    op.drop_table("digests")
    op.drop_table("subscriber_state")
