"""Unsubscribing: one click, per region, re-subscribe, RFC 8058 POST, and YAML edits."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette

from feeds.models import CHINA_TZ
from feeds.regions import Gazetteer
from feeds.store import SqlArticleStore
from notifier.ledger import Ledger
from notifier.models import Schedule, ScheduleKind, Subscriber, Subscriptions
from notifier.plan import effective
from notifier.render import Renderer
from notifier.tokens import Signer, TokenError, load_secret
from notifier.web_unsubscribe import UnsubscribeService

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=CHINA_TZ)
ALICE = Subscriber(id="alice", schedule=Schedule(ScheduleKind.IMMEDIATE, "immediate"),
                   regions=("110102", "330400"), email="alice@example.com", fingerprint="v1")


@pytest.fixture
def setup(tmp_path: Path):  # type: ignore[no-untyped-def]
    store = SqlArticleStore.open(f"sqlite:///{tmp_path / 'zw.db'}")
    config = {"subs": Subscriptions((ALICE,))}
    signer = Signer(b"secret")
    service = UnsubscribeService(
        ledger=Ledger(store.engine), signer=signer,
        renderer=Renderer(public_url="https://z.example/", region=Gazetteer.default().find),
        subscriptions=lambda: config["subs"], start_seq=store.max_seq, clock=lambda: NOW,
    )
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(Starlette(routes=service.routes()), host="127.0.0.1",
                                           port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
        yield client, service, config, signer.token("alice")
    server.should_exit = True
    thread.join(5)
    store.close()


def kept(service: UnsubscribeService, sub: Subscriber = ALICE) -> tuple[str, ...] | None:
    found = effective(sub, service.ledger.states(["alice"]).get("alice"))
    return found.regions if found else None


def test_get_unsubscribes_at_once_and_offers_one_region_or_resubscribe(setup) -> None:  # type: ignore[no-untyped-def]
    client, service, _, token = setup
    page = client.get(f"/unsubscribe/{token}")
    assert page.status_code == 200 and "已退订" in page.text
    assert "只退订这个地区" in page.text and "重新订阅" in page.text and "西城区" in page.text
    assert kept(service) is None

    dropped = client.post(f"/unsubscribe/{token}", data={"action": "drop", "region": "110102"})
    assert dropped.status_code == 200 and "嘉兴市" in dropped.text
    assert kept(service) == ("330400",)

    again = client.post(f"/unsubscribe/{token}", data={"action": "resubscribe"})
    assert again.status_code == 200
    assert kept(service) == ("110102", "330400")


def test_one_click_post_and_yaml_edit_lifts_the_choice(setup) -> None:  # type: ignore[no-untyped-def]
    client, service, config, token = setup
    response = client.post(f"/unsubscribe/{token}", content=b"List-Unsubscribe=One-Click",
                           headers={"content-type": "application/x-www-form-urlencoded"})
    assert response.status_code == 200
    assert kept(service) is None
    # A reload with the same entry keeps the choice; an edited entry starts afresh.
    assert kept(service, replace(ALICE)) is None
    edited = replace(ALICE, regions=("110102",), fingerprint="v2")
    config["subs"] = Subscriptions((edited,))
    assert kept(service, edited) == ("110102",)


def test_bad_or_foreign_tokens_are_refused(setup) -> None:  # type: ignore[no-untyped-def]
    client, service, _, token = setup
    forged = Signer(b"other").token("alice")
    assert client.get(f"/unsubscribe/{forged}").status_code == 400
    assert client.get(f"/unsubscribe/{token[:-3]}").status_code == 400
    assert client.get(f"/unsubscribe/{Signer(b'secret').token('nobody')}").status_code == 404
    assert kept(service) == ("110102", "330400")
    with pytest.raises(TokenError):
        Signer(b"secret").verify("garbage")


def test_secret_is_generated_once_and_kept(tmp_path: Path) -> None:
    first = load_secret(None, tmp_path / "var")
    assert load_secret(None, tmp_path / "var") == first
    assert (tmp_path / "var" / "secret_key").stat().st_mode & 0o777 == 0o600
    assert load_secret("configured", tmp_path / "var") == b"configured"
