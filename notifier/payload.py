"""What the digest templates and webhook bodies are given: one digest shaped as data.

Article text is hostile until shown otherwise (issue 11): every field is cleaned of
control characters, made one line and cut to its cap here (:mod:`notifier.escaping`),
so a template only has to escape for its own markup. Personal parts (unsubscribe
token, digest id, subscriber id) are *slots*, replaced per recipient after a shared
rendering (see :mod:`notifier.render`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from jinja2.utils import htmlsafe_json_dumps

from feeds.models import CHINA_TZ, Article, Region
from feeds.text import html_to_text
from notifier.chatfit import NO_CAPS, Caps
from notifier.digest_words import WORDS, words
from notifier.escaping import clean, ellipsize, one_line
from notifier.plan import Digest

#: Slots in a shared rendering, replaced per recipient. Plain ASCII that survives
#: HTML and JSON escaping unchanged and cannot occur in article text by accident.
SLOT_TOKEN = "zwslot0token0a7c3"
SLOT_ID = "zwslot0digest0a7c3"
SLOT_SUBSCRIBER = "zwslot0subscriber0a7c3"
#: The private feed token (``notifier.private_feed``), signed apart from SLOT_TOKEN.
SLOT_FEED_TOKEN = "zwslot0feed0a7c3"

#: A region key -> its region (``None`` when the gazetteer does not know it).
RegionLookup = Callable[[str], Region | None]


def plain_summary(article: Article, limit: int = 140) -> str:
    """The article's summary, or the start of its text, without markup."""
    text = article.summary or article.content or ""
    return ellipsize(one_line(html_to_text(text)), limit)


def _iso(value: datetime) -> str:
    return value.astimezone(CHINA_TZ).isoformat()


def _line(value: str | None, cap: int) -> str | None:
    """An article field on one line, without control characters, at most ``cap`` long."""
    return None if value is None else ellipsize(one_line(value), cap)


def region_name(region: RegionLookup, key: str) -> str:
    """The region's name for a reader, or its key when the gazetteer lacks it."""
    found = region(key)
    return one_line(found.name if found is not None else key)


def feed_url(public_url: str, key: str) -> str:
    """The Atom feed of region ``key`` (``public_url`` ends with ``/``)."""
    return f"{public_url}feeds/{key}.atom"


def unsubscribe_url(public_url: str, token: str) -> str:
    """The one-click unsubscribe page for ``token`` (``public_url`` ends with ``/``)."""
    return f"{public_url}unsubscribe/{token}"


def article_payload(article: Article, region: RegionLookup) -> dict[str, Any]:
    """One article as in the SPEC §8 JSON payload; ``id`` is the Atom entry id.

    Text is kept whole (receivers do their own escaping) but without control
    characters or line breaks."""
    regions: list[dict[str, str | None]] = []
    for key in article.region_keys:
        found = region(key)
        if found is not None:
            regions.append({"key": key, "name": one_line(found.name),
                            "level": found.level.value})
        else:
            regions.append({"key": key, "name": one_line(key), "level": None})
    return {
        "id": article.id,
        "url": clean(article.url),
        "title": one_line(article.title),
        "summary": plain_summary(article, 500),
        "published": _iso(article.published),
        "updated": _iso(article.updated),
        "source": _line(article.source, 10**9),
        "category": _line(article.category, 10**9),
        "zone": _line(article.zone, 10**9),
        "region": _line(article.region, 10**9),
        "regions": regions,
        # The story's other sources (SPEC §6), oldest first; [] for most articles.
        "also": [{"url": clean(o.url), "source": _line(o.source or o.source_name, 10**9)}
                 for o in article.also],
    }


#: The bundled ``webhook/json.json.j2``. While the template in use is this one,
#: :func:`json_body` makes the same text without a template run (tests check that
#: both agree); a changed or overriding template is rendered as it is.
JSON_TEMPLATE = (
    '{"type": "digest", "id": {{ digest_id|tojson }}, "subscriber": {{ subscriber|tojson }}, '
    '"generated_at": {{ generated_at|tojson }}, "articles": {{ articles_json }}}\n'
)


def article_json(payload: dict[str, Any]) -> str:
    """One article payload as JSON text (UTF-8 kept, like ``articles_json``)."""
    return json.dumps(payload, ensure_ascii=False)


def json_body(digest: Digest, articles: Iterable[str]) -> str:
    """The ``json`` webhook body of the bundled template: ``articles`` are the
    :func:`article_json` texts of the digest's articles, in order; id and
    subscriber are slots."""
    head = {"digest_id": SLOT_ID, "subscriber": SLOT_SUBSCRIBER,
            "generated_at": _iso(digest.generated_at)}
    id_, subscriber, generated = (htmlsafe_json_dumps(v, ensure_ascii=False)
                                  for v in head.values())
    return (
        f'{{"type": "digest", "id": {id_}, "subscriber": {subscriber}, '
        f'"generated_at": {generated}, "articles": [{", ".join(articles)}]}}\n'
    )


def article_context(a: Article, caps: Caps = NO_CAPS) -> dict[str, Any]:
    """One article as the digest templates see it: fields one line, clean, within
    ``caps``. The same for every digest that shows the article (a renderer may cache it)."""
    return {
        "id": a.id,
        "url": clean(a.url) if len(a.url) <= caps.url else "",
        "title": _line(a.title, caps.title),
        "summary": plain_summary(a, caps.summary),
        "published": a.published.astimezone(CHINA_TZ).strftime("%Y-%m-%d"),
        "source": _line(a.source, caps.field),
        "zone": _line(a.zone, caps.field),
        "category": _line(a.category, caps.field),
        "also": [
            {"url": clean(o.url), "source": _line(o.source or o.source_name, caps.field)}
            for o in a.also if len(o.url) <= caps.url
        ],
    }


#: How a digest context gets an article's template fields.
ArticleView = Callable[[Article, Caps], dict[str, Any]]


def digest_context(
    digest: Digest,
    public_url: str,
    region: RegionLookup,
    caps: Caps = NO_CAPS,
    article_view: ArticleView = article_context,
) -> dict[str, Any]:
    """Template variables; article fields one line, clean and within ``caps``
    (``article_view``: :func:`article_context`, or a cached copy of it)."""
    sub = digest.subscriber
    t = words(sub.language)
    names = [region_name(region, k) for k in sub.regions]
    regions_text = ellipsize(t["joiner"].join(names), caps.heading)
    count = len(digest.articles) + digest.more
    groups = [
        {
            "key": group.key,
            "name": _line(group.name, caps.field) or t["other"],
            "feed_url": feed_url(public_url, group.key) if group.key else None,
            "articles": [article_view(a, caps) for a in group.articles],
        }
        for group in digest.groups
    ]
    subject_key = "subject_one" if count == 1 else "subject_many"
    return {
        "t": t,
        "lang": "zh-CN" if t is WORDS["zh-CN"] else "en",
        "subject": t[subject_key].format(regions=regions_text, count=count),
        "heading": t["heading"].format(regions=regions_text),
        "intro": t["intro"].format(count=count),
        "count": count,
        "shown": len(digest.articles),
        "more": digest.more,
        "more_text": t["more"].format(count=digest.more),
        "groups": groups,
        "feeds": [
            {"name": n, "url": feed_url(public_url, k)}
            for k, n in zip(sub.regions, names, strict=True)
        ],
        "all_feed_url": feed_url(public_url, sub.regions[0]) if sub.regions else None,
        "unsubscribe_url": unsubscribe_url(public_url, SLOT_TOKEN),
        "private_feed_url": f"{public_url}s/{SLOT_FEED_TOKEN}.atom",
        "digest_id": SLOT_ID,
        "subscriber": SLOT_SUBSCRIBER,
        "generated_at": _iso(digest.generated_at),
        "public_url": public_url,
    }
