"""A private feed per subscriber (SPEC §6): ``/s/TOKEN.atom`` and ``/s/TOKEN.json``.

The feed holds what the subscriber's filters match (regions, keywords, categories),
newest first, up to ``feeds.entries`` articles like the public feeds. It is
selected by the production rule (:class:`notifier.match.Rule`, the rule the match
index is tested against), never by a copy of it, and rendered by the public feeds'
own renderers, so an entry has the same id and bytes as in ``feeds/KEY.atom``.

TOKEN is signed with ``secret_key`` for the ``feed`` purpose
(:mod:`notifier.tokens`): it cannot unsubscribe anyone, and an unsubscribe token is
no feed token. A wrong token, a token of the other kind, a subscriber no longer in
the subscriptions file, or one who unsubscribed from everything gets 404 (no page
tells which). A region the reader dropped on the unsubscribe page leaves the feed
too: the feed follows the same subscription as the emails.

Served by :mod:`notifier.web_private_feed`; linked in every email footer
(``private_feed_url`` in the template context) and shown by ``digest preview``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import replace

from feeds.atom import AtomRenderer, FeedInfo
from feeds.jsonfeed import JsonFeedRenderer
from feeds.models import Article
from feeds.regions import Gazetteer
from feeds.storage.protocols import ArticleStore
from notifier.ledger import Ledger
from notifier.match import Rule
from notifier.models import Subscriber

#: Candidates read from the store per query while filling a feed.
SCAN_PAGE = 200
#: Candidates looked at per request at most: a narrow keyword over a busy region
#: costs a bounded amount of work; the feed then holds what these newest ones gave.
SCAN_LIMIT = 5000


def private_feed_path(token: str, kind: str = "atom") -> str:
    """The feed's path under ``public_url`` (``kind``: ``atom`` or ``json``)."""
    return f"s/{token}.{kind}"


def private_feed_url(public_url: str, token: str, kind: str = "atom") -> str:
    return public_url.rstrip("/") + "/" + private_feed_path(token, kind)


def feed_subscriber(subscriber: Subscriber, ledger: Ledger) -> Subscriber | None:
    """``subscriber`` as the reader chose to keep it on the unsubscribe page (regions
    dropped removed); ``None`` when they unsubscribed from everything."""
    state = ledger.states([subscriber.id]).get(subscriber.id)
    if state is None or not state.choice_applies(subscriber):
        return subscriber
    if state.unsubscribed_all:
        return None
    kept = tuple(r for r in subscriber.regions if r not in state.unsubscribed_regions)
    return replace(subscriber, regions=kept) if kept else None


def select_articles(
    store: ArticleStore, subscriber: Subscriber, limit: int,
    *, page: int = SCAN_PAGE, scan_limit: int = SCAN_LIMIT,
) -> list[Article]:
    """The newest ``limit`` articles the subscriber's filters take, newest first.

    Candidates are the newest articles of the subscriber's regions (one keyset-paged
    query over all of them), filtered by the digest rule until ``limit`` are found,
    the regions run out, or ``scan_limit`` candidates were looked at. Like digests,
    the feed holds a story once, by its first article (the others are its ``also``).
    """
    rule = Rule.of(subscriber)
    found: list[Article] = []
    before = None
    scanned = 0
    while len(found) < limit and scanned < scan_limit:
        batch = store.newest_in(subscriber.regions, min(page, scan_limit - scanned), before)
        if not batch:
            break
        scanned += len(batch)
        # An article that joined another's story is never an entry of its own (SPEC §6).
        found += [a for a in batch if a.leads_story and rule.wants(a)]
        before = (batch[-1].published, batch[-1].seq)
    return found[:limit]


def feed_info(subscriber: Subscriber, region_name: Callable[[str], str]) -> FeedInfo:
    """Title and id of a subscriber's feed. The key is a hash of the subscriber id:
    a stable ``atom:id`` that does not spell out who the subscriber is."""
    key = "private-" + hashlib.sha256(subscriber.id.encode("utf-8")).hexdigest()[:16]
    zh = subscriber.language.lower().startswith("zh")
    regions = ("、" if zh else ", ").join(region_name(k) for k in subscriber.regions)
    title = f"我的订阅：{regions}" if zh else f"My subscription: {regions}"
    subtitle = "按您的订阅条件筛选的开发区新闻" if zh else "Zone news matching your subscription"
    return FeedInfo(key, title, subtitle)


def render_private_feed(
    kind: str, token: str, subscriber: Subscriber, articles: list[Article],
    base_url: str, gazetteer: Gazetteer,
) -> bytes:
    """The feed document: the public renderers, with the private URL as ``self``."""
    def name(key: str) -> str | None:
        region = gazetteer.find(key)
        return region.name if region is not None else None

    atom = AtomRenderer(base_url, name)  # category labels as in the public feeds
    info = feed_info(subscriber, lambda key: name(key) or key)
    path = private_feed_path(token, kind)
    if kind == "json":
        return JsonFeedRenderer(atom).render(info, articles, self_path=path)
    return atom.render(info, articles, self_path=path)
