"""Pure: a region's HTML page (``r/KEY.html``) for people without a feed reader.

The latest articles of the region (the current feed's entries, same cleaned fields),
breadcrumbs up the hierarchy, links to the child regions that have articles, and
subscribe links (Atom, JSON Feed, email). Rendered through
``feeds/templates/region.html.j2`` in the look of ``index.html``; no script, no
clock, so an unchanged region renders byte-identical HTML.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from feeds.archive import archive_path, page_count
from feeds.atom import AtomRenderer, feed_path
from feeds.jsonfeed import JsonFeedRenderer, json_path
from feeds.models import CHINA_TZ, Article, Region
from feeds.regions import Gazetteer
from feeds.site import environment, level_name
from feeds.text import one_line, xml_safe


def page_path(key: str) -> str:
    """Where a region's page lives under the output directory."""
    return f"r/{key}.html"


@dataclass(frozen=True, slots=True)
class PageItem:
    """One article as the page shows it."""

    title: str
    url: str
    date: str  # YYYY-MM-DD, Beijing time
    stamp: str  # ISO 8601 for <time datetime>
    source: str
    zone: str
    summary: str


@dataclass(frozen=True, slots=True)
class Crumb:
    name: str
    href: str | None  # None: the page itself


@dataclass(frozen=True, slots=True)
class Child:
    name: str
    href: str
    articles: int


def page_items(
    renderer: AtomRenderer, jsons: JsonFeedRenderer, arts: Sequence[Article]
) -> list[PageItem]:
    """The articles with the feeds' cleaned title, URL, source and summary: from the
    batch's cache, else from the JSON Feed item an incremental build reused from disk
    (cheaper than cleaning the article again), else cleaned now."""
    items = []
    for article in arts:
        parts = renderer.cached_parts(article)
        line = jsons.seeded(article) if parts is None else None
        if line is not None:
            value = json.loads(line)
            title, url, summary = value["title"], value["url"], value.get("summary", "")
            source = value.get("authors", [{}])[0].get("name", "")
        else:
            _, title, url, source, _, _, summary = parts or renderer.parts(article)
        published = article.published.astimezone(CHINA_TZ)
        items.append(
            PageItem(
                title=title,
                # Only web links become links (the store keeps what the portal gave).
                url=url if url.startswith(("https://", "http://")) else "",
                date=published.strftime("%Y-%m-%d"),
                stamp=published.isoformat(),
                source=source,
                zone=one_line(xml_safe(article.zone or "")),
                summary=summary,
            )
        )
    return items


def render_region_page(
    region: Region,
    gazetteer: Gazetteer,
    items: Sequence[PageItem],
    count: int,
    counts: Mapping[str, int],
    page_size: int,
) -> bytes:
    """The page of ``region`` with ``count`` articles; ``counts``: article counts of
    the regions that have a feed (children without one are not linked)."""
    lineage = list(reversed(gazetteer.lineage(region.key)))
    crumbs = [Crumb("全部地区", "../index.html")]
    crumbs += [
        Crumb(xml_safe(r.name), f"{r.key}.html" if r.key in counts else None) for r in lineage[:-1]
    ]
    crumbs.append(Crumb(xml_safe(region.name), None))
    children = [
        Child(xml_safe(c.name), f"{c.key}.html", counts[c.key])
        for c in gazetteer.children(region.key)
        if counts.get(c.key)
    ]
    children.sort(key=lambda c: c.name)
    pages = page_count(count, page_size)
    context = {
        "key": region.key,
        "name": xml_safe(region.name),
        "level": level_name(region.level.value),
        "crumbs": crumbs,
        "children": children,
        "items": items,
        "count": count,
        "latest": items[0].date if items else "",
        "atom": "../" + feed_path(region.key),
        "json": "../" + json_path(region.key),
        "archive": "../" + archive_path(region.key, pages) if pages else None,
    }
    return environment().get_template("region.html.j2").render(**context).encode("utf-8")
