"""`zonewire import FILE.jsonl [--backfill]`: bulk-load articles (SPEC §5).

Every line stands alone: a line that cannot be stored for any reason is reported as
``FILE:LINE: message`` and skipped, every other line is stored, and the import never
stops at a bad line (exit status 1 when any was rejected).
"""

from __future__ import annotations

import argparse
import os
import stat
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from feeds.errors import ImportLineError
from feeds.intake import Ingestor
from feeds.models import ArticleRecord
from feeds.sources.jsonl import read_records
from feeds.storage import UpsertCounts
from feeds.text import valid_text
from notifier.app import App
from notifier.errors import UsageError
from notifier.progress import BYTES, Progress


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE.jsonl", help="JSONL file, or - for stdin")
    parser.add_argument(
        "--backfill",
        action="store_true",
        help="store the articles without notifying anyone (old news)",
    )


def _open(name: str) -> BinaryIO:
    if name == "-":
        return sys.stdin.buffer
    path = Path(name)
    if not path.is_file():
        raise UsageError(f"{name}: no such file")
    return path.open("rb")


def _size(stream: BinaryIO) -> int | None:
    """The input's size when it is a regular file (a path, or stdin redirected from
    one); ``None`` for a pipe or terminal, whose end nobody knows in advance."""
    try:
        info = os.fstat(stream.fileno())
    except (OSError, ValueError):
        return None
    return info.st_size if stat.S_ISREG(info.st_mode) else None


def _lines(
    stream: BinaryIO, errors: list[ImportLineError], on_read: Callable[[int], None]
) -> Iterator[str]:
    """Decoded lines; a line that is not UTF-8 is rejected alone, not the import.
    ``on_read`` is told the bytes read so far, after each line."""
    read = 0
    for number, raw in enumerate(stream, start=1):
        read += len(raw)
        on_read(read)
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            errors.append(
                ImportLineError(number, f"not UTF-8 (byte {exc.start + 1}): save the file as UTF-8")
            )
            yield ""


def run(args: argparse.Namespace, app: App) -> int:
    label = "stdin" if args.file == "-" else args.file
    errors: list[ImportLineError] = []
    progress = Progress(f"importing {label}")
    seen = 0
    read = 0
    size: int | None = None

    def show(force: bool = False) -> None:
        # On a terminal: bytes read of the file's size (percent, rate, time left);
        # from a pipe of unknown length, the counts alone.
        progress.count(read, size, f"{seen} articles, {len(errors)} rejected",
                       unit=BYTES, force=force)

    def on_read(done: int) -> None:
        nonlocal read
        read = done
        show()

    def records() -> Iterator[tuple[int, ArticleRecord]]:
        nonlocal seen, size
        with _open(args.file) as stream:
            size = _size(stream)
            progress.restart()  # the rate is of reading, not of opening the store
            for number, record in read_records(_lines(stream, errors, on_read), errors):
                seen += 1
                yield number, record

    def on_batch(_: UpsertCounts) -> None:
        show()

    def on_reject(line: int, reason: str) -> None:
        errors.append(ImportLineError(line, reason))

    ingestor = Ingestor(app.store, app.gazetteer)
    counts = ingestor.add_located(
        records(),
        now=datetime.now(UTC),
        source_name="import",
        backfill=args.backfill,
        on_batch=on_batch,
        on_reject=on_reject,
    )
    show(force=True)  # the last state (100% for a file), then the line is cleared
    progress.done()
    errors.sort(key=lambda e: e.line)
    for error in errors:
        print(f"{label}:{error.line}: {valid_text(error.reason)}", file=sys.stderr)
    print(
        f"imported {label}: {counts.inserted} inserted, {counts.updated} updated, "
        f"{counts.unchanged} unchanged, {len(errors)} rejected"
        + (" (backfill: nobody is notified)" if args.backfill else "")
    )
    app.place_unresolved()
    return 1 if errors else 0
