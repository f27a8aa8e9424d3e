"""The bundled sample portal: generated articles, their truth, and the answers it gives.

``SamplePortal(seed=1, articles=60)`` holds the articles (newest first in
:meth:`SamplePortal.pages`) with the markup variant and charset each detail page
is served in; :meth:`SamplePortal.records` is the truth an extractor must reproduce.
:func:`feeds.sample.server.serve_portal` serves it on 127.0.0.1 from a daemon thread:

- ``/index.php/home/news/index/p/{n}.html``: list pages, 20 links each, newest
  first, ``下一页`` to the next page (``/`` redirects to page 1);
- ``/index.php/home/news/detail/id/{id}.html``: detail pages;
- ``/index.php/home/about/index.html``: a page that is not an article;
- ``/robots.txt``: ``Disallow`` lines from :attr:`SamplePortal.robots_disallow`;
- ``ETag`` and ``Last-Modified`` on every page, 304 on a matching conditional GET.

Test hooks (paths may be given as paths or full URLs; all are thread-safe):

- ``portal.fail(path, status=404)``: the path answers ``status`` from now on;
- ``portal.fail(path, status=500, times=1)``: answers 500 once, then normally;
- ``portal.slow(path, seconds=2.0)``: waits before answering that path;
  ``portal.latency = 0.01`` waits before answering every request;
- ``portal.clear_hooks()``: back to normal;
- ``portal.requests``: every request served, as :class:`Request` (method, path,
  status, request headers), in order; ``portal.clear_requests()`` empties it;
- ``portal.add_articles(n)``: n newer articles appear at the top of list page 1.

``SamplePortal(with_site=True)`` also runs the sample zone website
(``portal.site``, :mod:`feeds.sample.site`): it grows with the portal, and the portal
reposts about a third of its stories.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlsplit

from feeds.models import ArticleRecord
from feeds.sample.answers import Request, RequestLog, Response, conditional, not_found, ok
from feeds.sample.content import START, STEP, SampleText, make_text
from feeds.sample.pages import (
    ABOUT_PATH,
    DETAIL_PATH,
    LIST_PATH,
    VARIANTS,
    DetailView,
    Link,
    render_about,
    render_detail,
    render_list,
    render_robots,
)
from feeds.sample.site import SampleSite
from feeds.urls import canonical_url

#: How each detail page is encoded and declared.
CHARSETS = ("utf-8", "gbk-header", "gbk-meta", "gb2312-meta", "gbk-undeclared")
# Seven slots against six variants: 42 consecutive articles meet every combination.
_CHARSET_CYCLE = (
    "utf-8", "gbk-header", "utf-8", "gbk-meta", "gb2312-meta", "utf-8", "gbk-undeclared",
)
#: (Content-Type header, <meta> in the page, Python codec)
_CHARSET_SPEC: dict[str, tuple[str, str, str]] = {
    "utf-8": ("text/html; charset=utf-8", '<meta charset="utf-8">', "utf-8"),
    "gbk-header": ("text/html; charset=GBK", "", "gbk"),
    "gbk-meta": (
        "text/html",
        '<meta http-equiv="Content-Type" content="text/html; charset=gbk">',
        "gbk",
    ),
    "gb2312-meta": ("text/html", '<meta charset="gb2312">', "gb18030"),
    "gbk-undeclared": ("text/html", "", "gbk"),
}

FIRST_ID = 100001
PER_PAGE = 20


@dataclass(frozen=True, slots=True)
class SamplePage:
    """One article of the sample portal and how its page is served."""

    id: int
    index: int
    text: SampleText
    variant: str
    charset: str

    @property
    def path(self) -> str:
        return DETAIL_PATH.format(id=self.id)

    def record(self, base_url: str) -> ArticleRecord:
        """The truth: what extracting this page must give."""
        t = self.text
        return ArticleRecord(
            url=canonical_url(base_url.rstrip("/") + self.path),
            title=t.title,
            published=t.published,
            source=t.source,
            zone=t.zone,
            region=t.region,
            category=t.category,
            content=t.content,
        )


@dataclass
class _Failure:
    status: int
    remaining: int | None


@dataclass
class SamplePortal(RequestLog):
    """Generated articles (oldest first in ``_pages``) plus the hooks tests set."""

    seed: int = 1
    articles: int = 60
    base_url: str = "http://127.0.0.1"
    per_page: int = PER_PAGE
    latency: float = 0.0
    robots_disallow: tuple[str, ...] = ("/index.php/home/admin/",)
    requests: list[Request] = field(default_factory=list)
    _pages: list[SamplePage] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _failures: dict[str, _Failure] = field(default_factory=dict)
    _slow: dict[str, float] = field(default_factory=dict)
    _cache: dict[str, Response] = field(default_factory=dict)

    #: Also run the sample zone website (``site``), some of whose articles this
    #: portal reposts (see :mod:`feeds.sample.site`).
    with_site: bool = False
    site: SampleSite | None = field(default=None, init=False)

    #: When article 0 was published (fixed by default, so tests get fixed truth).
    start: datetime = START
    #: Set by :meth:`live`: articles added later are published at this clock's time.
    clock: Callable[[], datetime] | None = None
    _initial: int = 0

    def __post_init__(self) -> None:
        if self.with_site:
            self.site = SampleSite(seed=self.seed)
        count, self.articles = self.articles, 0
        self._initial = count
        self.add_articles(count)

    @classmethod
    def live(
        cls, seed: int, articles: int, clock: Callable[[], datetime], *, with_site: bool = False
    ) -> SamplePortal:
        """A portal for demos: its articles end today and every article added later
        is published when it is added, recent enough for digests (``notify_max_age``)."""
        return cls(seed=seed, articles=articles, start=clock() - articles * STEP, clock=clock,
                   with_site=with_site)

    # -- articles and truth ------------------------------------------------------

    def add_articles(self, count: int) -> list[SamplePage]:
        """Publish ``count`` newer articles (they go to the top of list page 1)."""
        with self._lock:
            start = len(self._pages)
            new = [self._make(i) for i in range(start, start + count)]
            self._pages.extend(new)
            self.articles = len(self._pages)
            self._cache.clear()
        return list(reversed(new))

    def _make(self, index: int) -> SamplePage:
        start = self.start
        if self.clock is not None and index >= self._initial:
            start = self.clock() - index * STEP  # published now
        charset = _CHARSET_CYCLE[index % len(_CHARSET_CYCLE)]
        text = make_text(self.seed, index, rare=charset == "gb2312-meta", start=start)
        if self.site is not None:
            text = self.site.portal_slot(index, start, text)
        return SamplePage(
            id=FIRST_ID + index,
            index=index,
            text=text,
            variant=VARIANTS[index % len(VARIANTS)],
            charset=charset,
        )

    def pages(self) -> list[SamplePage]:
        """Every article, newest first (the order of the list pages)."""
        with self._lock:
            return list(reversed(self._pages))

    def records(self) -> list[ArticleRecord]:
        """The truth for every article, newest first, with URLs under ``base_url``."""
        return [page.record(self.base_url) for page in self.pages()]

    def page(self, key: int | str) -> SamplePage:
        """An article by id, path or URL."""
        if isinstance(key, str):
            path = urlsplit(key).path
            key = int(path.rsplit("/", 1)[-1].split(".")[0])
        with self._lock:
            index = key - FIRST_ID
            if not 0 <= index < len(self._pages):
                raise KeyError(key)
            return self._pages[index]

    def list_pages(self) -> int:
        return max(1, -(-self.articles // self.per_page))

    def url(self, path: str) -> str:
        return self.base_url.rstrip("/") + path

    def list_url(self, n: int = 1) -> str:
        return self.url(LIST_PATH.format(n=n))

    @property
    def zones(self) -> set[str]:
        return {p.text.zone for p in self.pages()}

    # -- test hooks ---------------------------------------------------------------

    def fail(self, path: str, status: int = 404, times: int | None = None) -> None:
        """Answer ``status`` for ``path``: forever, or ``times`` times then normally."""
        with self._lock:
            self._failures[urlsplit(path).path] = _Failure(status, times)

    def slow(self, path: str, seconds: float) -> None:
        """Wait ``seconds`` before answering ``path``."""
        with self._lock:
            self._slow[urlsplit(path).path] = seconds

    def clear_hooks(self) -> None:
        with self._lock:
            self._failures.clear()
            self._slow.clear()
            self.latency = 0.0

    # -- answering ----------------------------------------------------------------

    def respond(self, method: str, target: str, headers: dict[str, str]) -> Response:
        """The response to one request, hooks included (used by the HTTP handler)."""
        path = urlsplit(target).path
        with self._lock:
            failure = self._failures.get(path)
            if failure is not None and failure.remaining is not None:
                failure.remaining -= 1
                if failure.remaining < 0:
                    del self._failures[path]
                    failure = None
            delay = self.latency + self._slow.get(path, 0.0)
        if delay:
            time.sleep(delay)
        if failure is not None:
            body = f"error {failure.status}\n".encode()
            response = Response(failure.status, {"Content-Type": "text/plain"}, body)
        else:
            response = conditional(self._render(path), headers)
        return self.logged(method, path, headers, response)

    def _render(self, path: str) -> Response:
        with self._lock:
            cached = self._cache.get(path)
        if cached is not None:
            return cached
        response = self._build(path)
        if response.status == 200:
            with self._lock:
                self._cache[path] = response
        return response

    def _build(self, path: str) -> Response:
        newest = self.pages()
        last_change = newest[0].text.published if newest else datetime(2023, 1, 1, tzinfo=UTC)
        if path in ("/", "/index.php", "/index.php/home/news/index.html"):
            return Response(302, {"Location": LIST_PATH.format(n=1)}, b"")
        if path == "/robots.txt":
            return ok(render_robots(self.robots_disallow).encode(), "text/plain; charset=utf-8",
                       last_change)
        if path == ABOUT_PATH:
            return ok(render_about().encode(), "text/html; charset=utf-8", last_change)
        list_prefix, _, list_suffix = LIST_PATH.partition("{n}")
        if path.startswith(list_prefix) and path.endswith(list_suffix):
            number = path[len(list_prefix) : -len(list_suffix)]
            if number.isdigit() and 1 <= int(number) <= self.list_pages():
                return self._list(int(number), newest, last_change)
        detail_prefix, _, detail_suffix = DETAIL_PATH.partition("{id}")
        if path.startswith(detail_prefix) and path.endswith(detail_suffix):
            number = path[len(detail_prefix) : -len(detail_suffix)]
            if number.isdigit():
                try:
                    return self._detail(self.page(int(number)))
                except KeyError:
                    pass
        return not_found()

    def _list(self, n: int, newest: list[SamplePage], last_change: datetime) -> Response:
        chunk = newest[(n - 1) * self.per_page : n * self.per_page]
        items = [(Link(p.path, p.text.title), f"{p.text.published:%Y-%m-%d}") for p in chunk]
        hot = tuple(Link(p.path, p.text.title) for p in newest[:3])
        html = render_list(items, n, self.list_pages(), hot=hot)
        modified = chunk[0].text.published if chunk else last_change
        return ok(html.encode("utf-8"), "text/html; charset=utf-8", max(modified, last_change))

    def _detail(self, page: SamplePage) -> Response:
        with self._lock:
            total = len(self._pages)
            newer = self._pages[page.index + 1] if page.index + 1 < total else None
            older = self._pages[page.index - 1] if page.index > 0 else None
            hot = tuple(
                self._pages[i] for i in range(page.index - 2, max(-1, page.index - 17), -3)
            )
        content_type, meta, codec = _CHARSET_SPEC[page.charset]
        view = DetailView(
            text=page.text,
            variant=page.variant,
            charset_meta=meta,
            prev=Link(newer.path, newer.text.title) if newer else None,
            next=Link(older.path, older.text.title) if older else None,
            hot=tuple(Link(p.path, p.text.title) for p in hot),
        )
        body = render_detail(view).encode(codec)
        return ok(body, content_type, page.text.published)
