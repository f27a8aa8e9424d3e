"""A partial index of re-imported articles, for incremental feed builds.

Only articles whose ``updated`` moved past ``published`` (a re-import with changed
content) are in it, so an import of new articles pays nothing for it.

Revision ID: 0005
Revises: 0002b, 0003, 0004
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = ("0002b", "0003", "0004")
branch_labels = None
depends_on = None

WHERE = sa.text("updated <> published")


def upgrade() -> None:
    op.create_index(
        "ix_articles_reimported", "articles", ["updated"],
        sqlite_where=WHERE, postgresql_where=WHERE,
    )


def downgrade() -> None:
    op.drop_index("ix_articles_reimported", "articles")
