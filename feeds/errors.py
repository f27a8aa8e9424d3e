"""The one exception family of the ``feeds`` package.

Every message says where the problem is and what to do about it, because the CLI
prints it as-is to the operator.
"""

from __future__ import annotations


class FeedsError(Exception):
    """Root of every error the feeds package raises on purpose."""


class StoreError(FeedsError):
    """The article store cannot be opened, migrated or written."""


class RecordRefused(StoreError, ValueError):
    """The database refused one article's values (not the database being down).

    The ingest path catches it to store a failed batch's records one by one and
    report only the record at fault (issue 10).
    """


class ImportLineError(FeedsError, ValueError):
    """One bad line of a JSONL import; carries its 1-based line number."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"line {line}: {reason}")
        self.line = line
        self.reason = reason


class ExtractError(FeedsError, ValueError):
    """A page that is not an article, with the reason."""


class FetchError(FeedsError):
    """A page or feed that could not be fetched; carries the URL."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason
