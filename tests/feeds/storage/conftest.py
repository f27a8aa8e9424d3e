"""Every contract test runs on a fresh SQLite file and a fresh PostgreSQL database
(the ``database_url`` fixture of tests/conftest.py is parametrised over both)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from feeds.storage import Storage, open_storage


@pytest.fixture
def storage(database_url: str) -> Iterator[Storage]:
    opened = open_storage(database_url)
    try:
        yield opened
    finally:
        opened.close()
