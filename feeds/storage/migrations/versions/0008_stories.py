"""Stories across sources (SPEC §6, issue 15).

- ``articles.story_seq``: the story's first article, on articles that joined one;
  partial index (only joined articles have it).
- ``story_prints``: each article's MinHash print; ``story_bands``: its LSH band keys.

Articles already stored get their prints here (they are not folded among
themselves: they were listed and sent already), so a later repost of one of them
is folded into it.

Revision ID: 0008_stories
Revises: 0007_feed_entries
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_stories"
down_revision = "0007_feed_entries"
branch_labels = None
depends_on = None

_CHUNK = 2000
_WHERE = sa.text("story_seq IS NOT NULL")


def upgrade() -> None:
    with op.batch_alter_table("articles") as batch:
        batch.add_column(sa.Column("story_seq", sa.Integer, nullable=True))
    op.create_index(
        "ix_articles_story_seq", "articles", ["story_seq"],
        sqlite_where=_WHERE, postgresql_where=_WHERE,
    )
    op.create_table(
        "story_prints",
        sa.Column("article_seq", sa.Integer, nullable=False),
        sa.Column("print", sa.LargeBinary, nullable=False),
        sa.ForeignKeyConstraint(
            ["article_seq"],
            ["articles.seq"],
            name="fk_story_prints_article_seq_articles",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("article_seq", name="pk_story_prints"),
    )
    op.create_table(
        "story_bands",
        sa.Column("band_key", sa.BigInteger, nullable=False, autoincrement=False),
        sa.Column("article_seq", sa.Integer, nullable=False, autoincrement=False),
        sa.PrimaryKeyConstraint("band_key", "article_seq", name="pk_story_bands"),
        sqlite_with_rowid=False,
    )
    _print_stored_articles()


def _print_stored_articles() -> None:
    conn = op.get_bind()
    old = sa.table(
        "articles", sa.column("seq", sa.Integer), sa.column("title", sa.Text),
        sa.column("content", sa.Text),
    )
    if conn.execute(sa.select(sa.func.count()).select_from(old)).scalar() == 0:
        return
    from feeds.stories import story_print

    prints = sa.table("story_prints", sa.column("article_seq", sa.Integer),
                      sa.column("print", sa.LargeBinary))
    bands = sa.table("story_bands", sa.column("band_key", sa.BigInteger),
                     sa.column("article_seq", sa.Integer))
    last = 0
    while True:
        rows = conn.execute(
            sa.select(old.c.seq, old.c.title, old.c.content)
            .where(old.c.seq > last).order_by(old.c.seq).limit(_CHUNK)
        ).all()
        if not rows:
            return
        last = rows[-1].seq
        made = [(row.seq, story_print(row.title, row.content or "")) for row in rows]
        made = [(seq, p) for seq, p in made if p.usable]
        if made:
            conn.execute(prints.insert(), [{"article_seq": s, "print": p.to_bytes()}
                                           for s, p in made])
            conn.execute(bands.insert(), [
                {"band_key": key, "article_seq": s}
                for s, p in made for key in dict.fromkeys(p.bands())
            ])


def downgrade() -> None:
    op.drop_table("story_bands")
    op.drop_table("story_prints")
    op.drop_index("ix_articles_story_seq", "articles")
    with op.batch_alter_table("articles") as batch:
        batch.drop_column("story_seq")
