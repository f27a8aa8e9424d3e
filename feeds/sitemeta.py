"""What a zone or government page says about itself outside its visible text.

``<meta>`` tags (Open Graph ``article:published_time``, the government-site metadata
``PubDate`` / ``SiteName`` / ``ContentSource`` / ``ArticleTitle``, TRS's
``publishdate``), JSON-LD ``datePublished``, the date in a TRS/WCM URL
(``t20261120_123456.html``) and the ``<title>`` split into article and site name.
Used by :mod:`feeds.siteextract` when the page's labels do not say it (SPEC §1).

Pure: no I/O, no clock. Every scan is bounded, so a hostile page stays linear.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from selectolax.lexbor import LexborHTMLParser

from feeds.dates import parse_date

__all__ = ["PageMeta", "page_meta", "split_title", "url_date"]

#: Meta names (lower case) whose content is the publication date, best first.
_DATE_NAMES = (
    "article:published_time", "pubdate", "publishdate", "publish_date", "publishtime",
    "datepublished", "dc.date.issued", "dcterms.issued", "dc.date", "og:release_date",
    "firstpublishedtime", "weibo:article:create_at",
)
_SITE_NAMES = ("og:site_name", "sitename", "application-name")
_SOURCE_NAMES = ("contentsource", "source", "dc.publisher")
_TITLE_NAMES = ("articletitle", "og:title", "dc.title")
_DESCRIPTION_NAMES = ("description", "og:description")
#: JSON-LD blocks read, and how much of each: enough for any real page.
_JSONLD_MAX = 4
_JSONLD_CHARS = 65536
_JSONLD_DATE = re.compile(r'"datePublished"\s*:\s*"([^"]{4,40})"')
# TRS/WCM detail pages: /202611/t20261120_123456.html
_URL_DATE = re.compile(r"/t((?:19|20)\d{2})(\d{2})(\d{2})_\d+\.s?html?(?:$|[?#])")
_TITLE_SPLIT = re.compile(r"\s*(?:_|\||｜|--|——|－|—|\s-\s|\s–\s)\s*")
_SITE_LIKE = re.compile(
    r"(?:政府|管委会|委员会|网|网站|门户|开发区|园区|高新区|新区|局|办公室|中心)$|^(?:www\.|首页$)"
)
_DATE_IN_TEXT = re.compile(
    r"\d{4}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}\s*日?"
    r"(?:[\sT]*\d{1,2}\s*[:：时]\s*\d{1,2}(?:\s*[:：分]\s*\d{1,2})?)?(?:[+-]\d{2}:?\d{2}|Z)?"
)


@dataclass(frozen=True, slots=True)
class PageMeta:
    """The page's own statements about itself; ``None`` where it makes none."""

    published: datetime | None = None
    site_name: str | None = None
    source: str | None = None
    title: str | None = None
    description: str | None = None
    title_tag: str | None = None


def _clean(text: str | None) -> str | None:
    # Spaces collapsed (the ideographic one too); the characters shown stay as written.
    if not text:
        return None
    value = " ".join(text.split())
    return value or None


def meta_date(text: str | None) -> datetime | None:
    """A date written in a meta tag or JSON-LD, or ``None`` if it is not one."""
    value = _clean(unicodedata.normalize("NFKC", text)) if text else None
    if not value:
        return None
    found = _DATE_IN_TEXT.search(value[:200])
    if found is None:
        return None
    raw = found.group(0)
    try:
        return parse_date(raw)
    except ValueError:
        pass
    # "2026-11-20 16:40:00+08:00": ISO wants the T.
    try:
        return parse_date(raw.replace(" ", "T", 1))
    except ValueError:
        return None


def url_date(url: str) -> datetime | None:
    """The day in a TRS/WCM detail URL (``.../t20261120_123456.html``)."""
    found = _URL_DATE.search(url[:2048])
    if found is None:
        return None
    try:
        return parse_date("-".join(found.groups()))
    except ValueError:
        return None


def split_title(title: str | None) -> tuple[str | None, str | None]:
    """``<title>`` to (article part, site name): ``标题_栏目_某区人民政府`` gives
    ``("标题", "某区人民政府")``. Most CMSs put the site name last; a first part that
    reads as a site's name while the last does not (``某区人民政府 - 标题``) is the
    site instead. A title without separators is all article."""
    text = _clean(title)
    if not text:
        return None, None
    parts = [p for p in _TITLE_SPLIT.split(text) if p]
    if len(parts) < 2:
        return (parts[0] if parts else None), None
    if _SITE_LIKE.search(parts[0]) and not _SITE_LIKE.search(parts[-1]):
        return parts[-1], parts[0]
    return parts[0], parts[-1]


def page_meta(tree: LexborHTMLParser) -> PageMeta:
    """Read the ``<head>`` metadata and JSON-LD of a parsed page."""
    found: dict[str, str] = {}
    for index, node in enumerate(tree.css("meta")):
        if index >= 500:  # a real head has dozens; a hostile page is not read on
            break
        attrs = node.attributes
        key = attrs.get("name") or attrs.get("property") or attrs.get("itemprop")
        content = attrs.get("content")
        if key and content:
            found.setdefault(key.strip().lower(), content)
    published = None
    for name in _DATE_NAMES:
        published = meta_date(found.get(name))
        if published is not None:
            break
    if published is None:
        for index, node in enumerate(tree.css('script[type="application/ld+json"]')):
            if index >= _JSONLD_MAX:
                break
            published = _jsonld_date(node.text()[:_JSONLD_CHARS])
            if published is not None:
                break
    title_node = tree.css_first("title")
    return PageMeta(
        published=published,
        site_name=_first(found, _SITE_NAMES),
        source=_first(found, _SOURCE_NAMES),
        title=_first(found, _TITLE_NAMES),
        description=_first(found, _DESCRIPTION_NAMES),
        title_tag=_clean(title_node.text()[:1000]) if title_node is not None else None,
    )


def _first(found: dict[str, str], names: tuple[str, ...]) -> str | None:
    for name in names:
        value = _clean(found.get(name, "")[:500])
        if value:
            return value
    return None


def _jsonld_date(text: str) -> datetime | None:
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        found = _JSONLD_DATE.search(text)
        return meta_date(found.group(1)) if found else None
    items = data if isinstance(data, list) else [data]
    for item in items[:20]:
        if isinstance(item, dict):
            graph = item.get("@graph")
            for sub in ([item] + (graph[:20] if isinstance(graph, list) else [])):
                if isinstance(sub, dict) and isinstance(sub.get("datePublished"), str):
                    value = meta_date(sub["datePublished"])
                    if value is not None:
                        return value
    return None
