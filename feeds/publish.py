"""Edge: writing the feeds, ``index.html`` and ``feeds.opml`` under the output directory.

A build decides which feeds to look at, renders them with :mod:`feeds.atom`, and
replaces a file only when its bytes differ (a temporary file in the same directory,
then ``os.replace``: readers never see half a file, and an unchanged file keeps its
mtime, so HTTP validators and rsync stay quiet).

Incremental builds (the default) start from what changed since the last build: new
articles (``seq`` above the last built one) and re-imported ones (their ``updated``
moved to the ingest time, at or after the last mark). Only the feeds holding those
articles — their regions, the regions above, ``all``, and any feed that listed them
before — are queried; a feed whose entry list (ids, content hashes, ``updated``) has
the same fingerprint as last time is not even rendered. ``--all`` re-renders every
feed (and still writes only what differs).
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from feeds.atom import ALL_KEY, AtomRenderer, feed_info, feed_path
from feeds.db import UTCDateTime, article_regions, articles, metadata
from feeds.files import remove, site_exists, write_if_changed
from feeds.jsonfeed import JsonFeedRenderer, json_path, old_items
from feeds.models import Article
from feeds.regions import Gazetteer
from feeds.site import render_site
from feeds.store import ArticleStore, row_to_article

__all__ = ["BuildReport", "LastBuild", "build_feeds", "last_build", "write_if_changed"]

#: Bumped whenever rendering changes in a way the fingerprints cannot see, so the
#: next incremental build re-renders everything once.
RENDER_VERSION = "2"
#: Articles held in memory at once while rendering (a batch of neighbouring feeds).
BATCH_ARTICLES = 4000
_IN_CHUNK = 500
_T = TypeVar("_T")

feed_state = sa.Table(
    "feed_state",
    metadata,
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("entries", sa.Text, nullable=False),  # entry seqs, newest first, comma-separated
    sa.Column("articles", sa.Integer, nullable=False),
    sa.Column("last_published", UTCDateTime),
)

feed_builds = sa.Table(
    "feed_builds",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("last_seq", sa.Integer, nullable=False),
    sa.Column("updated_mark", UTCDateTime),
    sa.Column("built_at", UTCDateTime, nullable=False),
    sa.Column("feeds", sa.Integer, nullable=False),
    sa.Column("written", sa.Integer, nullable=False),
    sa.Column("base_url", sa.Text, nullable=False),
    sa.Column("entries", sa.Integer, nullable=False),
)


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


@dataclass(frozen=True, slots=True)
class LastBuild:
    last_seq: int
    updated_mark: datetime | None
    built_at: datetime
    feeds: int
    written: int
    base_url: str
    entries: int


@dataclass(slots=True)
class _Plan:
    """One feed to (maybe) render: its ordered entry seqs and its article count."""

    key: str
    seqs: list[int]
    count: int
    fingerprint: str | None = None  # known up front on incremental builds
    last_published: datetime | None = None


def last_build(store: ArticleStore) -> LastBuild | None:
    with store.engine.connect() as conn:
        row = conn.execute(sa.select(feed_builds).where(feed_builds.c.id == 1)).first()
    if row is None:
        return None
    return LastBuild(
        row.last_seq,
        row.updated_mark,
        row.built_at,
        row.feeds,
        row.written,
        row.base_url,
        row.entries,
    )


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
) -> BuildReport:
    """Bring ``output_dir`` up to date with the store; see the module docstring.

    ``hubs``: WebSub hubs every feed names (``<link rel="hub">``); pinging them is
    :mod:`feeds.websub`'s job, with :attr:`BuildReport.changed_feeds`.
    """
    out = Path(output_dir)
    (out / "feeds").mkdir(parents=True, exist_ok=True)
    base_url = base_url.rstrip("/") + "/"
    engine = store.engine
    previous = last_build(store)
    full = (
        all
        or previous is None
        or previous.base_url != base_url
        or previous.entries != entries
        or _state_version(store) != _version(hubs)
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
            plans = _plan_all(conn, entries)
            mark = conn.execute(
                sa.select(sa.type_coerce(sa.func.max(articles.c.updated), UTCDateTime)).where(
                    articles.c.updated != articles.c.published
                )
            ).scalar()
        else:
            assert previous is not None
            plans, mark, fresh = _plan_changed(conn, entries, previous, state)
    plans = [p for p in plans if _known(p.key, gazetteer, report)]
    report.looked_at = len(plans)

    renderer = AtomRenderer(base_url, _names(gazetteer), hubs)
    jsons = JsonFeedRenderer(renderer, hubs)
    results: dict[str, _Plan] = {}
    to_render = []
    for plan in plans:
        old = state.get(plan.key)
        if (
            plan.fingerprint is not None
            and old is not None
            and old.fingerprint == plan.fingerprint
            and (out / feed_path(plan.key)).exists()
            and (out / json_path(plan.key)).exists()
        ):
            # Same entries as last time: only the count may have moved.
            plan.last_published = old.last_published
            results[plan.key] = plan
        elif plan.count or plan.key == ALL_KEY:
            to_render.append(plan)
    for batch in _batches(to_render, gazetteer):
        with engine.connect() as conn:
            by_seq = _load(conn, {s for p in batch for s in p.seqs}, gazetteer)
        for plan in batch:
            arts = [by_seq[s] for s in plan.seqs if s in by_seq]
            if not full:
                # Entries of unchanged articles are reused from the feed on disk.
                _reuse_entries(renderer, jsons, out, plan.key, arts, fresh)
            plan.fingerprint = plan.fingerprint or _fingerprint(
                (a.seq, a.content_hash, a.updated) for a in arts
            )
            plan.last_published = max((a.published for a in arts), default=None)
            region = None if plan.key == ALL_KEY else gazetteer.get(plan.key)
            label = gazetteer.label(region) if region is not None else None
            info = feed_info(region, label)
            # Both documents of a feed from the same entries, each written atomically.
            for path, render in ((feed_path(plan.key), renderer), (json_path(plan.key), jsons)):
                if write_if_changed(out / path, render.render(info, arts)):
                    report.written.append(path)
            results[plan.key] = plan
        if len(renderer) > BATCH_ARTICLES:
            renderer.forget()
            jsons.forget()

    gone = [p.key for p in plans if p.count == 0 and p.key != ALL_KEY]
    if full:
        gone += [key for key in state if key not in results and not key.startswith("~")]
    for key in gone:
        results.pop(key, None)
        for path in (feed_path(key), json_path(key)):
            if remove(out / path):
                report.removed.append(path)

    with engine.begin() as conn:
        _save_state(conn, results, gone, full, _version(hubs))
        rows = conn.execute(
            sa.select(feed_state.c.key, feed_state.c.articles, feed_state.c.last_published)
        ).all()
        report.feeds = sum(1 for row in rows if not row[0].startswith("~"))
        if plans or report.removed or full or not site_exists(out):
            # The OPML lists feeds, not counts: same set of feeds, same OPML.
            same_feeds = {r[0] for r in rows} == set(state) and (out / "feeds.opml").exists()
            pages = ("index.html",) if same_feeds and not full else ("index.html", "feeds.opml")
            for name, data in render_site(rows, gazetteer, base_url, pages).items():
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


# -- deciding what to build -------------------------------------------------------------


def _ordered() -> tuple[Any, Any]:
    return articles.c.published.desc(), articles.c.seq.desc()


def _plan_all(conn: Connection, limit: int) -> list[_Plan]:
    """Every feed in one pass: region links streamed newest article first, each
    region keeping its first ``limit`` seqs (the database does the one big sort)."""
    tops: dict[str, list[int]] = {}
    counts: dict[str, int] = {}
    query = (
        sa.select(article_regions.c.region_key, article_regions.c.article_seq)
        .join(articles, articles.c.seq == article_regions.c.article_seq)
        .order_by(*_ordered())
    )
    result = conn.execution_options(yield_per=20_000).execute(query)
    for key, seq in result:
        seqs = tops.get(key)
        if seqs is None:
            tops[key] = [seq]
            counts[key] = 1
            continue
        counts[key] += 1
        if len(seqs) < limit:
            seqs.append(seq)
    plans = [_Plan(key, seqs, counts[key]) for key, seqs in tops.items()]
    plans.append(_all_plan(conn, limit))
    return plans


def _all_plan(conn: Connection, limit: int) -> _Plan:
    seqs = list(
        conn.execute(sa.select(articles.c.seq).order_by(*_ordered()).limit(limit)).scalars()
    )
    count = int(conn.execute(sa.select(sa.func.count()).select_from(articles)).scalar() or 0)
    return _Plan(ALL_KEY, seqs, count)


def _plan_changed(
    conn: Connection, limit: int, previous: LastBuild, state: dict[str, Any]
) -> tuple[list[_Plan], datetime | None, set[int]]:
    """Only the feeds that hold an article added or re-imported since the last build,
    the new re-import mark, and the seqs of those articles.

    A feed that only gained new articles is merged from its previous entry list and
    the newcomers (no scan of the region); a feed touched by a re-import is queried
    afresh, since a changed date may push an entry out and let an older one in.
    """
    # Two queries, not one OR: each runs on its own index (the seq range on the
    # primary key, re-imports on the partial index of migration 0005).
    reimported: sa.ColumnElement[bool] | sa.TextClause = sa.text("updated <> published")
    if previous.updated_mark is not None:
        reimported = sa.and_(reimported, articles.c.updated >= previous.updated_mark)
    cols = (articles.c.seq, articles.c.published, articles.c.content_hash, articles.c.updated)
    found = {
        row.seq: row
        for condition in (articles.c.seq > previous.last_seq, reimported)
        for row in conn.execute(sa.select(*cols).where(condition))
    }
    mark = previous.updated_mark
    for row in found.values():
        if row.updated != row.published and (mark is None or row.updated > mark):
            mark = row.updated
    if not found:
        return [], mark, set()
    members: dict[str, list[int]] = {ALL_KEY: list(found)}
    for chunk in _chunks(sorted(found)):
        for seq, key in conn.execute(
            sa.select(article_regions.c.article_seq, article_regions.c.region_key).where(
                article_regions.c.article_seq.in_(chunk)
            )
        ):
            members.setdefault(key, []).append(seq)
    # A re-imported article may have moved region: the feeds that listed it before.
    again = {seq for seq in found if seq <= previous.last_seq}
    if again:
        for key, text in conn.execute(sa.select(feed_state.c.key, feed_state.c.entries)):
            if key not in members and text and not again.isdisjoint(_seqs(text)):
                members[key] = []
    merge = {
        key
        for key, seqs in members.items()
        if seqs and key in state and all(s > previous.last_seq for s in seqs)
    }
    listed: dict[str, list[int]] = {}
    for chunk_keys in _chunks(sorted(merge)):
        for key, text in conn.execute(
            sa.select(feed_state.c.key, feed_state.c.entries).where(
                feed_state.c.key.in_(chunk_keys)
            )
        ):
            listed[key] = _seq_list(text)
    old_seqs = sorted({s for seqs in listed.values() for s in seqs})
    old_rows: dict[int, Any] = {}
    for chunk in _chunks(old_seqs):
        old_rows.update(
            (row.seq, row)
            for row in conn.execute(sa.select(*cols).where(articles.c.seq.in_(chunk)))
        )
    plans = []
    for key in sorted(members):
        if key in merge:
            pool = [old_rows[s] for s in listed.get(key, ()) if s in old_rows]
            pool += [found[s] for s in members[key]]
            pool.sort(key=lambda r: (r.published, r.seq), reverse=True)
            rows = pool[:limit]
            count = int(state[key].articles) + len(members[key])
        else:
            rows, count = _query_feed(conn, key, limit)
        plans.append(
            _Plan(
                key,
                [r.seq for r in rows],
                count,
                _fingerprint((r.seq, r.content_hash, r.updated) for r in rows),
            )
        )
    return plans, mark, set(found)


def _query_feed(conn: Connection, key: str, limit: int) -> tuple[list[Any], int]:
    """A feed's newest ``limit`` rows and its article count, straight from the store."""
    cols = (articles.c.seq, articles.c.published, articles.c.content_hash, articles.c.updated)
    if key == ALL_KEY:
        rows_q = sa.select(*cols)
        count_q = sa.select(sa.func.count()).select_from(articles)
    else:
        rows_q = (
            sa.select(*cols)
            .join(article_regions, article_regions.c.article_seq == articles.c.seq)
            .where(article_regions.c.region_key == key)
        )
        count_q = (
            sa.select(sa.func.count())
            .select_from(article_regions)
            .where(article_regions.c.region_key == key)
        )
    rows = list(conn.execute(rows_q.order_by(*_ordered()).limit(limit)).all())
    return rows, int(conn.execute(count_q).scalar() or 0)


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


def _seq_list(text: str) -> list[int]:
    return [int(s) for s in text.split(",") if s]


def _fingerprint(rows: Iterable[Sequence[Any]]) -> str:
    digest = hashlib.sha256(RENDER_VERSION.encode())
    for seq, content_hash, updated in rows:
        digest.update(f"|{seq}:{content_hash}:{updated.timestamp()!r}".encode())
    return digest.hexdigest()


def _seqs(text: str) -> set[int]:
    return {int(s) for s in text.split(",") if s}


def _chunks(items: Sequence[_T], size: int = _IN_CHUNK) -> Iterator[Sequence[_T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _known(key: str, gazetteer: Gazetteer, report: BuildReport) -> bool:
    if key == ALL_KEY or key in gazetteer:
        return True
    report.skipped_regions.append(key)
    return False


def _batches(plans: list[_Plan], gazetteer: Gazetteer) -> Iterator[list[_Plan]]:
    """Feeds grouped so neighbours (a city, its districts and zones) share one load
    of articles, with at most about :data:`BATCH_ARTICLES` articles in memory."""

    def group(plan: _Plan) -> tuple[str, str]:
        if plan.key == ALL_KEY:
            return ("", "")
        lineage = gazetteer.lineage(plan.key)
        return (lineage[-2].key if len(lineage) >= 2 else "", plan.key)

    batch: list[_Plan] = []
    seen: set[int] = set()
    for plan in sorted(plans, key=group):
        if batch and len(seen | set(plan.seqs)) > BATCH_ARTICLES:
            yield batch
            batch, seen = [], set()
        batch.append(plan)
        seen.update(plan.seqs)
    if batch:
        yield batch


# -- loading articles --------------------------------------------------------------------


def _load(conn: Connection, seqs: set[int], gazetteer: Gazetteer) -> dict[int, Article]:
    """Full articles for ``seqs``, regions ordered leaf first (zone, district, city,
    province) so categories read from the most specific."""
    found: dict[int, Article] = {}
    lineages: dict[str | None, tuple[str, ...]] = {None: ()}
    for chunk in _chunks(sorted(seqs)):
        rows = conn.execute(sa.select(articles).where(articles.c.seq.in_(chunk))).all()
        for row in rows:
            leaf = row.region_key
            keys = lineages.get(leaf)
            if keys is None:
                keys = lineages[leaf] = gazetteer.ancestor_keys(leaf) if leaf in gazetteer else ()
            found[row.seq] = row_to_article(row, keys)
    return found


def _names(gazetteer: Gazetteer) -> Any:
    def name(key: str) -> str | None:
        region = gazetteer.find(key)
        return region.name if region is not None else None

    return name


# -- state ------------------------------------------------------------------------------


def _state_version(store: ArticleStore) -> str | None:
    """The render version the stored fingerprints were made with (kept in a
    pseudo-row so a renderer change forces one full build)."""
    with store.engine.connect() as conn:
        value = conn.execute(
            sa.select(feed_state.c.fingerprint).where(feed_state.c.key == "~version")
        ).scalar()
    return None if value is None else str(value)


def _version(hubs: Sequence[str]) -> str:
    """The render version with the hub list: new hubs re-render every feed once."""
    if not hubs:
        return RENDER_VERSION
    return RENDER_VERSION + ":" + hashlib.sha256("\n".join(hubs).encode()).hexdigest()[:16]


def _save_state(
    conn: Connection, plans: dict[str, _Plan], gone: list[str], full: bool, version: str
) -> None:
    if full:
        conn.execute(sa.delete(feed_state))
    else:
        doomed = list(plans) + gone
        for start in range(0, len(doomed), _IN_CHUNK):
            conn.execute(
                sa.delete(feed_state).where(feed_state.c.key.in_(doomed[start : start + _IN_CHUNK]))
            )
    rows = [
        {
            "key": p.key,
            "fingerprint": p.fingerprint or "",
            "entries": ",".join(map(str, p.seqs)),
            "articles": p.count,
            "last_published": p.last_published,
        }
        for p in plans.values()
    ]
    if full:
        rows.append(
            {
                "key": "~version",
                "fingerprint": version,
                "entries": "",
                "articles": 0,
                "last_published": None,
            }
        )
    if rows:
        conn.execute(sa.insert(feed_state), rows)
