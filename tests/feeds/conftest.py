"""Fixtures shared by the tests of ``feeds`` (the real databases, clocks and the
gazetteer are in tests/conftest.py)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from feeds.regions import Gazetteer
from feeds.storage import Storage
from tests.feeds.test_publish import fill


@pytest.fixture
def cli_workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The current directory for a ``zonewire`` command: its config/zonewire.yaml
    names only a SQLite database inside it."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "zonewire.yaml").write_text(
        f"database: sqlite:///{tmp_path / 'zonewire.db'}\n", encoding="utf-8"
    )
    return tmp_path


@pytest.fixture
def filled(store: Storage, gazetteer: Gazetteer, now: datetime) -> Storage:
    """``store`` holding the articles most feed tests start from (:func:`fill`)."""
    fill(store, gazetteer, now)
    return store
