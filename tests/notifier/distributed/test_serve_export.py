"""Distributed mode's feeds (SPEC §11): a worker's build stores them in
``feed_documents``; every `zonewire serve` serves those rows over real HTTP (strong
ETag, 304, gzip, security headers) with no feed files on its machine; `zonewire
feeds export DIR` writes them out atomically, touching only what changed."""

from __future__ import annotations

import asyncio
import gzip
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from feeds.intake import Ingestor
from feeds.models import ArticleRecord
from notifier.app import App
from notifier.cli import main
from notifier.distributed.app import make_app
from notifier.distributed.context import WorkerContext
from notifier.distributed.export import safe_path
from notifier.reload import ConfigHolder
from tests.notifier.distributed.support import ROOT, write_config
from tests.support.servers import free_port, wait_for_http

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(120)]


def add_articles(app: App, first: int, count: int) -> None:
    now = datetime.now(UTC)
    Ingestor(app.store, app.gazetteer).add([ArticleRecord(
        url=f"https://n.example/{n}", title=f"西城区新闻{n}", region="西城区",
        published=now - timedelta(minutes=n), content="正文" * 200)
        for n in range(first, first + count)], now=now)


def worker_build(app: App) -> None:
    """What a worker's build_feeds job does: build, then store what changed."""
    holder = ConfigHolder(app.config_file, lambda: app.gazetteer, settings=None)
    ctx = WorkerContext(app, holder, make_app(app.store.url))
    asyncio.run(ctx.build_feeds())


def serve(config: Path, port: int) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "notifier", "-c", str(config), "serve", "--port", str(port)],
        cwd=config.parent.parent, env=env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )


def test_every_server_serves_the_stored_feeds_and_export_writes_them(
    pg_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, pg_url, free_port(), subscribers=1)
    with config.open("a", encoding="utf-8") as handle:
        handle.write(f"serve: {{metrics_port: {free_port()}}}\n")
    app = App.from_config(str(config))
    add_articles(app, 1, 3)
    worker_build(app)
    stored = app.store.documents
    assert stored.get("feeds/110102.atom") is not None
    shutil.rmtree(tmp_path / "public")  # the servers have no feed files of their own

    ports = [free_port(), free_port()]
    servers = [serve(config, port) for port in ports]
    a, b = (f"http://127.0.0.1:{port}" for port in ports)
    try:
        feed = wait_for_http(f"{a}/feeds/110102.atom")
        assert feed.status_code == 200 and "西城区新闻1" in feed.text
        assert feed.headers["content-type"] == "application/atom+xml; charset=utf-8"
        assert feed.headers["x-content-type-options"] == "nosniff"
        assert feed.headers["cache-control"] == "public, max-age=300, must-revalidate"
        etag = feed.headers["etag"]
        assert etag == stored.get("feeds/110102.atom").etag  # type: ignore[union-attr]
        # The other server: the same bytes, the same strong validator.
        other = wait_for_http(f"{b}/feeds/110102.atom")
        assert other.content == feed.content and other.headers["etag"] == etag
        # Conditional GET: a polling reader gets 304 from either server.
        for base in (a, b):
            again = httpx.get(f"{base}/feeds/110102.atom", headers={"If-None-Match": etag})
            assert again.status_code == 304 and again.content == b""
        # gzip for those who ask.
        raw = httpx.get(f"{a}/feeds/110102.atom", headers={"Accept-Encoding": "gzip"})
        assert raw.headers["content-encoding"] == "gzip"
        assert raw.content == feed.content  # httpx decoded it
        with httpx.stream("GET", f"{a}/feeds/110102.atom",
                          headers={"Accept-Encoding": "gzip"}) as response:
            assert gzip.decompress(b"".join(response.iter_raw())) == feed.content
        index = httpx.get(f"{a}/")
        assert index.status_code == 200 and index.headers["content-type"].startswith(
            "text/html")
        assert "default-src" in index.headers["content-security-policy"]
        json_feed = httpx.get(f"{a}/feeds/110102.json")
        assert json_feed.headers["content-type"] == "application/feed+json; charset=utf-8"
        assert httpx.get(f"{a}/healthz").json() == {"status": "ok"}
        assert httpx.get(f"{a}/feeds/none.atom").status_code == 404
        assert httpx.get(f"{a}/feeds/%2E%2E/%2E%2E/etc/passwd").status_code == 404

        # A later build is served at once, by every server, with a new validator.
        add_articles(app, 10, 1)
        worker_build(app)
        shutil.rmtree(tmp_path / "public")
        for base in (a, b):
            fresh = httpx.get(f"{base}/feeds/110102.atom", headers={"If-None-Match": etag})
            assert fresh.status_code == 200 and "西城区新闻10" in fresh.text
            assert fresh.headers["etag"] != etag
    finally:
        for server in servers:
            server.terminate()
        out = [server.communicate(timeout=15)[0] for server in servers]
    assert "serving the feeds stored in the database" in out[0], out[0]

    # Export: every document, byte for byte; a second export writes nothing.
    target = tmp_path / "static"
    assert main(["-c", str(config), "feeds", "export", str(target)]) == 0
    documents = list(stored.iter_all())
    assert f"exported {len(documents)} documents" in capsys.readouterr().out
    on_disk = {str(p.relative_to(target)): p.read_bytes()
               for p in target.rglob("*") if p.is_file()}
    assert on_disk == {d.key: d.body for d in documents}
    mtimes = {p: p.stat().st_mtime_ns for p in target.rglob("*")}
    assert main(["-c", str(config), "feeds", "export", str(target)]) == 0
    assert f"0 written, {len(documents)} unchanged" in capsys.readouterr().out
    assert {p: p.stat().st_mtime_ns for p in target.rglob("*")} == mtimes
    app.close()


def test_export_in_embedded_mode_says_what_to_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "zonewire.yaml"
    config.write_text(f"database: sqlite:///{tmp_path / 'z.db'}\n", encoding="utf-8")
    assert main(["-c", str(config), "feeds", "export", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert "needs 'mode: distributed'" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


@given(st.text(alphabet=st.sampled_from(list("ab./\\\x00~ 区")), max_size=30))
def test_a_stored_key_never_writes_outside_the_folder(key: str) -> None:
    root = Path("/srv/feeds")
    path = safe_path(root, key)
    if path is not None:
        assert path.is_relative_to(root) and path != root
        assert not any(part.startswith(".") for part in path.relative_to(root).parts)
        assert "\x00" not in str(path)
