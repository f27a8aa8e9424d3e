"""Sealed subscriber snapshots on digests (distributed mode, SPEC §11).

``digests.snapshot``: the subscriber a digest was planned for, encrypted with a key
derived from ``secret_key``, so a delivery job rebuilds and sends it without
parsing the subscriptions file. NULL for rows planned in embedded mode or by an
older release (their delivery reads the file), and set back to NULL once a digest
is sent or failed for good.

Revision ID: 0010_digest_snapshots
Revises: 0009_feed_documents
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_digest_snapshots"
down_revision = "0009_feed_documents"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("digests", sa.Column("snapshot", sa.LargeBinary))


def downgrade() -> None:
    with op.batch_alter_table("digests") as batch:
        batch.drop_column("snapshot")
