"""WebSub publisher: hub links in every feed, and a real local hub stand-in that
hears exactly the feeds a build changed; a dead hub never fails a build."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs

import pytest

from feeds.intake import Ingestor
from feeds.publish import build_feeds
from feeds.regions import Gazetteer
from feeds.storage import Storage
from feeds.websub import ping_hubs
from tests.feeds.test_publish import BASE, DESHENG, fill, record
from tests.support.servers import LocalServer, QuietHandler, free_port, serving


class Hub(LocalServer):
    """A hub stand-in: records each publish request's form; may fail first."""

    def __init__(self, fail_first: int = 0) -> None:
        super().__init__(_HubHandler, path="/hub")
        self.requests: list[dict[str, list[str]]] = []
        self.fail_first = fail_first
        self.calls = 0


class _HubHandler(QuietHandler):
    server: Hub

    def do_POST(self) -> None:
        body = self.read_body().decode()
        self.server.calls += 1
        if self.server.calls <= self.server.fail_first:
            self.send_response(503)
        else:
            assert self.headers["Content-Type"] == "application/x-www-form-urlencoded"
            self.server.requests.append(parse_qs(body))
            self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture
def hub() -> Iterator[Hub]:
    with serving(Hub(fail_first=1)) as server:
        yield server


def test_hub_hears_exactly_the_changed_feeds(
    store: Storage, gazetteer: Gazetteer, tmp_path: Path, now: datetime, hub: Hub
) -> None:
    fill(store, gazetteer, now)
    out = tmp_path / "public"
    build_feeds(store, gazetteer, out, BASE, 50, hubs=[hub.url])
    # A new article in a district (no zone) changes three feeds: 西城区, 北京市, all.
    Ingestor(store, gazetteer).add(
        [record(9, zone="", region="西城区")], now=now + timedelta(hours=1)
    )
    report = build_feeds(store, gazetteer, out, BASE, 50, hubs=[hub.url])
    urls = [BASE + p for p in report.changed_feeds]
    results = ping_hubs([hub.url], urls, backoff=0.01)
    assert [r.ok for r in results] == [True] and hub.calls == 2  # one 503, then retried
    (form,) = hub.requests
    assert form["hub.mode"] == ["publish"]
    changed = {u.removeprefix(BASE + "feeds/").rsplit(".", 1)[0] for u in form["hub.url"]}
    assert changed == {"all", "110102", "110000"}
    # Each changed feed's Atom and JSON Feed documents, once each.
    assert sorted(form["hub.url"]) == sorted(
        f"{BASE}feeds/{k}.{x}" for k in changed for x in ("atom", "json")
    )
    zone = gazetteer.zone_named(DESHENG)
    assert zone is not None and f"{BASE}feeds/{zone.key}.atom" not in form["hub.url"]


def test_dead_or_refusing_hub_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    dead = f"http://127.0.0.1:{free_port()}/hub"
    slept: list[float] = []
    results = ping_hubs([dead], [BASE + "feeds/all.atom"], attempts=3, sleep=slept.append)
    assert [r.ok for r in results] == [False] and slept == [0.5, 1.0]
    assert "was not told about 1 changed feeds" in caplog.text and dead in caplog.text
    assert ping_hubs([], [BASE + "feeds/all.atom"]) == [] and ping_hubs([dead], []) == []


def test_cli_build_pings_the_configured_hub(
    store: Storage,
    gazetteer: Gazetteer,
    tmp_path: Path,
    now: datetime,
    hub: Hub,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from notifier.cli import main

    Ingestor(store, gazetteer).add([record(1)], now=now)
    url = store.url
    config = tmp_path / "zonewire.yaml"
    config.write_text(
        f"database: '{url}'\npublic_url: http://feeds.example.org/\n"
        f"feeds: {{output_dir: '{tmp_path / 'site'}', websub: {{hubs: ['{hub.url}']}}}}\n",
        encoding="utf-8",
    )
    assert main(["feeds", "build", "-c", str(config)]) == 0
    assert f"websub: {hub.url}: told about 8 changed feeds" in capsys.readouterr().out
    atom = (tmp_path / "site" / "feeds" / "all.atom").read_text("utf-8")
    assert f'<link href="{hub.url}" rel="hub"/>' in atom
    assert "http://feeds.example.org/feeds/all.json" in hub.requests[0]["hub.url"]
    assert main(["feeds", "build", "-c", str(config)]) == 0
    assert "websub" not in capsys.readouterr().out and len(hub.requests) == 1
