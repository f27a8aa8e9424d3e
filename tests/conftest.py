"""Shared fixtures: real databases (SQLite file and PostgreSQL), fixed clocks.

Every test that takes ``database_url`` or ``store`` runs twice: on a fresh SQLite
file and on a fresh PostgreSQL database created for that test and dropped after.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import settings

from feeds.models import CHINA_TZ
from feeds.regions import Gazetteer
from feeds.storage import Storage

# Property tests assert what the code does, not how fast: hypothesis's per-example
# deadline (200 ms) would turn a busy machine into a failure. Speed lives in bench/.
settings.register_profile("zonewire", deadline=None)
settings.load_profile("zonewire")

PG_ADMIN = os.environ.get("ZONEWIRE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=CHINA_TZ)


def _pg_admin_exec(sql: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(sql)  # type: ignore[arg-type]


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database, dropped after the test."""
    name = f"zw_test_{uuid.uuid4().hex[:12]}"
    _pg_admin_exec(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        _pg_admin_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'var' / 'zonewire.db'}"
    else:
        yield request.getfixturevalue("pg_url")


@pytest.fixture
def store(database_url: str) -> Iterator[Storage]:
    opened = Storage.open(database_url)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture(scope="session")
def _gazetteer_template() -> Gazetteer:
    return Gazetteer.default()


@pytest.fixture
def gazetteer() -> Gazetteer:
    """A fresh gazetteer (zones are learned per test)."""
    return Gazetteer.default()


@pytest.fixture
def now() -> datetime:
    return NOW
