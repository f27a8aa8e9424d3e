"""Edge: rendering what the plan says, batch by batch, and writing only what differs.

Each article is rendered once into its three forms (Atom entry, JSON Feed item,
region-page block) and kept in ``feed_entries``; later batches and later builds
assemble documents from those bytes and load the article without its text. A
kept form is used only while the article's content hash and ``updated`` and the
render version (render code and base URL) are the ones it was made from.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from markupsafe import Markup

from feeds.archive import ArchivePage, current_links, page_count, render_page
from feeds.atom import ALL_KEY, AtomRenderer, FeedInfo, feed_info, feed_path
from feeds.buildplan import Documents, Plan, Row, fingerprint, paged
from feeds.feedplan import BATCH_ARTICLES
from feeds.feedstate import RENDER_VERSION
from feeds.files import write_if_changed
from feeds.jsonfeed import JsonFeedRenderer, json_path
from feeds.models import CHINA_TZ, Article
from feeds.pages import CachedItem, page_items, page_path, render_region_page
from feeds.regions import Gazetteer
from feeds.storage.feed_entries import CachedEntry

if TYPE_CHECKING:
    from feeds.storage.protocols import FeedEntryCache


class ArticleLoader(Protocol):
    """Articles by seq, regions leaf first; ``light``: without their text."""

    def __call__(self, seqs: set[int], *, light: bool = False) -> dict[int, Article]: ...


def entries_version(base_url: str) -> str:
    """What a kept entry depends on beyond the article: render code and base URL
    (the category scheme)."""
    return hashlib.sha256(f"{RENDER_VERSION}|{base_url}".encode()).hexdigest()[:32]


@dataclass(slots=True)
class Writer:
    """Renders and writes a build's documents; fills ``written`` and ``results``."""

    cache: FeedEntryCache
    load: ArticleLoader
    gazetteer: Gazetteer
    out: Path
    renderer: AtomRenderer
    jsons: JsonFeedRenderer
    docs: Mapping[str, Documents]
    counts: Mapping[str, int]
    page_size: int
    version: str
    #: The seqs ``feed_entries`` holds when known (after ``--all`` emptied it: those
    #: kept during this build); ``None``: ask the database.
    kept: set[int] | None = None
    written: list[str] = field(default_factory=list)
    results: dict[str, Plan] = field(default_factory=dict)
    rendered: int = 0  # articles rendered (not taken from feed_entries)
    _items: dict[Any, Any] = field(default_factory=dict)
    _infos: dict[str, FeedInfo] = field(default_factory=dict)
    #: Told (documents done, documents in the build) after each one (a progress bar).
    on_progress: Callable[[int, int], None] | None = None

    def run(self, units: list[Plan | ArchivePage]) -> None:
        done = 0
        for batch in batches(units, self.gazetteer):
            by_seq, fresh = self._load({s for unit in batch for s in unit.seqs})
            for unit in batch:
                done += 1
                if self.on_progress is not None:
                    self.on_progress(done, len(units))
                arts = [by_seq[s] for s in unit.seqs if s in by_seq]
                if isinstance(unit, ArchivePage):
                    info = self._info(unit.key)
                    self._write(unit.path, render_page(self.renderer, info, unit, arts))
                else:
                    self._feed(unit, arts)
            self._keep(fresh)
            if len(self.renderer) > BATCH_ARTICLES:
                self.renderer.forget()
                self.jsons.forget()
                self._items.clear()

    def _load(self, seqs: set[int]) -> tuple[dict[int, Article], list[Article]]:
        """The batch's articles: without text where all forms are kept (and seeded
        into the renderers), in full where they must be rendered."""
        ask = seqs if self.kept is None else seqs & self.kept
        kept = self.cache.get(ask) if ask else {}
        by_seq = self.load(set(kept), light=True) if kept else {}
        hits = {}
        for seq, article in by_seq.items():
            entry = kept[seq]
            if entry.fits(self.version, article.content_hash, article.updated):
                hits[seq] = article
                self._seed(article, entry)
        fresh = self.load(seqs - set(hits)) if seqs - set(hits) else {}
        hits.update(fresh)
        return hits, list(fresh.values())

    def _seed(self, article: Article, entry: CachedEntry) -> None:
        self.renderer.seed(article, entry.atom)
        self.jsons.seed(article, entry.json)
        day = article.published.astimezone(CHINA_TZ).strftime("%Y-%m-%d")
        self._items[(article.seq, article.content_hash, article.updated)] = CachedItem(
            day, Markup(entry.page)
        )

    def _keep(self, fresh: list[Article]) -> None:
        """Render every form of the batch's newly rendered articles once and keep them."""
        if not fresh:
            return
        entries = [
            CachedEntry(
                a.seq,
                self.version,
                a.content_hash,
                a.updated,
                self.renderer.entry(a),
                self.jsons.item(a),
                str(page_items(self.renderer, self.jsons, [a], self._items)[0].html),
            )
            for a in fresh
        ]
        self.rendered += len(entries)
        # Rows known to be absent need no delete first.
        self.cache.save(entries, replace=self.kept is None)
        if self.kept is not None:
            self.kept.update(a.seq for a in fresh)

    def _feed(self, unit: Plan, arts: list[Article]) -> None:
        """A feed's current documents (unless the plan says they are unchanged and
        both files are there) and its region page."""
        doc = self.docs[unit.key]
        unit.last_published = max((a.published for a in arts), default=None)
        missing = not (self.out / feed_path(unit.key)).exists() or not (
            self.out / json_path(unit.key)
        ).exists()
        if doc.current or missing:
            if unit.fingerprint is None:
                rows = (Row(a.seq, a.published, a.updated, a.content_hash) for a in arts)
                pages = page_count(unit.count, self.page_size)
                unit.fingerprint = paged(fingerprint(rows, RENDER_VERSION), pages)
            # Both documents of a feed from the same entries, each written atomically.
            info = self._info(unit.key)
            links = current_links(unit.key, unit.count, self.page_size)
            self._write(feed_path(unit.key), self.renderer.render(info, arts, links))
            self._write(json_path(unit.key), self.jsons.render(info, arts))
        if doc.region_page:
            page = render_region_page(
                self.gazetteer.get(unit.key),
                self.gazetteer,
                page_items(self.renderer, self.jsons, arts, self._items),
                unit.count,
                self.counts,
                self.page_size,
            )
            self._write(page_path(unit.key), page)
        self.results[unit.key] = unit

    def _write(self, path: str, data: bytes) -> None:
        if write_if_changed(self.out / path, data):
            self.written.append(path)

    def _info(self, key: str) -> FeedInfo:
        """Feed titles by key, each looked up once per build."""
        info = self._infos.get(key)
        if info is None:
            region = None if key == ALL_KEY else self.gazetteer.get(key)
            label = self.gazetteer.label(region) if region is not None else None
            info = self._infos[key] = feed_info(region, label)
        return info


def batches(units: list[Plan | ArchivePage], gazetteer: Gazetteer) -> Iterator[list[Any]]:
    """Feeds and archive pages grouped by subtree (a province, then its cities,
    districts and zones): they hold the same articles, so one load and one rendering
    of each entry serve all of them, with about :data:`BATCH_ARTICLES` in memory."""
    paths: dict[str, tuple[str, ...]] = {ALL_KEY: ()}

    def order(unit: Plan | ArchivePage) -> tuple[tuple[str, ...], int]:
        path = paths.get(unit.key)
        if path is None:
            path = paths[unit.key] = tuple(reversed(gazetteer.ancestor_keys(unit.key)))
        return path, unit.page if isinstance(unit, ArchivePage) else 0

    batch: list[Any] = []
    seen: set[int] = set()
    for unit in sorted(units, key=order):
        if (
            batch
            and len(seen) + len(unit.seqs) > BATCH_ARTICLES
            and len(seen.union(unit.seqs)) > BATCH_ARTICLES
        ):
            yield batch
            batch, seen = [], set()
        batch.append(unit)
        seen.update(unit.seqs)
    if batch:
        yield batch


__all__ = ["ArticleLoader", "Writer", "batches", "entries_version"]
