"""Links on list pages: detail links by pattern, and the pagination link.

Pure: no network, no files. Pages are parsed with their nesting capped
(:func:`feeds.nesting.parse_page`), so a hostile list page parses in linear time.
"""

from __future__ import annotations

import re
from urllib.parse import urldefrag, urljoin

from feeds.nesting import parse_page

__all__ = ["extract_links", "find_next_page"]


def _absolute(base_url: str, href: str) -> str | None:
    """``href`` resolved against ``base_url``, without fragment; None when unusable
    (``javascript:``, a broken IPv6 literal and the like)."""
    if not href or href.startswith(("javascript:", "mailto:", "#")):
        return None
    try:
        return urldefrag(urljoin(base_url, href))[0]
    except ValueError:
        return None


def _fold(text: str) -> str:
    return " ".join(text.split()).replace("\u200b", "").strip()


def extract_links(html: str, base_url: str, pattern: str) -> list[str]:
    """Absolute URLs of links matching ``pattern`` (a regex searched in the URL), in
    page order, without duplicates or fragments."""
    regex = re.compile(pattern)
    seen: set[str] = set()
    out: list[str] = []
    for node in parse_page(html).css("a[href]"):
        absolute = _absolute(base_url, (node.attributes.get("href") or "").strip())
        if absolute is None or not regex.search(absolute) or absolute in seen:
            continue
        seen.add(absolute)
        out.append(absolute)
    return out


_NEXT_TRIM = " >＞›»→<>[]【】()（）"


def find_next_page(html: str, base_url: str, text: str) -> str | None:
    """The absolute URL of the pagination link reading ``text`` (e.g. 下一页), if any.

    Arrows and brackets around the label (``下一页 >``, ``[下一页]``) are ignored; a
    link back to the page itself or to ``javascript:`` (the last page) is no link.
    """
    want = _fold(text).strip(_NEXT_TRIM)
    here = urldefrag(base_url)[0]
    for node in parse_page(html).css("a[href]"):
        label = _fold(node.text()).strip(_NEXT_TRIM)
        if label != want:
            label = _fold(node.attributes.get("title") or "").strip(_NEXT_TRIM)
            if label != want:
                continue
        target = _absolute(base_url, (node.attributes.get("href") or "").strip())
        if target is not None and target != here:
            return target
    return None
