"""Edge: bringing the feeds, their archives, the region pages, ``index.html`` and
``feeds.opml`` under the output directory up to date with the store.

The store is read through storage's feed-build protocols (:mod:`feeds.feedplan`,
:mod:`feeds.feedstate`, :mod:`feeds.archive`); the pure planner
(:mod:`feeds.buildplan`) decides which feeds are looked at, their entry lists and
which of their documents must be rendered; the writer (:mod:`feeds.feedwriter`)
renders each article once (kept in ``feed_entries``), assembles the documents from
those bytes and replaces a file only when its bytes differ (:mod:`feeds.files`:
atomic, and an unchanged file keeps its mtime, so HTTP validators and rsync stay
quiet).

Incremental builds (the default) start from what changed since the last build: new
articles (``seq`` above the last built one) and re-imported ones (their ``updated``
moved to the ingest time, at or after the last mark). Only the feeds holding those
articles — their regions, the regions above, ``all``, and any feed that listed them
before — are looked at; a feed whose entry list (ids, content hashes, ``updated``)
and archive page count have the same fingerprint as last time is not rendered again.
For each feed looked at, the region page (:mod:`feeds.pages`) and the archive pages
from the previously open one on (:mod:`feeds.archive`) are rendered too. ``--all``
renders every article anew (and still writes only what differs).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from feeds.archive import (
    PAGE_SIZE,
    ArchivePage,
    all_pages,
    archive_dir,
    page_count,
    page_of,
    tail_pages,
)
from feeds.atom import ALL_KEY, AtomRenderer, feed_path
from feeds.buildplan import Documents, Plan, documents, gone_feeds, site_documents
from feeds.feedplan import known_feeds, loader, names, plan_all, plan_changed
from feeds.feedstate import LastBuild, last_build, records, settings_version
from feeds.feedwriter import Writer, batches, entries_version
from feeds.files import remove, site_exists, write_if_changed
from feeds.jsonfeed import JsonFeedRenderer, json_path
from feeds.pages import page_path
from feeds.regions import Gazetteer
from feeds.site import render_site
from feeds.storage import Storage

__all__ = [
    "BuildReport",
    "LastBuild",
    "batches",
    "build_feeds",
    "last_build",
    "write_if_changed",
]

#: Kept for the benchmark, which batches the bare loop the same way.
_batches = batches


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
    store: Storage,
    gazetteer: Gazetteer,
    output_dir: Path | str,
    base_url: str,
    entries: int = 50,
    all: bool = False,
    *,
    now: datetime | None = None,
    hubs: Sequence[str] = (),
    page_size: int = PAGE_SIZE,
    on_progress: Callable[[int, int], None] | None = None,
) -> BuildReport:
    """Bring ``output_dir`` up to date with the store; see the module docstring.

    ``hubs``: WebSub hubs every feed names (``<link rel="hub">``); pinging them is
    :mod:`feeds.websub`'s job, with :attr:`BuildReport.changed_feeds`.
    ``page_size``: articles per archive page (changing it rebuilds everything once).
    ``on_progress``: told (documents written or checked, documents in the build).
    """
    out = Path(output_dir)
    (out / "feeds").mkdir(parents=True, exist_ok=True)
    base_url = base_url.rstrip("/") + "/"
    previous = store.feed_state.last_build()
    version = settings_version(hubs, page_size)
    full = (
        all
        or previous is None
        or previous.base_url != base_url
        or previous.entries != entries
        or store.feed_state.version() != version
    )
    report = BuildReport(out, full)
    if all:
        # --all renders every article anew (and keeps the new renderings).
        store.feed_entries.forget()
    newest = store.feed_plan.top_seq()
    known = known_feeds(store.feed_state)
    if full:
        plans = plan_all(store.feed_plan, entries)
        mark = store.feed_plan.reimport_mark()
    else:
        assert previous is not None
        plans, mark, _ = plan_changed(store.feed_plan, store.feed_state, entries, previous, known)
    plans = [p for p in plans if _known(p.key, gazetteer, report)]
    report.looked_at = len(plans)
    docs: dict[str, Documents] = {}
    for plan in plans:
        rank = None
        if not full and plan.reimported is not None:
            rank = page_of(store.archive, plan.key, plan.reimported, page_size)
        docs[plan.key] = documents(plan, known.get(plan.key), full, page_size, rank)
    live = [p for p in plans if p.count or p.key == ALL_KEY]
    if full:
        pages = list(all_pages(store.archive, {p.key for p in live}, page_size))
    else:
        pages = [
            page
            for p in live
            if docs[p.key].archive_from
            for page in tail_pages(
                store.archive, p.key, p.count, docs[p.key].archive_from, page_size
            )
        ]

    # Article counts after this build: the region pages link children that have some.
    counts = {} if full else {k: f.count for k, f in known.items() if k[:1] != "~"}
    counts.update((plan.key, plan.count) for plan in plans)
    counts = {k: c for k, c in counts.items() if c}

    renderer = AtomRenderer(base_url, names(gazetteer), hubs)
    writer = Writer(
        store.feed_entries,
        loader(store.feed_plan, gazetteer),
        gazetteer,
        out,
        renderer,
        JsonFeedRenderer(renderer, hubs),
        docs,
        counts,
        page_size,
        entries_version(base_url),
        kept=set() if all else None,
        on_progress=on_progress,
    )
    units: list[Plan | ArchivePage] = [*live, *pages]
    writer.run(units)
    report.written = writer.written
    results = writer.results

    gone = gone_feeds(plans, known, results, full)
    for key in gone:
        results.pop(key, None)
        for path in (feed_path(key), json_path(key), page_path(key)):
            if remove(out / path):
                report.removed.append(path)
    _prune_archives(out, counts, page_size, None if full else {p.key for p in plans}, report)

    with store.feed_state.saving() as saving:
        saving.save_feeds(records(results.values()), gone, full=full, version=version)
        rows = saving.feed_rows()
        report.feeds = sum(1 for row in rows if not row[0].startswith("~"))
        site = site_documents(
            full,
            len(plans),
            len(report.removed),
            set(known),
            {r[0] for r in rows},
            site_exists(out),
        )
        for name, data in render_site(rows, gazetteer, base_url, site).items():
            if write_if_changed(out / name, data):
                report.written.append(name)
        saving.save_build(
            LastBuild(
                last_seq=newest,
                updated_mark=mark,
                built_at=now or datetime.now(UTC),
                feeds=report.feeds,
                written=len(report.written),
                base_url=base_url,
                entries=entries,
            )
        )
    return report


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


def _known(key: str, gazetteer: Gazetteer, report: BuildReport) -> bool:
    if key == ALL_KEY or key in gazetteer:
        return True
    report.skipped_regions.append(key)
    return False
