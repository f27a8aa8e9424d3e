"""Pure Atom rendering: a region and its articles to the bytes of an Atom 1.0 feed.

RFC 4287 is the contract: stable entry ids (``Article.id``, a ``tag:`` URI minted once),
``published``/``updated`` in Beijing time (+08:00), one ``author`` per entry (the
article's source; the feed carries a fallback author so entries without a source stay
valid, §4.1.1), ``category`` elements for the article's regions and its portal
category, sanitised HTML ``content`` and a plain-text ``summary``.

Output is deterministic: the same inputs give the same bytes, and the feed-level
``updated`` is the newest entry's ``updated`` rather than the clock, so a rebuild of an
unchanged feed is byte-identical and nothing downstream (files, ETags, readers) sees a
change. No clock, no files, no network here; :mod:`feeds.publish` is the edge.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

import nh3
from feedgen.entry import FeedEntry
from feedgen.feed import FeedGenerator

from feeds.models import CHINA_TZ, Article, Region, RegionLevel
from feeds.text import html_to_text, one_line, truncate, xml_safe

#: The key of the feed that holds every article (``public/feeds/all.atom``).
ALL_KEY = "all"
#: Titles longer than this are cut: readers show one line, and a 2,000-character
#: "title" is a portal error, not a headline.
TITLE_CHARS = 200
SUMMARY_CHARS = 240
#: Feed ids are ``tag:`` URIs too (RFC 4151); they name the region, not the URL, so
#: moving ``public_url`` does not make readers see a new feed.
FEED_ID_PREFIX = "tag:zonewire,2026:feed/"
#: ``updated`` of a feed with no entries (only ``all.atom`` of an empty store): a
#: constant, not the clock, so it too is byte-stable.
EMPTY_UPDATED = datetime(2026, 1, 1, tzinfo=CHINA_TZ)
LANGUAGE = "zh-CN"
#: RFC 5005 §4: an archive document says so with this (empty) extension element.
HISTORY_NS = "http://purl.org/syndication/history/1.0"
ARCHIVE_MARK = f'  <fh:archive xmlns:fh="{HISTORY_NS}"/>\n'.encode()
GENERATOR = ("zonewire", "0.1", "https://github.com/zonewire/zonewire")

_TAGS = {
    "a",
    "abbr",
    "b",
    "blockquote",
    "br",
    "caption",
    "cite",
    "code",
    "dd",
    "del",
    "div",
    "dl",
    "dt",
    "em",
    "figcaption",
    "figure",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "i",
    "img",
    "ins",
    "li",
    "ol",
    "p",
    "pre",
    "q",
    "s",
    "small",
    "span",
    "strong",
    "sub",
    "sup",
    "table",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "tr",
    "u",
    "ul",
}
_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
    "ol": {"start"},
    "blockquote": {"cite"},
    "q": {"cite"},
}
# No style, no on* handlers (not listed above, so dropped); only these URL schemes:
# javascript:, data: and vbscript: links and images are removed.
_SCHEMES = {"http", "https", "mailto"}
_CLEANER = nh3.Cleaner(
    tags=_TAGS,
    attributes=_ATTRIBUTES,
    url_schemes=_SCHEMES,
    clean_content_tags={"script", "style", "iframe", "object", "embed", "template", "noscript"},
    link_rel="noopener noreferrer nofollow",
    strip_comments=True,
)


def sanitize_html(markup: str) -> str:
    """Article HTML safe to show in a reader (and XML-legal); plain text becomes
    paragraphs so line breaks survive."""
    markup = xml_safe(markup)
    if "<" not in markup:
        paragraphs = [line.strip() for line in markup.splitlines() if line.strip()]
        return "".join(f"<p>{html.escape(p, quote=False)}</p>" for p in paragraphs)
    return xml_safe(_CLEANER.clean(markup))


def summary_text(article: Article, limit: int = SUMMARY_CHARS, content: str | None = None) -> str:
    """The article's own summary, else the start of its text, one line.

    ``content``: the article's already sanitised HTML, when the caller has it.
    """
    if article.summary and article.summary.strip():
        return truncate(one_line(html_to_text(article.summary)), limit)
    if content is not None:
        return truncate(one_line(html_to_text(content, sanitized=True)), limit)
    return truncate(one_line(html_to_text(article.content)), limit)


def entry_title(article: Article) -> str:
    return truncate(one_line(article.title), TITLE_CHARS) or "(无标题)"


def entry_updated(article: Article) -> datetime:
    """When zonewire stored the article, or last changed it (SPEC 6), not the
    portal's date: readers use ``updated`` to notice news, and a feed's own
    ``updated`` then moves when an article arrives.

    One import stores thousands of articles in the same instant; the ingest order
    (``seq``) becomes the microseconds of that second, so no two entries of a feed
    share a value by accident and the value never changes on a rebuild. A re-import
    or relocation moves ``Article.updated`` away from ``published`` to the time of
    the change, which then counts instead of the first ingest.
    """
    changed = article.updated if article.updated != article.published else article.ingested_at
    return changed.replace(microsecond=0) + timedelta(microseconds=article.seq % 1_000_000)


def feed_path(key: str) -> str:
    """Where a region's feed lives under the output directory (and the base URL)."""
    return f"feeds/{key}.atom"


def feed_url(base_url: str, key: str) -> str:
    return base_url.rstrip("/") + "/" + feed_path(key)


@dataclass(frozen=True, slots=True)
class FeedInfo:
    """The feed-level facts: which region, and how it is titled."""

    key: str
    title: str
    subtitle: str | None = None


def feed_info(region: Region | None, label: str | None = None) -> FeedInfo:
    """Title and subtitle of a region's feed (``None``: the feed of every article).

    ``label`` is how the region reads with its parents (``西城区 (北京市)``).
    """
    if region is None:
        return FeedInfo(ALL_KEY, "全部开发区新闻", "所有地区的开发区与园区新闻")
    kind = {
        RegionLevel.PROVINCE: "省级",
        RegionLevel.CITY: "市级",
        RegionLevel.DISTRICT: "区县",
        RegionLevel.ZONE: "开发区",
    }[region.level]
    return FeedInfo(region.key, f"{label or region.name} 开发区新闻", f"{kind}:{region.name}")


_Parts = tuple[str, str, str, str, list[dict[str, str]], str, str]


class AtomRenderer:
    """Renders feeds, building each article's entry once however many feeds hold it.

    An article sits in its zone's feed and in every feed above it. Each entry is
    built by feedgen (``FeedEntry.atom_entry``) and serialised once; a feed is
    feedgen's own header for the region with the cached entries spliced in before
    ``</feed>``. The bytes are exactly what ``FeedGenerator.atom_str(pretty=True)``
    gives for the same entries (a test holds this), at a fraction of the cost of
    re-serialising every entry for every feed. ``names`` maps region keys to display
    names for the categories. Call :meth:`forget` between batches to bound memory.
    """

    def __init__(
        self,
        base_url: str,
        names: Mapping[str, str] | Callable[[str], str | None],
        hubs: Sequence[str] = (),
    ):
        self.base_url = base_url.rstrip("/") + "/"
        self.hubs = tuple(hubs)
        self._name: Callable[[str], str | None] = names.get if isinstance(names, Mapping) else names
        self._labels: dict[str, str] = {}
        self._entries: dict[tuple[int, str, datetime], bytes] = {}
        self._parts: dict[tuple[int, str, datetime], _Parts] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def seed(self, article: Article, entry: bytes) -> None:
        """Use ``entry`` (from an earlier rendering of this exact article) as is."""
        self._entries[(article.seq, article.content_hash, article.updated)] = entry

    def forget(self) -> None:
        self._entries.clear()
        self._parts.clear()

    def _label(self, key: str) -> str:
        label = self._labels.get(key)
        if label is None:
            label = self._labels[key] = one_line(self._name(key) or key) or key
        return label

    def feed_entry(self, article: Article) -> FeedEntry:
        """The article as a feedgen entry: the reference shape of :meth:`entry`."""
        ident, title, url, source, categories, content, summary = self.parts(article)
        fe = FeedEntry()
        fe.id(ident)
        fe.title(title)
        fe.updated(entry_updated(article).astimezone(CHINA_TZ))
        fe.published(article.published.astimezone(CHINA_TZ))
        fe.link(href=url, rel="alternate", type="text/html")
        if source:
            fe.author(name=source)
        if categories:
            fe.category(categories)
        if content:
            fe.content(content, type="html")
        if summary:
            fe.summary(summary, type="text")
        return fe

    def parts(self, article: Article) -> _Parts:
        """Every entry field, cleaned once: id, title, url, source, categories,
        content, summary (the JSON Feed and the region pages show the same, so
        they are kept until :meth:`forget`)."""
        cache_key = (article.seq, article.content_hash, article.updated)
        found = self._parts.get(cache_key)
        if found is None:
            found = self._parts[cache_key] = self._clean(article)
        return found

    def cached_parts(self, article: Article) -> _Parts | None:
        """The cleaned fields if this batch already has them (else ``None``)."""
        return self._parts.get((article.seq, article.content_hash, article.updated))

    def _clean(self, article: Article) -> _Parts:
        source = one_line(article.source) if article.source else ""
        scheme = self.base_url + "feeds/"
        categories = [
            {"term": key, "scheme": scheme, "label": self._label(key)}
            for key in article.region_keys
        ]
        category = one_line(article.category) if article.category else ""
        if category:
            categories.append({"term": category, "label": category})
        content = sanitize_html(article.content)
        return (
            xml_safe(article.id),
            entry_title(article),
            xml_safe(article.url),
            source,
            categories,
            content,
            summary_text(article, content=content),
        )

    def entry(self, article: Article) -> bytes:
        """The article's ``<entry>`` as it appears inside a pretty-printed feed.

        Written out directly, byte for byte what ``FeedEntry.atom_entry()`` serialised
        by lxml gives for :meth:`feed_entry` (tests compare the two, hostile text
        included): feedgen's per-call validation and element building cost more than
        the rest of a build, and the entry is the same in all five feeds that carry
        the article, so it is produced once.
        """
        cache_key = (article.seq, article.content_hash, article.updated)
        found = self._entries.get(cache_key)
        if found is not None:
            return found
        ident, title, url, source, categories, content, summary = self.parts(article)
        lines = [
            "  <entry>",
            f"    <id>{_text(ident)}</id>",
            f"    <title>{_text(title)}</title>",
            f"    <updated>{entry_updated(article).astimezone(CHINA_TZ).isoformat()}</updated>",
        ]
        if source:
            lines += ["    <author>", f"      <name>{_text(source)}</name>", "    </author>"]
        if content:
            lines.append(f'    <content type="html">{_text(content)}</content>')
        # feedgen writes only href for entry links; rel defaults to "alternate"
        # (RFC 4287 §4.2.7.2), which is what this link is.
        lines.append(f'    <link href="{_attr(url)}"/>')
        # The story's other sources (SPEC §6). Written here only: feedgen drops every
        # attribute of an entry link but href, so it cannot say rel="related".
        for other in article.also:
            name = one_line(other.source or other.source_name or "")
            title = f' title="{_attr(name)}"' if name else ""
            lines.append(
                f'    <link rel="related" type="text/html" href="{_attr(xml_safe(other.url))}"'
                f"{title}/>"
            )
        if summary:
            lines.append(f'    <summary type="text">{_text(summary)}</summary>')
        for cat in categories:
            attrs = " ".join(f'{k}="{_attr(v)}"' for k, v in cat.items())
            lines.append(f"    <category {attrs}/>")
        lines.append(
            f"    <published>{article.published.astimezone(CHINA_TZ).isoformat()}</published>"
        )
        lines.append("  </entry>\n")
        found = "\n".join(lines).encode("utf-8")
        self._entries[cache_key] = found
        return found

    def header(
        self,
        feed: FeedInfo,
        updated: datetime,
        links: Sequence[tuple[str, str]] = (),
        self_path: str | None = None,
    ) -> FeedGenerator:
        """feedgen's feed header; ``links``: extra ``(rel, path)`` links under the base
        URL (RFC 5005 ``prev-archive``, ``next-archive``, ``current``); ``self_path``:
        the document's own path when it is not the feed (an archive page)."""
        fg = FeedGenerator()
        fg.id(FEED_ID_PREFIX + feed.key)
        fg.title(one_line(feed.title))
        if feed.subtitle:
            fg.subtitle(one_line(feed.subtitle))
        fg.language(LANGUAGE)
        fg.author(name="zonewire")
        fg.generator(GENERATOR[0], version=GENERATOR[1], uri=GENERATOR[2])
        own = self.base_url + (self_path or feed_path(feed.key))
        fg.link(href=own, rel="self", type="application/atom+xml")
        fg.link(href=self.base_url, rel="alternate", type="text/html")
        for rel, path in links:
            fg.link(href=self.base_url + path, rel=rel, type="application/atom+xml")
        for hub in self.hubs:
            # WebSub §4: subscribers find the hub in the feed itself.
            fg.link(href=hub, rel="hub")
        fg.updated(updated.astimezone(CHINA_TZ))
        return fg

    def render(
        self,
        feed: FeedInfo,
        articles: Sequence[Article],
        links: Sequence[tuple[str, str]] = (),
        *,
        self_path: str | None = None,
        archive: bool = False,
    ) -> bytes:
        """The feed's bytes; ``articles`` in the order readers should see them.

        The feed's ``updated`` is its newest entry's (RFC 4287 §4.2.15: the last
        significant change), never the clock. ``archive``: an RFC 5005 archive
        document (``<fh:archive/>``), at ``self_path`` with ``links``.
        """
        newest = max((entry_updated(a) for a in articles), default=EMPTY_UPDATED)
        fg = self.header(feed, newest, links, self_path)
        head = cast(bytes, fg.atom_str(pretty=True, encoding="UTF-8"))
        cut = head.rindex(b"</feed>")
        parts = [head[:cut]]
        if archive:
            parts.append(ARCHIVE_MARK)
        parts.extend(self.entry(article) for article in articles)
        parts.append(head[cut:])
        return b"".join(parts)


def _text(value: str) -> str:
    """Escape element text the way libxml2 serialises it (& < > and CR)."""
    return (
        value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        .replace("\r", "&#13;")
    )


def _attr(value: str) -> str:
    """Escape an attribute value the way libxml2 serialises it."""
    return (
        _text(value).replace('"', "&quot;").replace("\n", "&#10;").replace("\t", "&#9;")
    )


def render_feed(
    region: Region | None,
    articles: Sequence[Article],
    base_url: str,
    *,
    names: Mapping[str, str] | None = None,
    label: str | None = None,
) -> bytes:
    """One feed, from scratch: ``region`` (``None`` = all articles) and its articles,
    newest first, to Atom bytes whose ``rel="self"`` sits under ``base_url``."""
    known: dict[str, Any] = dict(names or {})
    if region is not None:
        known.setdefault(region.key, region.name)
    return AtomRenderer(base_url, known).render(feed_info(region, label), articles)
