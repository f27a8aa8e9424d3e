"""The migrations build exactly the tables :mod:`feeds.storage.schema` declares.

Run on an empty SQLite file and an empty PostgreSQL database: after every
migration, Alembic's autogenerate finds nothing to add, drop or change (column
types included), so a table edited without a migration (or the reverse) fails here.
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from feeds.storage.engine import create_engine, migrate
from feeds.storage.schema import metadata


def test_the_migrations_build_the_declared_schema(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        migrate(engine)
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            differences = compare_metadata(context, metadata)
            tables = set(sa.inspect(conn).get_table_names())
    finally:
        engine.dispose()
    assert differences == []
    # Every declared table exists (a schema that lost a table would also "match").
    assert set(metadata.tables) <= tables
    assert {"articles", "article_regions", "digests", "channel_state"} <= tables


def declared_copy() -> sa.MetaData:
    """A copy of the declared schema for a test to change."""
    copy = sa.MetaData(naming_convention=metadata.naming_convention)
    for table in metadata.tables.values():
        table.to_metadata(copy)
    return copy


def drift(database_url: str, declared: sa.MetaData) -> list[Any]:
    """What autogenerate finds between the migrated database and ``declared``."""
    engine = create_engine(database_url)
    try:
        migrate(engine)
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            return list(compare_metadata(context, declared))
    finally:
        engine.dispose()


def test_a_table_missing_from_the_migrations_is_found(database_url: str) -> None:
    """The comparison sees a drift: a declared table no migration creates."""
    extra = declared_copy()
    sa.Table("not_migrated", extra, sa.Column("id", sa.Integer, primary_key=True))
    differences = drift(database_url, extra)
    assert [d[0] for d in differences] == ["add_table"]
    assert differences[0][1].name == "not_migrated"


@pytest.mark.parametrize("column", ["articles.title", "digests.status"])
def test_a_changed_column_type_is_found(database_url: str, column: str) -> None:
    extra = declared_copy()
    table_name, column_name = column.split(".")
    extra.tables[table_name].c[column_name].type = sa.Integer()
    differences = drift(database_url, extra)
    flat = [d for group in differences for d in (group if isinstance(group, list) else [group])]
    assert [d[0] for d in flat] == ["modify_type"]
    assert (flat[0][2], flat[0][3]) == (table_name, column_name)
