"""Pure JSON Feed 1.1 rendering (https://jsonfeed.org/version/1.1), beside each Atom feed.

Same articles, same ids, same cleaned fields as :mod:`feeds.atom` (the fields come
from :meth:`AtomRenderer.parts`, so an article is sanitised once for both formats):
``id`` is the Atom entry id, ``date_published`` the portal's date,
``date_modified`` the Atom ``updated`` (when zonewire stored or last changed it),
``content_html`` the sanitised HTML, ``summary`` the plain summary, ``tags`` the
region names and the portal category; ``_zonewire.also`` the story's other sources.

Deterministic like the Atom feed: one item per line, in the order given, keys in a
fixed order, so an unchanged feed renders to the same bytes. No clock, no files.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from feeds.atom import LANGUAGE, AtomRenderer, FeedInfo, entry_updated
from feeds.models import CHINA_TZ, Article
from feeds.text import one_line, xml_safe

VERSION = "https://jsonfeed.org/version/1.1"
MEDIA_TYPE = "application/feed+json"
#: The ``about`` of the ``_zonewire`` item extension (JSON Feed 1.1 "Extensions"):
#: ``also`` lists the other sources of the item's story (SPEC §6).
EXTENSION_ABOUT = "https://github.com/zonewire/zonewire#stories-across-sources"


def json_path(key: str) -> str:
    """Where a region's JSON Feed lives under the output directory."""
    return f"feeds/{key}.json"


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def _stamp(value: datetime) -> str:
    return value.astimezone(CHINA_TZ).isoformat()


class JsonFeedRenderer:
    """Renders JSON Feeds, each item serialised once however many feeds hold it.

    ``atom`` provides the cleaned fields (and its cache); :meth:`forget` bounds memory
    between batches, :meth:`seed` reuses an item from an earlier rendering.
    """

    def __init__(self, atom: AtomRenderer, hubs: Sequence[str] = ()) -> None:
        self.atom = atom
        self.hubs = tuple(hubs)
        self._items: dict[tuple[int, str, datetime], str] = {}

    def forget(self) -> None:
        self._items.clear()

    def seed(self, article: Article, item: str) -> None:
        """Use ``item`` (one line of an earlier rendering of this exact article)."""
        self._items[(article.seq, article.content_hash, article.updated)] = item

    def item(self, article: Article) -> str:
        """The article as one JSON object on one line."""
        cache_key = (article.seq, article.content_hash, article.updated)
        found = self._items.get(cache_key)
        if found is not None:
            return found
        ident, title, url, source, categories, content, summary = self.atom.parts(article)
        value: dict[str, Any] = {"id": ident, "url": url, "title": title}
        if content:
            value["content_html"] = content
        else:
            # JSON Feed 1.1 asks for content_html or content_text on every item.
            value["content_text"] = summary or title
        if summary:
            value["summary"] = summary
        value["date_published"] = _stamp(article.published)
        value["date_modified"] = _stamp(entry_updated(article))
        if source:
            value["authors"] = [{"name": source}]
        tags = [c["label"] for c in categories]
        if tags:
            value["tags"] = list(dict.fromkeys(tags))
        if article.also:
            # The story's other sources (SPEC §6), as a JSON Feed 1.1 extension.
            value["_zonewire"] = {"about": EXTENSION_ABOUT, "also": [
                {"url": xml_safe(o.url), "source": one_line(o.source or o.source_name or "")}
                for o in article.also
            ]}
        found = self._items[cache_key] = _dumps(value)
        return found

    def render(
        self, feed: FeedInfo, articles: Sequence[Article], *, self_path: str | None = None
    ) -> bytes:
        """The feed's bytes; ``articles`` newest first, as in the Atom feed.
        ``self_path``: where the document lives when not at ``feeds/KEY.json``."""
        base = self.atom.base_url
        head: dict[str, Any] = {
            "version": VERSION,
            "title": one_line(feed.title),
            "home_page_url": base,
            "feed_url": base + (self_path or json_path(feed.key)),
        }
        if feed.subtitle:
            head["description"] = one_line(feed.subtitle)
        head["language"] = LANGUAGE
        head["authors"] = [{"name": "zonewire"}]
        if self.hubs:
            head["hubs"] = [{"type": "WebSub", "url": hub} for hub in self.hubs]
        lines = ["{"]
        lines += [f"  {_dumps(k)}: {_dumps(v)}," for k, v in head.items()]
        items = [self.item(a) for a in articles]
        if items:
            lines.append('  "items": [')
            lines.append(",\n".join(f"    {item}" for item in items))
            lines.append("  ]")
        else:
            lines.append('  "items": []')
        lines.append("}\n")
        return "\n".join(lines).encode("utf-8")
