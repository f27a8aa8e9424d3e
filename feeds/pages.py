"""Pure: a region's HTML page (``r/KEY.html``) for people without a feed reader.

The latest articles of the region (the current feed's entries, same cleaned fields),
breadcrumbs up the hierarchy, links to the child regions that have articles, and
subscribe links (Atom, JSON Feed, email). Rendered through
``feeds/templates/region.html.j2`` in the look of ``index.html``; no script, no
clock, so an unchanged region renders byte-identical HTML.
"""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from markupsafe import Markup

from feeds.archive import archive_path, page_count
from feeds.atom import AtomRenderer, feed_path
from feeds.jsonfeed import JsonFeedRenderer, json_path
from feeds.models import CHINA_TZ, Article, Region
from feeds.regions import Gazetteer
from feeds.site import environment, level_name
from feeds.text import one_line, xml_safe

#: What HTML5 calls a parse error beyond XML's rules: C0/C1 controls and DEL (other
#: than whitespace) and the noncharacters (HTML §13.2.3.5).
_NOT_HTML = re.compile(
    "[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f\ufdd0-\ufdef"
    + "".join(
        f"{chr(plane * 0x10000 + 0xFFFE)}{chr(plane * 0x10000 + 0xFFFF)}" for plane in range(17)
    )
    + "]"
)


def html_text(value: str) -> str:
    """Text that is legal in an HTML5 document (escaping is the template's job)."""
    return _NOT_HTML.sub("", xml_safe(value))


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

    @property
    def html(self) -> Markup:
        """The item's ``<article>`` block, escaped here (thousands of items a build:
        a format string costs a fraction of a template loop, and an article on five
        region pages is formatted once, see :func:`page_items`)."""
        e = functools.partial(html.escape, quote=True)
        title = f'<a href="{e(self.url)}" rel="noopener noreferrer nofollow">{e(self.title)}</a>'
        meta = "".join(f" · {e(part)}" for part in (self.source, self.zone) if part)
        lines = [
            "<article>",
            f"<h3>{title if self.url else e(self.title)}</h3>",
            f'<p class="meta"><time datetime="{self.stamp}">{self.date}</time>{meta}</p>',
        ]
        if self.summary:
            lines.append(f'<p class="summary">{e(self.summary)}</p>')
        lines.append("</article>\n")
        return Markup("\n".join(lines))


@dataclass(frozen=True, slots=True)
class Crumb:
    name: str
    href: str | None  # None: the page itself


@dataclass(frozen=True, slots=True)
class Child:
    name: str
    href: str
    articles: int


@dataclass(frozen=True, slots=True)
class CachedItem:
    """An article's page block as a build kept it (``feed_entries.page``)."""

    date: str
    html: Markup


def page_items(
    renderer: AtomRenderer,
    jsons: JsonFeedRenderer,
    arts: Sequence[Article],
    cache: dict[tuple[int, str, datetime], PageItem | CachedItem] | None = None,
) -> list[PageItem | CachedItem]:
    """The articles with the feeds' cleaned title, URL, source and summary: from
    ``cache`` (this batch's, or blocks kept by an earlier build), else cleaned now."""
    items: list[PageItem | CachedItem] = []
    for article in arts:
        found = cache.get((article.seq, article.content_hash, article.updated)) if cache else None
        if found is not None:
            items.append(found)
            continue
        _, title, url, source, _, _, summary = renderer.parts(article)
        published = article.published.astimezone(CHINA_TZ)
        item = PageItem(
            title=html_text(title),
            # Only web links become links (the store keeps what the portal gave).
            url=html_text(url) if url.startswith(("https://", "http://")) else "",
            date=published.strftime("%Y-%m-%d"),
            stamp=published.isoformat(),
            source=html_text(source),
            zone=html_text(one_line(article.zone or "")),
            summary=html_text(summary),
        )
        if cache is not None:
            cache[(article.seq, article.content_hash, article.updated)] = item
        items.append(item)
    return items


def render_region_page(
    region: Region,
    gazetteer: Gazetteer,
    items: Sequence[PageItem | CachedItem],
    count: int,
    counts: Mapping[str, int],
    page_size: int,
) -> bytes:
    """The page of ``region`` with ``count`` articles; ``counts``: article counts of
    the regions that have a feed (children without one are not linked)."""
    lineage = list(reversed(gazetteer.lineage(region.key)))
    crumbs = [Crumb("全部地区", "../index.html")]
    crumbs += [
        Crumb(html_text(r.name), f"{r.key}.html" if r.key in counts else None) for r in lineage[:-1]
    ]
    crumbs.append(Crumb(html_text(region.name), None))
    children = [
        Child(html_text(c.name), f"{c.key}.html", counts[c.key])
        for c in gazetteer.children(region.key)
        if counts.get(c.key)
    ]
    children.sort(key=lambda c: c.name)
    pages = page_count(count, page_size)
    context = {
        "key": region.key,
        "name": html_text(region.name),
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
