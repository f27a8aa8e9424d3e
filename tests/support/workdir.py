"""The working directory of a CLI test, laid out like an install."""

from __future__ import annotations

from pathlib import Path

import pytest


def enter_workdir(
    root: Path, monkeypatch: pytest.MonkeyPatch, zonewire_yaml: str | None = None
) -> Path:
    """Make ``root`` the working directory with an empty ``config/`` under it (and
    ``config/zonewire.yaml`` holding ``zonewire_yaml`` when given), as an install
    has; ``ZONEWIRE_CONFIG`` from the environment cannot point elsewhere."""
    monkeypatch.chdir(root)
    monkeypatch.delenv("ZONEWIRE_CONFIG", raising=False)
    (root / "config").mkdir()
    if zonewire_yaml is not None:
        (root / "config" / "zonewire.yaml").write_text(zonewire_yaml, encoding="utf-8")
    return root
