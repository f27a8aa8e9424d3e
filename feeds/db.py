"""Database edge: engine creation, the shared schema and migrations.

SQLite (WAL) under ``var/`` is the embedded default; any SQLAlchemy URL for
PostgreSQL works the same. Every module that owns tables declares them on
:data:`metadata`; the schema itself only changes through Alembic migrations in
``feeds/migrations``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect, Engine

from feeds.errors import StoreError

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on every backend.

    SQLite has no time zones and compares timestamps as text, so everything is
    stored as naive UTC and made aware again on the way out.
    """

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        stamp: datetime = datetime.fromisoformat(value) if isinstance(value, str) else value
        return stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp.astimezone(UTC)


articles = sa.Table(
    "articles",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("entry_id", sa.String(512), nullable=False),
    sa.Column("url", sa.String(2048), nullable=False, unique=True),
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
    sa.Column("backfill", sa.Boolean, nullable=False, default=False),
    sa.Column("source_name", sa.String(200)),
    sa.Column("region_key", sa.String(200)),
    sa.Column("unresolved", sa.Text),
    sa.Index(
        "ix_articles_unresolved",
        "unresolved",
        sqlite_where=sa.text("unresolved IS NOT NULL"),
        postgresql_where=sa.text("unresolved IS NOT NULL"),
    ),
)

article_regions = sa.Table(
    "article_regions",
    metadata,
    sa.Column(
        "article_seq",
        sa.Integer,
        sa.ForeignKey("articles.seq", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("region_key", sa.String(200), primary_key=True),
    sa.Index("ix_article_regions_region_key_article_seq", "region_key", "article_seq"),
)

zones = sa.Table(
    "zones",
    metadata,
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("name", sa.Text, nullable=False, unique=True),
    sa.Column("parent_key", sa.String(200)),
    sa.Column("first_seen", UTCDateTime, nullable=False),
)


def normalise_url(url: str) -> str:
    """A bare filesystem path means SQLite; relative paths are relative to the cwd."""
    if "://" in url:
        return url
    return f"sqlite:///{url}"


def _setting(where: str | None) -> str:
    """Where the operator fixes the URL; the caller knows which file it read."""
    return f"the 'database' setting in {where}" if where else "the 'database' setting"


def create_engine(url: str, *, where: str | None = None) -> Engine:
    """An engine for ``url``; SQLite gets WAL, a busy timeout and its folder.

    ``where`` names the file that gave the URL, for messages.
    """
    url = normalise_url(url)
    try:
        parsed = sa.engine.make_url(url)
    except (sa.exc.ArgumentError, ValueError) as exc:  # ValueError: a port that is no number
        raise StoreError(
            f"database: cannot read the URL {url!r}: {exc}; check {_setting(where)}"
        ) from exc
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(parsed, connect_args={"timeout": 30})

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return sa.create_engine(parsed, pool_pre_ping=True)


def migrate(engine: Engine, *, where: str | None = None) -> None:
    """Bring the schema up to the newest revision (all heads)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", "feeds:migrations")
    config.attributes["connection_engine"] = engine
    try:
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "heads")
    except sa.exc.OperationalError as exc:
        raise StoreError(
            f"database {engine.url.render_as_string(hide_password=True)}: cannot migrate: "
            f"{exc.orig}. Check {_setting(where)}."
        ) from exc
