"""A small real HTTP server on 127.0.0.1 for crawler tests, and pages in the portal layout.

Routes are plain functions of the request; every request is logged (path, headers)
so tests assert on what the crawler actually asked for.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from feeds.models import CrawlPolicy, Source
from feeds.regions import Gazetteer
from feeds.sample import SamplePortal, serve_portal, serve_site
from feeds.sources.fetch import Fetcher
from feeds.sources.poll import IngestReport, ingest_source
from feeds.storage import Storage


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    at: float = 0.0  # time.monotonic() on arrival


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    length: bool = True  # False: no Content-Length, body ends when the connection closes


Route = Callable[[Request], Reply]


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that timed out and hung up is part of the tests


class TestServer:
    """Serves ``routes`` (path -> Reply or function); unknown paths are 404."""

    __test__ = False

    def __init__(self) -> None:
        self.routes: dict[str, Reply | Route] = {}
        self.log: list[Request] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802
                request = Request(self.path, {k.lower(): v for k, v in self.headers.items()},
                                  time.monotonic())
                with server._lock:
                    server.log.append(request)
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                try:
                    self._answer(request)
                finally:
                    with server._lock:
                        server.in_flight -= 1

            def _answer(self, request: Request) -> None:
                route = server.routes.get(self.path.split("?")[0])
                if route is None:
                    reply = Reply(404, b"not here")
                elif isinstance(route, Reply):
                    reply = route
                else:
                    reply = route(request)
                if reply.delay and server._stop.wait(reply.delay):
                    return
                try:
                    self.send_response(reply.status)
                    headers = {"Content-Type": "text/html; charset=utf-8", **reply.headers}
                    for key, value in headers.items():
                        self.send_header(key, value)
                    if reply.length:
                        self.send_header("Content-Length", str(len(reply.body)))
                    else:
                        self.send_header("Connection", "close")
                        self.close_connection = True
                    self.end_headers()
                    self.wfile.write(reply.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = _QuietServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    Reply = Reply
    DETAIL_PATTERN = r"/index\.php/home/news/detail/id/\d+\.html"

    def paths(self) -> list[str]:
        return [r.path for r in self.log]

    def detail_paths(self) -> list[str]:
        return [p for p in self.paths() if "/detail/" in p]

    def url(self, path: str) -> str:
        return self.base_url + path

    def mini_portal(self, total: int, per_page: int = 5) -> list[int]:
        """List pages /list/1.. (newest first) and detail pages for ids 1..total."""
        ids = list(range(total, 0, -1))
        pages = [ids[i : i + per_page] for i in range(0, len(ids), per_page)]
        for number, chunk in enumerate(pages, start=1):
            nxt = f"/list/{number + 1}" if number < len(pages) else None
            self.routes[f"/list/{number}"] = Reply(body=list_html(chunk, nxt).encode())
        for i in ids:
            self.routes[detail_path(i)] = Reply(body=article_html(i).encode())
        return ids

    article_html = staticmethod(lambda n, **kw: article_html(n, **kw))
    list_html = staticmethod(lambda ids, nxt: list_html(ids, nxt))
    detail_path = staticmethod(lambda n: detail_path(n))

    def close(self) -> None:
        self._stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def server() -> Iterator[TestServer]:
    """The portal or site under test."""
    with closing(TestServer()) as srv:
        yield srv


@pytest.fixture
def other() -> Iterator[TestServer]:
    """Another host: a second server on another port, which a source must not ask
    unless its ``allowed_hosts`` name it (issue 11)."""
    with closing(TestServer()) as srv:
        yield srv


@contextmanager
def serving_portal_and_site(seed: int, articles: int) -> Iterator[SamplePortal]:
    """The bundled sample portal and its zone website, each served on a port of its
    own on 127.0.0.1 while the block runs."""
    portal = SamplePortal(seed=seed, articles=articles, with_site=True)
    assert portal.site is not None
    with serve_portal(portal), serve_site(portal.site, portal):
        yield portal


def poll(source: Source, store: Storage, gazetteer: Gazetteer, policy: CrawlPolicy,
         now: datetime) -> IngestReport:
    """Poll ``source`` once over real HTTP with a fetcher of its own, as a worker does."""

    async def main() -> IngestReport:
        async with Fetcher(policy) as fetcher:
            return await ingest_source(source, store, gazetteer, fetcher, now)

    return asyncio.run(main())


def _fast_policy(**changes: Any) -> CrawlPolicy:
    """A policy for tests: no politeness delay, short timeout and backoff."""
    values: dict[str, Any] = {
        "per_host_concurrency": 4,
        "per_host_delay": timedelta(0),
        "timeout": timedelta(seconds=2),
        "retries": 2,
        "backoff": timedelta(milliseconds=10),
    }
    values.update(changes)
    return CrawlPolicy(**values)


@pytest.fixture
def fast_policy() -> Callable[..., CrawlPolicy]:
    return _fast_policy


# -- pages in the portal layout (our own text) ----------------------------------------

DETAIL = "/index.php/home/news/detail/id/{id}.html"


def detail_path(n: int) -> str:
    return DETAIL.format(id=n)


def article_html(n: int, *, zone: str = "嘉兴港区", region: str = "嘉兴",
                 date: str = "2024-03-05") -> str:
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>第{n}号 - 投促</title></head>
<body><div class="top">打造投资促进平台</div>
<div class="crumb">您现在的位置:<a href="/">首页</a> &gt; <a href="#">开发区新闻</a> &gt;
<a href="#">{region}</a> &gt; <a href="#">文字新闻</a></div>
<h1>第{n}号智能装备项目在{zone}开工</h1>
<div class="info">发布时间:{date}&nbsp;&nbsp;来源:{region}日报&nbsp;&nbsp;发布开发区:{zone}</div>
<div class="content"><p>　　第{n}号项目总投资约十亿元，主要建设智能装备生产线。</p>
<p>　　项目投产后预计年产值可观，园区将继续做好服务保障。</p></div>
<div class="near">上一条:<a href="{DETAIL.format(id=n - 1)}">上一篇</a><br>
下一条:<a href="{DETAIL.format(id=n + 1)}">下一篇</a></div>
<div class="foot">联系电话:010-00000000 版权所有 投资促进示例网</div></body></html>"""


def list_html(ids: list[int], next_path: str | None) -> str:
    items = "".join(
        f'<li><a href="{DETAIL.format(id=i)}">第{i}号项目开工</a> <span>2024-03-05</span></li>'
        for i in ids
    )
    pager = f'<a href="{next_path}">下一页</a>' if next_path else "<span>下一页</span>"
    return (f'<html><head><meta charset="utf-8"></head><body><ul>{items}</ul>'
            f'<div class="pages">{pager}</div></body></html>')
