"""Pure: what a feed build must do, from what changed and what the last build left.

The edge (:mod:`feeds.feedplan` and the storage queries) gathers plain rows: the
articles added or re-imported since the last build with their region keys, the
feeds that listed a re-imported article, the previous entry lists. This module
decides which feeds are looked at, each feed's entry list and count, and which of
its documents (current Atom + JSON Feed, archive pages from some page on, region
page) must be rendered; the writer (:mod:`feeds.publish`) renders and writes only
that. No database, no files, no clock: tested with plain data.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

#: The key of the feed that holds every article (same as :data:`feeds.atom.ALL_KEY`).
ALL_KEY = "all"


@dataclass(frozen=True, slots=True)
class Row:
    """What planning needs of an article: its place in a feed and what its entry shows."""

    seq: int
    published: datetime
    updated: datetime
    content_hash: str


@dataclass(frozen=True, slots=True)
class Known:
    """A feed as the last build left it."""

    key: str
    fingerprint: str
    count: int


@dataclass(slots=True)
class Plan:
    """One feed to (maybe) render: its ordered entry seqs and its article count."""

    key: str
    seqs: list[int]
    count: int
    fingerprint: str | None = None  # known up front on incremental builds
    last_published: datetime | None = None
    #: The oldest re-imported article (seq up to the last build's) the feed holds or
    #: held: its archive pages are rebuilt from that article's page on.
    reimported: int | None = None


@dataclass(slots=True)
class Touched:
    """The feeds an incremental build looks at, and how each gets its entry list."""

    members: dict[str, list[int]]  # feed -> changed seqs it holds now
    left: dict[str, set[int]] = field(default_factory=dict)  # re-imported seqs it lost
    merge: set[str] = field(default_factory=set)  # old list + newcomers suffices
    requery: set[str] = field(default_factory=set)  # must be read afresh


def fingerprint(rows: Iterable[Row], version: str) -> str:
    """What a feed's entries look like: seqs, content and ``updated`` (and the render
    version); equal fingerprints render to equal bytes."""
    digest = hashlib.sha256(version.encode())
    for row in rows:
        digest.update(f"|{row.seq}:{row.content_hash}:{row.updated.timestamp()!r}".encode())
    return digest.hexdigest()


def paged(value: str, pages: int) -> str:
    """A feed's fingerprint with its archive page count (its ``prev-archive`` link)."""
    return hashlib.sha256(f"{value}#{pages}".encode()).hexdigest()


def page_count(count: int, size: int) -> int:
    """Archive pages of a region with ``count`` articles (the last one open)."""
    return count // size + 1 if count > 0 else 0


def new_mark(changed: Iterable[Row], mark: datetime | None) -> datetime | None:
    """The re-import mark after this build: the newest ``updated`` that moved away
    from ``published`` (re-imports at or after it are the next build's business)."""
    for row in changed:
        if row.updated != row.published and (mark is None or row.updated > mark):
            mark = row.updated
    return mark


def touched(
    changed: Mapping[int, Row],
    regions: Mapping[int, Iterable[str]],
    last_seq: int,
    listed: Mapping[str, set[int]],
    known: Mapping[str, Known],
) -> Touched:
    """Which feeds hold (or held) a changed article, and which of them can be merged.

    ``regions``: the changed articles' region keys now; ``listed``: feeds whose last
    entry list held a re-imported article (seq up to ``last_seq``), and which. A feed
    that only gained new articles is its old list plus the newcomers; a feed touched
    by a re-import is read afresh (a changed date may push an entry out and let an
    older one in).
    """
    if not changed:
        return Touched({})
    members: dict[str, list[int]] = {ALL_KEY: sorted(changed)}
    for seq in sorted(regions):
        for key in regions[seq]:
            members.setdefault(key, []).append(seq)
    again = {seq for seq in changed if seq <= last_seq}
    left: dict[str, set[int]] = {}
    for key, seqs in listed.items():
        lost = again & seqs
        if key not in members and lost:
            members[key] = []
            left[key] = lost
    merge = {
        key
        for key, seqs in members.items()
        if seqs and key in known and all(s > last_seq for s in seqs)
    }
    return Touched(members, left, merge, set(members) - merge)


def merge_entries(old: Sequence[Row], new: Sequence[Row], limit: int) -> list[Row]:
    """A feed's newest ``limit`` rows from its previous entries and the newcomers."""
    pool = sorted([*old, *new], key=lambda r: (r.published, r.seq), reverse=True)
    return pool[:limit]


def plan_feeds(
    touch: Touched,
    changed: Mapping[int, Row],
    last_seq: int,
    known: Mapping[str, Known],
    previous: Mapping[str, Sequence[Row]],
    queried: Mapping[str, tuple[Sequence[Row], int]],
    limit: int,
    version: str,
) -> list[Plan]:
    """Each touched feed's new entry list, count and fingerprint.

    ``previous``: the rows of each merged feed's last entry list; ``queried``: each
    re-queried feed's newest rows and count, read from the store.
    """
    plans = []
    for key in sorted(touch.members):
        seqs = touch.members[key]
        if key in touch.merge:
            fresh = [changed[s] for s in seqs]
            rows = merge_entries(previous.get(key, ()), fresh, limit)
            count = known[key].count + len(seqs)
        else:
            found, count = queried[key]
            rows = list(found)
        hit = {s for s in seqs if s <= last_seq} | touch.left.get(key, set())
        plans.append(
            Plan(
                key,
                [r.seq for r in rows],
                count,
                fingerprint(rows, version),
                reimported=min(hit) if hit else None,
            )
        )
    return plans


@dataclass(frozen=True, slots=True)
class Documents:
    """What to render for one feed: the current Atom + JSON Feed pair (or not),
    archive pages ``archive_from ..`` (0: none) and the region page."""

    key: str
    current: bool
    archive_from: int
    pages: int
    region_page: bool


def documents(
    plan: Plan, known: Known | None, full: bool, page_size: int, reimported_page: int | None
) -> Documents:
    """The documents of a feed looked at. A full build renders every archive page; an
    incremental one from the page that was open at the last build (new articles only
    land there or later), or from the page of the oldest re-imported article.
    ``plan.fingerprint`` is paged here (a new archive page changes the feed's link).
    """
    pages = page_count(plan.count, page_size)
    if plan.fingerprint is not None:
        plan.fingerprint = paged(plan.fingerprint, pages)
    same = (
        not full
        and known is not None
        and plan.fingerprint is not None
        and known.fingerprint == plan.fingerprint
    )
    if full:
        first = 1
    else:
        first = max(page_count(known.count if known else 0, page_size), 1)
        if reimported_page is not None:
            first = min(first, reimported_page)
    live = plan.count > 0 or plan.key == ALL_KEY
    return Documents(
        plan.key,
        current=live and not same,
        archive_from=first if live and pages else 0,
        pages=pages if live else 0,
        region_page=live and plan.key != ALL_KEY,
    )


def gone_feeds(
    plans: Sequence[Plan], known: Iterable[str], built: Iterable[str], full: bool
) -> list[str]:
    """Feeds whose files go: those left without articles, and on a full build every
    feed of the last build that was not built again."""
    gone = [p.key for p in plans if p.count == 0 and p.key != ALL_KEY]
    if full:
        done = set(built)
        gone += [k for k in known if k not in done and not k.startswith("~") and k not in gone]
    return gone


def site_documents(
    full: bool, looked_at: int, removed: int, before: set[str], after: set[str], present: bool
) -> tuple[str, ...]:
    """``index.html`` and ``feeds.opml`` when anything could have changed them. The
    OPML lists feeds, not counts: the same set of feeds keeps the same OPML."""
    if not (full or looked_at or removed or not present):
        return ()
    if not full and present and before == after:
        return ("index.html",)
    return ("index.html", "feeds.opml")
