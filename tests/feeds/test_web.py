"""Serving the output directory over real HTTP: a uvicorn server in a thread, httpx,
a real feed reader (the ``reader`` library) and headless Chromium; hostile paths
(hypothesis), big bodies and the security headers."""

from __future__ import annotations

import base64
import gzip
import hashlib
import http.client
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
import uvicorn
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import html as lxml_html

from feeds.publish import build_feeds
from feeds.regions import Gazetteer
from feeds.storage import Storage
from feeds.web import create_app
from tests.feeds.test_publish import DESHENG, fill

CHROMIUM = Path("/usr/bin/chromium")


class Served:
    """``create_app(root)`` served by uvicorn on 127.0.0.1 from a thread until
    :meth:`stop` (or the end of a ``with`` block); ``base`` is its URL."""

    def __init__(self, root: Path | Callable[[], Path]) -> None:
        config = uvicorn.Config(
            create_app(root),
            host="127.0.0.1",
            port=0,
            log_level="warning",
            lifespan="off",
            ws="none",
            access_log=False,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.base = f"http://127.0.0.1:{port}/"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

    def __enter__(self) -> Served:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@pytest.fixture
def site(tmp_path: Path, gazetteer: Gazetteer, now: datetime) -> Iterator[tuple[Path, Served]]:
    """Feeds built from a real SQLite store, served by a real server; public_url is the
    server's own address, as an operator would configure it."""
    store = Storage.open(f"sqlite:///{tmp_path / 'var' / 'zonewire.db'}")
    fill(store, gazetteer, now)
    out = tmp_path / "public"
    out.mkdir()
    with Served(out) as served:
        build_feeds(store, gazetteer, out, served.base, 50)
        store.close()
        yield out, served


def test_feed_headers_conditional_requests_and_gzip(site: tuple[Path, Served]) -> None:
    out, served = site
    with httpx.Client(base_url=served.base) as client:
        first = client.get("feeds/all.atom", headers={"Accept-Encoding": "identity"})
        assert first.status_code == 200
        assert first.headers["content-type"] == "application/atom+xml; charset=utf-8"
        assert first.content == (out / "feeds" / "all.atom").read_bytes()
        etag, modified = first.headers["etag"], first.headers["last-modified"]
        assert etag.startswith('"') and modified.endswith("GMT")

        again = client.get("feeds/all.atom", headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.content == b""
        assert again.headers["etag"] == etag
        since = client.get("feeds/all.atom", headers={"If-Modified-Since": modified})
        assert since.status_code == 304
        stale = client.get("feeds/all.atom", headers={"If-None-Match": '"other"'})
        assert stale.status_code == 200

        zipped = client.get("feeds/all.atom", headers={"Accept-Encoding": "gzip"})
        assert zipped.headers["content-encoding"] == "gzip"
        assert zipped.content == first.content  # httpx decoded it
        raw = httpx.get(served.base + "feeds/all.atom", headers={"Accept-Encoding": "gzip"})
        assert raw.headers["content-encoding"] == "gzip"

        index = client.get("/")
        assert index.headers["content-type"] == "text/html; charset=utf-8"
        assert "开发区新闻订阅" in index.text
        opml = client.get("feeds.opml")
        assert opml.headers["content-type"].startswith("text/x-opml")
        health = client.get("healthz")
        assert health.status_code == 200 and health.json()["status"] == "ok"
        assert client.get("feeds/nope.atom").status_code == 404
        assert client.get("../var/zonewire.db").status_code == 404
        assert client.get("%2e%2e/var/zonewire.db").status_code == 404


def test_gzip_body_is_really_compressed(site: tuple[Path, Served]) -> None:
    out, served = site
    with httpx.Client() as client:
        request = client.build_request(
            "GET", served.base + "feeds/all.atom", headers={"Accept-Encoding": "gzip"}
        )
        response = client.send(request, stream=True)
        body = b"".join(response.iter_raw())
        response.close()
    assert gzip.decompress(body) == (out / "feeds" / "all.atom").read_bytes()
    assert len(body) < (out / "feeds" / "all.atom").stat().st_size


def test_a_feed_reader_subscribes_over_http(site: tuple[Path, Served], tmp_path: Path) -> None:
    from reader import make_reader

    _, served = site
    reader = make_reader(str(tmp_path / "reader.sqlite"))
    try:
        for key in ("all", "110102"):
            reader.add_feed(served.base + f"feeds/{key}.atom")
        reader.update_feeds()
        feed = reader.get_feed(served.base + "feeds/110102.atom")
        assert feed.title == "西城区 (北京市) 开发区新闻"
        assert feed.last_exception is None
        titles = [e.title for e in reader.get_entries(feed=feed)]
        assert sorted(titles) == sorted(f"{DESHENG}第{n}期重点项目签约活动举行" for n in (1, 2, 3))
        everything = list(reader.get_entries(feed=served.base + "feeds/all.atom"))
        assert len(everything) == 5
        assert all(e.published is not None and e.id.startswith("tag:") for e in everything)
        # A second poll is answered 304 and changes nothing.
        reader.update_feeds()
        assert len(list(reader.get_entries())) == 8
    finally:
        reader.close()


@pytest.mark.browser
@pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="needs Debian chromium at /usr/bin/chromium (apt-get install chromium)",
)
def test_index_autodiscovery_in_headless_chromium(
    site: tuple[Path, Served], tmp_path: Path
) -> None:
    _, served = site
    profile = tmp_path / "chromium-profile"
    result = subprocess.run(
        [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            f"--user-data-dir={profile}",
            "--virtual-time-budget=2000",
            "--dump-dom",
            served.base,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    dom = lxml_html.fromstring(result.stdout)
    links = dom.xpath('//head/link[@rel="alternate"][@type="application/atom+xml"]')
    hrefs = {link.get("href") for link in links}
    assert {"feeds/all.atom", "feeds/110000.atom", "feeds/330000.atom"} <= hrefs
    titles = {link.get("title") for link in links}
    assert "全部开发区新闻" in titles and "北京市 开发区新闻" in titles
    # Chinese reached the rendered DOM intact (the page declared its charset).
    assert DESHENG in result.stdout
    shutil.rmtree(profile, ignore_errors=True)


def _raw_get(base: str, raw_path: str, method: str = "GET") -> http.client.HTTPResponse:
    """A request with exactly this path on the wire (httpx would normalise it)."""
    host, port = base.removeprefix("http://").rstrip("/").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    connection.request(method, raw_path)
    response = connection.getresponse()
    response.read()
    connection.close()
    return response


def test_bad_paths_are_404_with_no_traceback(site: tuple[Path, Served]) -> None:
    _, served = site
    for path in (
        "/%00",
        "/feeds/all.atom%00.html",
        "/feeds/" + "a" * 256 + ".atom",
        "/" + "é" * 200,  # 400 bytes in UTF-8
        "/feeds/%0a",
        "/%2e%2e/%2e%2e/etc/passwd",
        "/" + "x/" * 2000,
        "/unsubscribe/%00",
    ):
        answer = _raw_get(served.base, quote(path, safe="/%"))
        assert answer.status == 404, path
        assert answer.getheader("x-content-type-options") == "nosniff"


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.binary(max_size=300) | st.sampled_from([b"..", b".", b"", b"feeds",
                                                            b"all.atom", b"index.html"]),
                min_size=1, max_size=6),
       st.sampled_from(["GET", "HEAD", "POST", "DELETE"]))
def test_no_path_makes_a_server_error(
    site: tuple[Path, Served], segments: list[bytes], method: str
) -> None:
    _, served = site
    raw = "/" + "/".join(quote(s, safe=".") for s in segments)
    answer = _raw_get(served.base, raw, method)
    assert answer.status < 500, (raw, answer.status)
    assert answer.getheader("x-content-type-options") == "nosniff"


def test_security_headers_and_one_vary(site: tuple[Path, Served]) -> None:
    out, served = site
    with httpx.Client(base_url=served.base) as client:
        index = client.get("/")
        policy = index.headers["content-security-policy"]
        for directive in ("default-src 'none'", "form-action 'self'",
                          "frame-ancestors 'none'", "base-uri 'none'"):
            assert directive in policy
        # The index's own <style> is allowed by its hash, and nothing else is.
        style = lxml_html.fromstring(index.content).xpath("//style")[0].text
        digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
        assert f"style-src 'sha256-{digest}'" in policy and "unsafe-inline" not in policy
        for response in (
            index,
            client.get("feeds/all.atom", headers={"Accept-Encoding": "gzip"}),
            client.get("feeds/all.atom", headers={"Accept-Encoding": "identity"}),
            client.get("feeds/nope.atom"),
            client.post("feeds/all.atom"),
            client.get("healthz"),
        ):
            assert response.headers["x-content-type-options"] == "nosniff"
        for encoding in ("gzip", "identity"):
            feed = client.get("feeds/all.atom", headers={"Accept-Encoding": encoding})
            assert feed.headers.get_list("vary") == ["Accept-Encoding"], encoding
        assert "content-security-policy" not in client.get("feeds/all.atom").headers
        health = client.get("healthz")
        assert health.json() == {"status": "ok"}
        assert str(out) not in health.text and "/" not in health.text


def test_a_big_body_is_refused_before_it_is_read(site: tuple[Path, Served]) -> None:
    _, served = site
    host, port = served.base.removeprefix("http://").rstrip("/").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(b"POST /feeds/all.atom HTTP/1.1\r\nHost: x\r\n"
                     b"Content-Length: 10485760\r\n\r\n" + b"x" * 1000)
        answer = sock.recv(4096)
    assert answer.startswith(b"HTTP/1.1 413")


def test_the_output_directory_may_change_while_serving(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    for root, text in ((first, "first"), (second, "second")):
        root.mkdir()
        (root / "index.html").write_text(f"<!DOCTYPE html><p>{text}</p>", "utf-8")
    current = {"dir": first}
    with Served(lambda: current["dir"]) as served:
        assert "first" in httpx.get(served.base).text
        current["dir"] = second  # what a configuration reload does in `zonewire run`
        assert "second" in httpx.get(served.base).text
