"""Articles, their regions and learned zones.

Revision ID: 0001
Revises:
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from feeds.storage.types import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "articles",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("entry_id", sa.String(512), nullable=False),
        sa.Column("url", sa.String(2048), nullable=False),
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
        sa.Column("backfill", sa.Boolean, nullable=False),
        sa.Column("source_name", sa.String(200)),
        sa.Column("region_key", sa.String(200)),
        sa.Column("unresolved", sa.Text),
        sa.PrimaryKeyConstraint("seq", name="pk_articles"),
        sa.UniqueConstraint("url", name="uq_articles_url"),
    )
    # Only the few unplaced articles are indexed, for `zonewire status`.
    op.create_index(
        "ix_articles_unresolved", "articles", ["unresolved"],
        sqlite_where=sa.text("unresolved IS NOT NULL"),
        postgresql_where=sa.text("unresolved IS NOT NULL"),
    )
    op.create_table(
        "article_regions",
        sa.Column("article_seq", sa.Integer, nullable=False),
        sa.Column("region_key", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("article_seq", "region_key", name="pk_article_regions"),
        sa.ForeignKeyConstraint(
            ["article_seq"], ["articles.seq"], ondelete="CASCADE",
            name="fk_article_regions_article_seq_articles",
        ),
    )
    op.create_index(
        "ix_article_regions_region_key_article_seq", "article_regions",
        ["region_key", "article_seq"],
    )
    op.create_table(
        "zones",
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("parent_key", sa.String(200)),
        sa.Column("first_seen", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_zones"),
        sa.UniqueConstraint("name", name="uq_zones_name"),
    )


def downgrade() -> None:
    op.drop_table("zones")
    op.drop_index("ix_article_regions_region_key_article_seq", "article_regions")
    op.drop_table("article_regions")
    op.drop_index("ix_articles_unresolved", "articles")
    op.drop_table("articles")
