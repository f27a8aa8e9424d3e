"""``zonewire feeds export DIR``: the feed documents of the database, as files.

For static hosting of a distributed setup's feeds (an object store, a CDN, nginx):
each document is written atomically and only when its bytes differ
(:func:`feeds.files.write_if_changed`), so a repeated export touches nothing that
did not change and a reader never sees half a file. Files in DIR that no document
names are left alone: DIR may hold other things.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from feeds.files import write_if_changed
from feeds.storage.documents import SqlFeedDocumentStore


@dataclass
class ExportReport:
    written: int = 0
    unchanged: int = 0
    #: Keys that are no safe relative path (never written).
    refused: list[str] = field(default_factory=list)


def safe_path(root: Path, key: str) -> Path | None:
    """Where ``key`` goes under ``root``; None for a key that would leave it (absolute,
    ``..``, empty segments, dot-files, NUL) — rows are data, not trusted paths."""
    if not key or "\x00" in key or "\\" in key:
        return None
    parts = PurePosixPath(key).parts
    if key.startswith("/") or any(p in ("", ".", "..") or p.startswith(".") for p in parts):
        return None
    if "/".join(parts) != key:
        return None  # "a//b", "a/./b", a trailing slash
    return root.joinpath(*parts)


def export_documents(
    store: SqlFeedDocumentStore, out: Path,
    on_progress: Callable[[int], None] | None = None,
) -> ExportReport:
    """Write every stored document under ``out`` (created if missing)."""
    out.mkdir(parents=True, exist_ok=True)
    report = ExportReport()
    for n, document in enumerate(store.iter_all(), 1):
        path = safe_path(out, document.key)
        if path is None:
            report.refused.append(document.key)
            continue
        if write_if_changed(path, document.body):
            report.written += 1
        else:
            report.unchanged += 1
        if on_progress is not None:
            on_progress(n)
    return report
