"""Engines and migrations: a database URL becomes a migrated engine.

SQLite (WAL) under ``var/`` is the embedded default; any SQLAlchemy URL for
PostgreSQL works the same. The schema (:data:`feeds.storage.schema.metadata`) only
changes through the Alembic migrations in ``feeds/storage/migrations``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from feeds.errors import StoreError


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
            # A 64 MiB page cache (the default is 2 MiB), taken as pages are read:
            # folding stories looks up ~21 random keys per article in the
            # story_bands index and inserts as many, so at 100,000 articles
            # (~35 MB of index) the default cache missed on most of them.
            cursor.execute("PRAGMA cache_size=-65536")
            # Checkpoint every ~40 MB of WAL rather than 4 MB: one batch of 1,000
            # articles dirties most of the band index's pages, and with the
            # default every commit copied them all back into the database file.
            # The WAL file is cut back to 64 MiB after a checkpoint.
            cursor.execute("PRAGMA wal_autocheckpoint=10000")
            cursor.execute("PRAGMA journal_size_limit=67108864")
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
    config.set_main_option("script_location", "feeds.storage:migrations")
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
