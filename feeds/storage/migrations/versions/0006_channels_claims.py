"""Deliveries per channel, claims, and transport outages (issue 10).

- ``digests`` gets its natural key as a unique index, (subscriber, channel, seq
  range): a subscriber with an email and a webhook has one row per channel. Rows
  already there keep their ids (an email digest's id is computed as before), so a
  retried old digest keeps its ``Message-ID``; their ``channel`` is already set.
- ``claimed_by`` / ``claim_expires_at``: a sender claims a digest before sending it,
  so two senders never send it twice; a partial index finds a sender's claims.
- ``channel_state``: one row per channel whose transport is broken.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from feeds.storage.types import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

CLAIMED = sa.text("claimed_by IS NOT NULL")


def upgrade() -> None:
    op.add_column("digests", sa.Column("claimed_by", sa.String(100)))
    op.add_column("digests", sa.Column("claim_expires_at", UTCDateTime))
    op.create_index(
        "ix_digests_subscriber_id_channel_first_seq_last_seq",
        "digests",
        ["subscriber_id", "channel", "first_seq", "last_seq"],
        unique=True,
    )
    op.create_index(
        "ix_digests_claimed_by", "digests", ["claimed_by"],
        sqlite_where=CLAIMED, postgresql_where=CLAIMED,
    )
    op.create_table(
        "channel_state",
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("problem", sa.Text, nullable=False),
        sa.Column("since", UTCDateTime, nullable=False),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("retry_at", UTCDateTime, nullable=False),
        sa.Column("settings_fingerprint", sa.String(64), nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("channel", name="pk_channel_state"),
    )


def downgrade() -> None:
    op.drop_table("channel_state")
    op.drop_index("ix_digests_claimed_by", "digests")
    op.drop_index("ix_digests_subscriber_id_channel_first_seq_last_seq", "digests")
    with op.batch_alter_table("digests") as batch:
        batch.drop_column("claim_expires_at")
        batch.drop_column("claimed_by")
