"""RFC 5005 archived feeds: every article of a region, in pages that never change once full.

The rule (stable and complete by construction, no state to keep):

* A region's articles are ranked in ingest order (``seq``, ascending). Archive page
  ``N`` (1 = oldest) holds the articles ranked ``(N-1)*size+1 .. N*size``; a region
  with ``n`` articles has ``n // size + 1`` pages. The last page is the *open* one
  (``n % size`` articles, possibly none); every page before it is *full*.
* Together the pages hold every article of the region exactly once (they partition
  the ranks). The current document (the feed) is a view of the newest entries by
  ``published`` and repeats some of them, which RFC 5005 §4 allows (a reader keeps
  one entry per ``atom:id``, preferring the newer document).
* A new article always gets a ``seq`` above every stored one, so it lands in the
  open page whatever its ``published`` date (a backfill included): a full page's
  articles, links and ``updated`` cannot change, so neither can its bytes or ETag.
  Adding articles touches the current document and the pages from the open one on
  (with fewer new articles than a page: the open page, and the next when it fills).
* The one exception is a re-import: an article whose text is corrected is
  re-rendered in its page; one moved to another region shifts the ranks of both
  regions from its place on.
* Links: the current document has ``prev-archive`` to the newest (open) page; page
  ``N`` has ``current``, ``prev-archive`` to ``N-1`` (from 2 on), and, when full,
  ``next-archive`` to ``N+1``, which always exists (a full page is never the last),
  so the link is fixed the moment the page fills.

Pure helpers (paths, links, paging) and the pages cut from the store's ranks
(:class:`~feeds.storage.protocols.ArchiveStore`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from feeds.atom import ALL_KEY, AtomRenderer, FeedInfo, feed_path
from feeds.models import Article

if TYPE_CHECKING:
    from feeds.storage.protocols import ArchiveStore

#: Articles per archive page.
PAGE_SIZE = 100


def archive_dir(key: str) -> str:
    return f"feeds/archive/{key}"


def archive_path(key: str, page: int) -> str:
    """Where page ``page`` (1 = oldest) of a region's archive lives."""
    return f"{archive_dir(key)}/{page}.atom"


def page_count(count: int, size: int = PAGE_SIZE) -> int:
    """Pages of a region with ``count`` articles (the last one open, maybe empty)."""
    return count // size + 1 if count > 0 else 0


def current_links(key: str, count: int, size: int = PAGE_SIZE) -> list[tuple[str, str]]:
    """The current document's link to the newest archive page."""
    pages = page_count(count, size)
    return [("prev-archive", archive_path(key, pages))] if pages else []


@dataclass(frozen=True, slots=True)
class ArchivePage:
    """One archive document: a region, its page number and the page's seqs."""

    key: str
    page: int
    pages: int
    seqs: tuple[int, ...]

    @property
    def path(self) -> str:
        return archive_path(self.key, self.page)

    @property
    def links(self) -> list[tuple[str, str]]:
        found = [("current", feed_path(self.key))]
        if self.page > 1:
            found.append(("prev-archive", archive_path(self.key, self.page - 1)))
        if self.page < self.pages:
            found.append(("next-archive", archive_path(self.key, self.page + 1)))
        return found


def paginate(
    key: str, seqs: Sequence[int], first: int, pages: int, size: int = PAGE_SIZE
) -> Iterator[ArchivePage]:
    """``seqs`` (ascending) are the region's articles from page ``first`` on."""
    for page in range(first, pages + 1):
        start = (page - first) * size
        yield ArchivePage(key, page, pages, tuple(seqs[start : start + size]))


def render_page(
    renderer: AtomRenderer, info: FeedInfo, page: ArchivePage, arts: Sequence[Article]
) -> bytes:
    """The page's Atom bytes: entries newest first, as in the current document."""
    ordered = sorted(arts, key=lambda a: (a.published, a.seq), reverse=True)
    return renderer.render(info, ordered, page.links, self_path=page.path, archive=True)


# -- from the store -----------------------------------------------------------------------


def all_pages(store: ArchiveStore, keys: set[str], size: int = PAGE_SIZE) -> Iterator[ArchivePage]:
    """Every page of every region in ``keys`` (a full build)."""
    for key, seqs in store.region_seqs(keys):
        yield from paginate(key, seqs, 1, page_count(len(seqs), size), size)
    if ALL_KEY in keys:
        seqs = store.all_seqs()
        if seqs:
            yield from paginate(ALL_KEY, seqs, 1, page_count(len(seqs), size), size)


def tail_pages(
    store: ArchiveStore, key: str, count: int, first: int, size: int = PAGE_SIZE
) -> list[ArchivePage]:
    """Pages ``first ..`` of a region with ``count`` articles: only the newest
    ``count - (first-1)*size`` seqs are read."""
    pages = page_count(count, size)
    if first > pages:
        return []
    seqs = store.newest_seqs(_region(key), count - (first - 1) * size)
    return list(paginate(key, seqs, first, pages, size))


def page_of(store: ArchiveStore, key: str, seq: int, size: int = PAGE_SIZE) -> int:
    """The page an article with ``seq`` holds (or held) in a region: its rank there."""
    return store.rank(_region(key), seq) // size + 1


def _region(key: str) -> str | None:
    return None if key == ALL_KEY else key
