"""Fixtures shared by the tests of ``feeds`` (the real databases, clocks and the
gazetteer are in tests/conftest.py)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import pytest

from feeds.models import Source
from feeds.regions import Gazetteer
from feeds.storage import Storage
from tests.feeds.test_publish import fill
from tests.support.workdir import enter_workdir


@pytest.fixture
def cli_workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The current directory for a ``zonewire`` command: its config/zonewire.yaml
    names only a SQLite database inside it."""
    return enter_workdir(tmp_path, monkeypatch, f"database: sqlite:///{tmp_path / 'zonewire.db'}\n")


@pytest.fixture
def filled(store: Storage, gazetteer: Gazetteer, now: datetime) -> Storage:
    """``store`` holding the articles most feed tests start from (:func:`fill`)."""
    fill(store, gazetteer, now)
    return store


@contextmanager
def sample_portal_command(
    tmp_path: Path, *options: str
) -> Iterator[tuple[list[str], list[Source]]]:
    """Run ``zonewire sample-portal --port 0 *options`` in ``tmp_path`` while the block
    runs: yields what it printed up to "press Ctrl-C" and the sources its printed
    ``sources:`` snippet configures (written to ``tmp_path``/zonewire.yaml and loaded)."""
    from notifier.config import load_settings

    proc = subprocess.Popen(
        [sys.executable, "-m", "notifier", "sample-portal", "--port", "0", *options],
        cwd=tmp_path, stdout=subprocess.PIPE, text=True, encoding="utf-8",
    )
    try:
        assert proc.stdout is not None
        lines: list[str] = []
        while not lines or not lines[-1].startswith("press Ctrl-C"):
            line = proc.stdout.readline()
            assert line, f"sample-portal stopped early; it printed {lines}"
            lines.append(line)
        config = tmp_path / "zonewire.yaml"
        config.write_text("".join(lines[lines.index("sources:\n") : -1]), encoding="utf-8")
        yield lines, load_settings(config).source_specs()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()
