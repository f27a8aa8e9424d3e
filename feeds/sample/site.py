"""The bundled sample zone website: a development zone's own news, some reposted
later on the sample portal (SPEC §1 ``type: site``; issue 15).

The site belongs to one zone (乍浦湾临港开发区, under 嘉兴市) and grows with the
portal it is attached to (``SamplePortal(with_site=True)``): each third portal slot
(index ``3j``) the site publishes its article ``j``; for about :data:`SHARE` of them
the portal reposts it two slots later (index ``3j + 2``) with the prefix 【园区动态】
and the closing sentence removed, the way InvestCHN reposts zone news. Every text is
a function of ``(seed, j)``, so ``--seed`` and ``--fixed-dates`` give the same site
every run. :func:`feeds.sample.server.serve_site` serves it on a port of its own
(its own host, for host confinement):

- ``/zwgk/yqdt/index.html``, ``index_1.html``, …: list pages, newest first, 下一页;
- ``/zwgk/yqdt/{yyyymm}/t{yyyymmdd}_{id}.html``: detail pages (every fourth one
  GB2312-declared, the others UTF-8);
- ``/robots.txt``: ``Disallow`` lines from :attr:`SampleSite.robots_disallow`;
- ``ETag``/``Last-Modified`` and 304 as on the portal; ``requests`` logs every request.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from feeds.models import ArticleRecord
from feeds.sample.answers import Request, RequestLog, Response, conditional, not_found, ok
from feeds.sample.content import START, SampleText, make_text
from feeds.sample.pages import Link
from feeds.sample.sitepages import (
    LIST_FIRST,
    SiteView,
    detail_path,
    list_path,
    render_site_detail,
    render_site_home,
    render_site_list,
)
from feeds.urls import canonical_url

#: (zone, breadcrumb region on the portal, province): the site's place.
SITE_PLACE = ("乍浦湾临港开发区", "嘉兴", "浙江省")
#: How a ``sources:`` entry names it: the zone with the division it lies in.
SITE_ZONE = "嘉兴市/乍浦湾临港开发区"
#: The site publishes at every SITE_EVERY-th portal slot; a repost comes REPOST_AFTER later.
SITE_EVERY = 3
REPOST_AFTER = 2
#: About this share of the site's articles is reposted on the portal.
SHARE = 0.3
REPOST_PREFIX = "【园区动态】"
FIRST_ID = 5101
PER_PAGE = 15

_SOURCES = ("乍浦湾临港开发区管委会", "乍浦湾临港开发区经济发展局", "乍浦湾临港开发区招商服务中心",
            "平湖市融媒体中心")
_GB2312 = '<meta http-equiv="Content-Type" content="text/html; charset=gb2312">'


def is_shared(seed: int, number: int) -> bool:
    """Whether site article ``number`` is reposted on the portal (fixed by the seed)."""
    return random.Random(f"zonewire-sample-share:{seed}:{number}").random() < SHARE


def site_text(seed: int, number: int, start: datetime = START) -> SampleText:
    """Site article ``number``: published at portal slot ``SITE_EVERY * number``."""
    text = make_text(seed, SITE_EVERY * number, start=start, place=SITE_PLACE,
                     stream="zonewire-sample-site")
    source = random.Random(f"zonewire-sample-site-source:{seed}:{number}").choice(_SOURCES)
    return replace(text, source=source, category="园区动态")


def repost_text(original: SampleText, slot: SampleText) -> SampleText:
    """The portal's repost of ``original`` in portal slot ``slot``: a prefixed title and
    the last sentence (the closing paragraph) left out, published after the original."""
    published = max(slot.published, original.published + timedelta(hours=1))
    return replace(
        original, title=REPOST_PREFIX + original.title, published=published,
        category=slot.category, paragraphs=original.paragraphs[:-1],
    )


@dataclass(frozen=True, slots=True)
class SiteArticle:
    """One article of the sample site and how its page is served."""

    number: int
    text: SampleText
    shared: bool

    @property
    def id(self) -> int:
        return FIRST_ID + self.number

    @property
    def path(self) -> str:
        return detail_path(self.id, self.text.published)

    @property
    def charset(self) -> str:
        return "gb2312" if self.number % 4 == 3 else "utf-8"

    @property
    def repost_index(self) -> int | None:
        """The portal index of its repost, if it is reposted."""
        return SITE_EVERY * self.number + REPOST_AFTER if self.shared else None

    def record(self, base_url: str) -> ArticleRecord:
        """The truth: what crawling this page as a ``type: site`` source must store."""
        t = self.text
        return ArticleRecord(
            url=canonical_url(base_url.rstrip("/") + self.path), title=t.title,
            published=t.published, source=t.source, zone=t.zone, region="嘉兴市",
            content=t.content,
        )


@dataclass
class SampleSite(RequestLog):
    """A zone's website; its articles are added by the portal it is attached to."""

    seed: int = 1
    base_url: str = "http://127.0.0.1"
    per_page: int = PER_PAGE
    robots_disallow: tuple[str, ...] = ("/admin/",)
    latency: float = 0.0  # seconds to wait before every answer
    requests: list[Request] = field(default_factory=list)
    _articles: list[SiteArticle] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _cache: dict[str, Response] = field(default_factory=dict)

    def portal_slot(self, index: int, start: datetime, text: SampleText) -> SampleText:
        """Called for each new portal article (``index``, its ``start``, its own text):
        publishes a site article at every SITE_EVERY-th slot, and returns what the
        portal shows in this slot (its own text, or a repost)."""
        number, rest = divmod(index, SITE_EVERY)
        if rest == 0:
            article = SiteArticle(number, site_text(self.seed, number, start),
                                  is_shared(self.seed, number))
            with self._lock:
                assert number == len(self._articles), "site articles are added in order"
                self._articles.append(article)
                self._cache.clear()
        if rest == REPOST_AFTER:
            with self._lock:
                original = self._articles[number] if number < len(self._articles) else None
            if original is not None and original.shared:
                return repost_text(original.text, text)
        return text

    def pages(self) -> list[SiteArticle]:
        """Every article, newest first (the order of the list pages)."""
        with self._lock:
            return list(reversed(self._articles))

    def records(self) -> list[ArticleRecord]:
        return [a.record(self.base_url) for a in self.pages()]

    @property
    def articles(self) -> int:
        with self._lock:
            return len(self._articles)

    def shared(self) -> list[SiteArticle]:
        """The articles the portal reposts (or will, once it reaches their slot)."""
        return [a for a in self.pages() if a.shared]

    def list_pages(self) -> int:
        return max(1, -(-self.articles // self.per_page))

    def url(self, path: str) -> str:
        return self.base_url.rstrip("/") + path

    def list_url(self, n: int = 1) -> str:
        return self.url(list_path(n))

    def article(self, url: str) -> SiteArticle:
        """An article by path or URL."""
        path = urlsplit(url).path
        for article in self.pages():
            if article.path == path:
                return article
        raise KeyError(url)

    # -- answering ----------------------------------------------------------------

    def respond(self, method: str, target: str, headers: dict[str, str]) -> Response:
        """The response to one request (used by the HTTP handler)."""
        path = urlsplit(target).path
        if self.latency:
            time.sleep(self.latency)
        with self._lock:
            cached = self._cache.get(path)
        response = cached or self._build(path)
        if cached is None and response.status == 200:
            with self._lock:
                self._cache[path] = response
        return self.logged(method, path, headers, conditional(response, headers))

    def _build(self, path: str) -> Response:
        newest = self.pages()
        changed = newest[0].text.published if newest else datetime(2023, 1, 1, tzinfo=UTC)
        if path in ("/", "/index.html"):
            return ok(render_site_home().encode(), "text/html; charset=utf-8", changed)
        if path == "/zwgk/yqdt/":
            return Response(302, {"Location": LIST_FIRST}, b"")
        if path == "/robots.txt":
            lines = ["User-agent: *", *(f"Disallow: {p}" for p in self.robots_disallow), ""]
            return ok("\n".join(lines).encode(), "text/plain; charset=utf-8", changed)
        for n in range(1, self.list_pages() + 1):
            if path == list_path(n):
                return self._list(n, newest, changed)
        for position, article in enumerate(newest):
            if article.path == path:
                return self._detail(article, newest, position)
        return not_found()

    def _list(self, n: int, newest: list[SiteArticle], changed: datetime) -> Response:
        chunk = newest[(n - 1) * self.per_page : n * self.per_page]
        items = [(Link(a.path, a.text.title), a.text.published) for a in chunk]
        html = render_site_list(items, n, self.list_pages())
        return ok(html.encode("utf-8"), "text/html; charset=utf-8", changed)

    def _detail(self, article: SiteArticle, newest: list[SiteArticle], at: int) -> Response:
        def link(i: int) -> Link | None:
            if 0 <= i < len(newest):
                return Link(newest[i].path, newest[i].text.title)
            return None

        side = tuple(x for x in (link(at + 2), link(at + 4), link(at + 6)) if x is not None)
        gb = article.charset == "gb2312"
        view = SiteView(
            text=article.text, style=article.number % 3,
            charset_meta=_GB2312 if gb else '<meta charset="utf-8">',
            hits=100 + (article.number * 37) % 900,
            prev=link(at - 1), next=link(at + 1), side=side,
        )
        body = render_site_detail(view).encode("gb18030" if gb else "utf-8")
        return ok(body, "text/html" if gb else "text/html; charset=utf-8", article.text.published)
