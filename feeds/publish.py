"""Edge: writing the feeds, their archives, the region pages, ``index.html`` and
``feeds.opml`` under the output directory.

A build decides which feeds to look at (:mod:`feeds.feedplan`), renders them with
:mod:`feeds.atom` and :mod:`feeds.jsonfeed`, and replaces a file only when its bytes
differ (:mod:`feeds.files`: atomic, and an unchanged file keeps its mtime, so HTTP
validators and rsync stay quiet).

Incremental builds (the default) start from what changed since the last build: new
articles (``seq`` above the last built one) and re-imported ones (their ``updated``
moved to the ingest time, at or after the last mark). Only the feeds holding those
articles — their regions, the regions above, ``all``, and any feed that listed them
before — are looked at; a feed whose entry list (ids, content hashes, ``updated``)
and archive page count have the same fingerprint as last time is not rendered again.
For each feed looked at, the region page (:mod:`feeds.pages`) and the archive pages
from the previously open one on (:mod:`feeds.archive`) are rendered too. ``--all``
re-renders everything (and still writes only what differs).
"""

from __future__ import annotations

import hashlib
import html
import re
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from feeds.archive import (
    PAGE_SIZE,
    ArchivePage,
    all_pages,
    archive_dir,
    current_links,
    page_count,
    page_of,
    render_page,
    tail_pages,
)
from feeds.atom import ALL_KEY, AtomRenderer, FeedInfo, feed_info, feed_path
from feeds.db import UTCDateTime, articles
from feeds.feedplan import (
    BATCH_ARTICLES,
    Plan,
    fingerprint,
    load,
    names,
    plan_all,
    plan_changed,
)
from feeds.feedstate import (
    LastBuild,
    feed_builds,
    feed_state,
    last_build,
    save_state,
    settings_version,
    state_version,
)
from feeds.files import remove, site_exists, write_if_changed
from feeds.jsonfeed import JsonFeedRenderer, json_path, old_items
from feeds.models import Article
from feeds.pages import page_items, page_path, render_region_page
from feeds.regions import Gazetteer
from feeds.site import render_site
from feeds.store import ArticleStore

__all__ = ["BuildReport", "LastBuild", "build_feeds", "last_build", "write_if_changed"]


@dataclass(slots=True)
class BuildReport:
    """What a build did, for the CLI and ``zonewire status``."""

    output_dir: Path
    full: bool
    feeds: int = 0  # feeds that exist after the build
    looked_at: int = 0  # feeds considered this time
    written: list[str] = field(default_factory=list)  # paths relative to output_dir
    removed: list[str] = field(default_factory=list)
    skipped_regions: list[str] = field(default_factory=list)  # keys the gazetteer lacks

    @property
    def changed_feeds(self) -> list[str]:
        """The feed documents written (Atom and JSON, archives aside): what WebSub
        hubs hear about."""
        return [p for p in self.written if p.startswith("feeds/") and p.count("/") == 1]

    @property
    def feeds_written(self) -> int:
        return sum(1 for p in self.changed_feeds if p.endswith(".atom"))

    @property
    def unchanged(self) -> int:
        return self.looked_at - self.feeds_written

    @property
    def archives_written(self) -> int:
        return sum(1 for p in self.written if p.startswith("feeds/archive/"))

    @property
    def region_pages_written(self) -> int:
        return sum(1 for p in self.written if p.startswith("r/"))


def build_feeds(
    store: ArticleStore,
    gazetteer: Gazetteer,
    output_dir: Path | str,
    base_url: str,
    entries: int = 50,
    all: bool = False,
    *,
    now: datetime | None = None,
    hubs: Sequence[str] = (),
    page_size: int = PAGE_SIZE,
) -> BuildReport:
    """Bring ``output_dir`` up to date with the store; see the module docstring.

    ``hubs``: WebSub hubs every feed names (``<link rel="hub">``); pinging them is
    :mod:`feeds.websub`'s job, with :attr:`BuildReport.changed_feeds`.
    ``page_size``: articles per archive page (changing it rebuilds everything once).
    """
    out = Path(output_dir)
    (out / "feeds").mkdir(parents=True, exist_ok=True)
    base_url = base_url.rstrip("/") + "/"
    engine = store.engine
    previous = last_build(store)
    version = settings_version(hubs, page_size)
    full = (
        all
        or previous is None
        or previous.base_url != base_url
        or previous.entries != entries
        or state_version(store) != version
    )
    report = BuildReport(out, full)
    with engine.connect() as conn:
        top_seq = int(conn.execute(sa.select(sa.func.max(articles.c.seq))).scalar() or 0)
        state = {
            row.key: row
            for row in conn.execute(
                sa.select(
                    feed_state.c.key,
                    feed_state.c.fingerprint,
                    feed_state.c.last_published,
                    feed_state.c.articles,
                )
            )
        }
        fresh: set[int] = set()
        if full:
            plans = plan_all(conn, entries)
            mark = conn.execute(
                sa.select(sa.type_coerce(sa.func.max(articles.c.updated), UTCDateTime)).where(
                    articles.c.updated != articles.c.published
                )
            ).scalar()
        else:
            assert previous is not None
            plans, mark, fresh = plan_changed(conn, entries, previous, state)
        plans = [p for p in plans if _known(p.key, gazetteer, report)]
        report.looked_at = len(plans)
        live = [p for p in plans if p.count or p.key == ALL_KEY]
        if full:
            pages = list(all_pages(conn, {p.key for p in live}, page_size))
        else:
            pages = [page for p in live for page in _tail(conn, p, state, page_size)]

    # Article counts after this build: the region pages link children that have some.
    counts = {} if full else {k: int(r.articles) for k, r in state.items() if k[:1] != "~"}
    for plan in plans:
        counts[plan.key] = plan.count
        if plan.fingerprint is not None:
            plan.fingerprint = _paged(plan.fingerprint, page_count(plan.count, page_size))
    counts = {k: c for k, c in counts.items() if c}

    renderer = AtomRenderer(base_url, names(gazetteer), hubs)
    jsons = JsonFeedRenderer(renderer, hubs)
    infos = _Infos(gazetteer)
    items: dict[Any, Any] = {}  # region page items, shared by the pages of a batch
    results: dict[str, Plan] = {}
    units: list[Plan | ArchivePage] = [*live, *pages]
    for batch in _batches(units, gazetteer):
        with engine.connect() as conn:
            by_seq = load(conn, {s for unit in batch for s in unit.seqs}, gazetteer)
        for unit in batch:
            arts = [by_seq[s] for s in unit.seqs if s in by_seq]
            if isinstance(unit, ArchivePage):
                data = render_page(renderer, infos(unit.key), unit, arts)
                if write_if_changed(out / unit.path, data):
                    report.written.append(unit.path)
                continue
            old = state.get(unit.key)
            same = (
                unit.fingerprint is not None
                and old is not None
                and old.fingerprint == unit.fingerprint
                and (out / feed_path(unit.key)).exists()
                and (out / json_path(unit.key)).exists()
            )
            if not full:
                # Entries of unchanged articles are reused from the feed on disk.
                _reuse_entries(renderer, jsons, out, unit.key, arts, fresh)
            unit.last_published = max((a.published for a in arts), default=None)
            if not same:
                unit.fingerprint = unit.fingerprint or _paged(
                    _entries_fingerprint(arts), page_count(unit.count, page_size)
                )
                # Both documents of a feed from the same entries, each written atomically.
                links = current_links(unit.key, unit.count, page_size)
                for path, data in (
                    (feed_path(unit.key), renderer.render(infos(unit.key), arts, links)),
                    (json_path(unit.key), jsons.render(infos(unit.key), arts)),
                ):
                    if write_if_changed(out / path, data):
                        report.written.append(path)
            if unit.key != ALL_KEY:
                region = gazetteer.get(unit.key)
                page = render_region_page(
                    region,
                    gazetteer,
                    page_items(renderer, jsons, arts, items),
                    unit.count,
                    counts,
                    page_size,
                )
                if write_if_changed(out / page_path(unit.key), page):
                    report.written.append(page_path(unit.key))
            results[unit.key] = unit
        if len(renderer) > BATCH_ARTICLES:
            renderer.forget()
            jsons.forget()
            items.clear()

    gone = [p.key for p in plans if p.count == 0 and p.key != ALL_KEY]
    if full:
        gone += [key for key in state if key not in results and not key.startswith("~")]
    for key in gone:
        results.pop(key, None)
        for path in (feed_path(key), json_path(key), page_path(key)):
            if remove(out / path):
                report.removed.append(path)
    _prune_archives(out, counts, page_size, None if full else {p.key for p in plans}, report)

    with engine.begin() as conn:
        save_state(conn, results, gone, full, version)
        rows = conn.execute(
            sa.select(feed_state.c.key, feed_state.c.articles, feed_state.c.last_published)
        ).all()
        report.feeds = sum(1 for row in rows if not row[0].startswith("~"))
        if plans or report.removed or full or not site_exists(out):
            # The OPML lists feeds, not counts: same set of feeds, same OPML.
            same_feeds = {r[0] for r in rows} == set(state) and (out / "feeds.opml").exists()
            site = ("index.html",) if same_feeds and not full else ("index.html", "feeds.opml")
            for name, data in render_site(rows, gazetteer, base_url, site).items():
                if write_if_changed(out / name, data):
                    report.written.append(name)
        values = {
            "last_seq": top_seq,
            "updated_mark": mark,
            "built_at": now or datetime.now(UTC),
            "feeds": report.feeds,
            "written": len(report.written),
            "base_url": base_url,
            "entries": entries,
        }
        if conn.execute(sa.update(feed_builds).where(feed_builds.c.id == 1), values).rowcount == 0:
            conn.execute(sa.insert(feed_builds), {"id": 1, **values})
    return report


def _tail(conn: Any, plan: Plan, state: dict[str, Any], size: int) -> list[ArchivePage]:
    """The archive pages an incremental build renders for a feed: from the page that
    was open at the last build (new articles only ever land there or later), or from
    the page of the oldest re-imported article it holds."""
    before = int(state[plan.key].articles) if plan.key in state else 0
    first = max(page_count(before, size), 1)
    if plan.reimported is not None:
        first = min(first, page_of(conn, plan.key, plan.reimported, size))
    return tail_pages(conn, plan.key, plan.count, first, size)


def _prune_archives(
    out: Path, counts: dict[str, int], size: int, keys: set[str] | None, report: BuildReport
) -> None:
    """Remove archive pages past a region's last one, and archives of regions without
    articles; ``keys``: the regions to check (``None``: every archive directory)."""
    root = out / "feeds" / "archive"
    if keys is None:
        keys = {p.name for p in root.iterdir()} if root.is_dir() else set()
    for key in sorted(keys):
        folder = out / archive_dir(key)
        if not folder.is_dir():
            continue
        pages = page_count(counts.get(key, 0), size)
        for path in sorted(folder.glob("*.atom")):
            if not path.stem.isdigit() or int(path.stem) > pages:
                remove(path)
                report.removed.append(f"{archive_dir(key)}/{path.name}")
        if not pages:
            shutil.rmtree(folder, ignore_errors=True)


def _paged(fingerprint: str, pages: int) -> str:
    """A feed's fingerprint with its archive page count (its ``prev-archive`` link)."""
    return hashlib.sha256(f"{fingerprint}#{pages}".encode()).hexdigest()


def _entries_fingerprint(arts: Sequence[Article]) -> str:
    return fingerprint((a.seq, a.content_hash, a.updated) for a in arts)


class _Infos:
    """Feed titles by key, each looked up once per build."""

    def __init__(self, gazetteer: Gazetteer) -> None:
        self.gazetteer = gazetteer
        self.found: dict[str, FeedInfo] = {}

    def __call__(self, key: str) -> FeedInfo:
        info = self.found.get(key)
        if info is None:
            region = None if key == ALL_KEY else self.gazetteer.get(key)
            label = self.gazetteer.label(region) if region is not None else None
            info = self.found[key] = feed_info(region, label)
        return info


def _known(key: str, gazetteer: Gazetteer, report: BuildReport) -> bool:
    if key == ALL_KEY or key in gazetteer:
        return True
    report.skipped_regions.append(key)
    return False


def _batches(units: list[Plan | ArchivePage], gazetteer: Gazetteer) -> Iterator[list[Any]]:
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


_ENTRY = re.compile(rb"^  <entry>\n    <id>([^<]*)</id>\n.*?^  </entry>\n", re.M | re.S)


def _reuse_entries(
    renderer: AtomRenderer,
    jsons: JsonFeedRenderer,
    out: Path,
    key: str,
    arts: Sequence[Article],
    fresh: set[int],
) -> None:
    """Seed the renderers with entries from the feed's current files, for articles
    that did not change since they were written (same base URL and settings: an
    incremental build). Our own output, so entries are found by their fixed layout."""
    try:
        data = (out / feed_path(key)).read_bytes()
        items = old_items((out / json_path(key)).read_bytes())
    except FileNotFoundError:
        return
    old: dict[bytes, bytes] = {}
    # Text never holds a raw "<", so "</entry>" at line start only closes an entry.
    for match in _ENTRY.finditer(data):
        old[match.group(1)] = match.group(0)
    for article in arts:
        if article.seq not in fresh:
            found = old.get(html.escape(article.id, quote=False).encode("utf-8"))
            if found is not None:
                renderer.seed(article, found)
            item = items.get(article.id)
            if item is not None:
                jsons.seed(article, item)
