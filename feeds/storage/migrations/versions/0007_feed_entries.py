"""Feed builds keep rendered entries per article and entry lists as rows (issue 12).

- ``feed_entries``: an article's Atom entry, JSON Feed item and region-page block,
  with the content hash, ``updated`` and render version they were made from, so an
  incremental build no longer reads its own files back.
- ``feed_state_entries`` replaces the comma-separated ``feed_state.entries``: one
  row per (feed, position), indexed by article. Existing lists are carried over.

Revision ID: 0007_feed_entries
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from feeds.storage.types import UTCDateTime

revision = "0007_feed_entries"
down_revision = "0006"
branch_labels = None
depends_on = None

_CHUNK = 5000


def upgrade() -> None:
    op.create_table(
        "feed_entries",
        sa.Column("article_seq", sa.Integer, nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("updated", UTCDateTime, nullable=False),
        sa.Column("atom", sa.LargeBinary, nullable=False),
        sa.Column("json", sa.Text, nullable=False),
        sa.Column("page", sa.Text, nullable=False),
        sa.ForeignKeyConstraint(
            ["article_seq"],
            ["articles.seq"],
            name="fk_feed_entries_article_seq_articles",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("article_seq", name="pk_feed_entries"),
    )
    lists = op.create_table(
        "feed_state_entries",
        sa.Column("feed_key", sa.String(200), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("article_seq", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("feed_key", "position", name="pk_feed_state_entries"),
    )
    op.create_index(
        "ix_feed_state_entries_article_seq", "feed_state_entries", ["article_seq"]
    )
    conn = op.get_bind()
    old = sa.table("feed_state", sa.column("key", sa.String), sa.column("entries", sa.Text))
    rows: list[dict[str, object]] = []
    for key, text in conn.execute(sa.select(old.c.key, old.c.entries)).all():
        seqs = [int(s) for s in (text or "").split(",") if s.strip()]
        rows += [{"feed_key": key, "position": n, "article_seq": s} for n, s in enumerate(seqs)]
        if len(rows) >= _CHUNK:
            op.bulk_insert(lists, rows)
            rows = []
    if rows:
        op.bulk_insert(lists, rows)
    with op.batch_alter_table("feed_state") as batch:
        batch.drop_column("entries")


def downgrade() -> None:
    with op.batch_alter_table("feed_state") as batch:
        batch.add_column(sa.Column("entries", sa.Text, nullable=False, server_default=""))
    conn = op.get_bind()
    lists = sa.table(
        "feed_state_entries",
        sa.column("feed_key", sa.String),
        sa.column("position", sa.Integer),
        sa.column("article_seq", sa.Integer),
    )
    state = sa.table("feed_state", sa.column("key", sa.String), sa.column("entries", sa.Text))
    joined: dict[str, list[str]] = {}
    query = sa.select(lists.c.feed_key, lists.c.article_seq).order_by(
        lists.c.feed_key, lists.c.position
    )
    for key, seq in conn.execute(query):
        joined.setdefault(key, []).append(str(seq))
    for key, seqs in joined.items():
        conn.execute(
            sa.update(state).where(state.c.key == key).values(entries=",".join(seqs))
        )
    with op.batch_alter_table("feed_state") as batch:
        batch.alter_column("entries", server_default=None)
    op.drop_index("ix_feed_state_entries_article_seq", "feed_state_entries")
    op.drop_table("feed_state_entries")
    op.drop_table("feed_entries")
