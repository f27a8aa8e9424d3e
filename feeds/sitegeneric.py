"""Main content and date of a page whose labels do not frame its body: trafilatura
and htmldate (SPEC §1, issue 15).

Both libraries are handed an lxml tree, never a string: given a string that looks
like a URL they would download it, and nothing in the core may touch the network.
They are imported on first use (dateparser makes htmldate slow to import), so pages
that the labels read alone never pay for them.

Pure: no I/O. htmldate is given explicit date bounds so it reads no clock; the
crawler checks the date window itself (SPEC §5).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from feeds.dates import parse_date
from feeds.nesting import cap_nesting

__all__ = ["generic_date", "generic_paragraphs"]

#: htmldate's bounds: wide, so that the window check stays the crawler's (SPEC §5).
_MIN_DATE = "1990-01-01"
_MAX_DATE = "2100-12-31"
_CONFIG: Any = None


def _tree(html: str) -> Any:
    """An lxml tree of the page, nesting capped first (libxml2 is deep-recursive)."""
    import lxml.html

    text = cap_nesting(html)
    if not text.strip():
        return None
    try:
        return lxml.html.document_fromstring(text)
    except (ValueError, TypeError, lxml.etree.ParserError):
        return None


def _config() -> Any:
    # Short zone news items are real articles: trafilatura's defaults (250 characters
    # of Latin text) would throw many of them away.
    global _CONFIG
    if _CONFIG is None:
        from trafilatura.settings import use_config

        config = use_config()
        config.set("DEFAULT", "MIN_EXTRACTED_SIZE", "40")
        config.set("DEFAULT", "MIN_OUTPUT_SIZE", "10")
        config.set("DEFAULT", "MIN_OUTPUT_COMM_SIZE", "10")
        config.set("DEFAULT", "EXTRACTION_TIMEOUT", "0")
        _CONFIG = config
    return _CONFIG


def generic_paragraphs(html: str, url: str = "") -> list[str]:
    """The main content's paragraphs as plain text, as trafilatura finds them."""
    tree = _tree(html)
    if tree is None:
        return []
    from trafilatura import bare_extraction

    document = bare_extraction(
        tree,
        url=url or None,
        favor_precision=True,
        include_comments=False,
        include_tables=True,
        include_images=False,
        include_links=False,
        with_metadata=False,
        config=_config(),
    )
    text = getattr(document, "text", None) if document is not None else None
    if not isinstance(text, str):
        return []
    return [line for line in (" ".join(part.split()) for part in text.split("\n")) if line]


_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}")


def generic_date(html: str, url: str = "") -> datetime | None:
    """The publication date htmldate finds in markup, metadata and URL, or ``None``."""
    tree = _tree(html)
    if tree is None:
        return None
    from htmldate import find_date

    found = find_date(
        tree,
        extensive_search=False,
        original_date=True,
        outputformat="%Y-%m-%d",
        url=url or None,
        min_date=_MIN_DATE,
        max_date=_MAX_DATE,
    )
    if not found or not _ISO_DAY.match(found):
        return None
    try:
        return parse_date(found)
    except ValueError:
        return None
