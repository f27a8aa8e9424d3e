"""Unsubscribing (SPEC §8): GET and HEAD change nothing, a POST unsubscribes (the page's
button or the RFC 8058 one-click POST), per region, re-subscribe, YAML edits, and a
body cap that refuses a huge POST before reading it. Real uvicorn, real SQLite."""

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
from lxml import html as lxml_html
from starlette.applications import Starlette
from starlette.middleware import Middleware

from feeds.httpguard import GuardMiddleware
from feeds.models import CHINA_TZ
from feeds.regions import Gazetteer
from feeds.storage import Storage
from notifier.ledger import Ledger
from notifier.models import Schedule, ScheduleKind, Subscriber, Subscriptions
from notifier.plan import effective
from notifier.render import Renderer
from notifier.tokens import Signer, TokenError, load_secret
from notifier.web_unsubscribe import UnsubscribeService

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=CHINA_TZ)
ALICE = Subscriber(id="alice", schedule=Schedule(ScheduleKind.IMMEDIATE, "immediate"),
                   regions=("110102", "330400"), email="alice@example.com", fingerprint="v1")


KEY = b"unsubscribe-test-key-0123456789abcdef"


@pytest.fixture
def setup(tmp_path: Path):  # type: ignore[no-untyped-def]
    store = Storage.open(f"sqlite:///{tmp_path / 'zw.db'}")
    config = {"subs": Subscriptions((ALICE,))}
    signer = Signer(KEY)
    renderer = Renderer(public_url="https://z.example/", region=Gazetteer.default().find)
    service = UnsubscribeService(
        ledger=Ledger(store.ledger), signer=lambda: signer, renderer=lambda: renderer,
        subscriptions=lambda: config["subs"], start_seq=store.max_seq, clock=lambda: NOW,
    )
    app = Starlette(routes=service.routes(), middleware=[Middleware(GuardMiddleware)])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0,
                                           log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
        yield client, service, config, signer.token("alice")
    server.should_exit = True
    thread.join(5)
    store.close()


def kept(service: UnsubscribeService, sub: Subscriber = ALICE) -> tuple[str, ...] | None:
    found = effective(sub, service.ledger.states(["alice"]).get("alice"))
    return found.regions if found else None


def forms(page: str) -> list[dict[str, str]]:
    """Each form of a page as a browser would submit it: method, action, fields."""
    tree = lxml_html.fromstring(page)
    found = []
    for form in tree.xpath("//form"):
        fields = {i.get("name"): i.get("value") for i in form.xpath(".//input")}
        found.append({"_method": form.get("method"), "_to": form.get("action"), **fields})
    return found


def test_get_and_head_change_nothing_the_confirm_button_unsubscribes(setup) -> None:  # type: ignore[no-untyped-def]
    client, service, _, token = setup
    for _ in range(3):  # a mail scanner, a link preview, the reader: nothing happens
        assert client.head(f"/unsubscribe/{token}").status_code == 200
        page = client.get(f"/unsubscribe/{token}")
        assert page.status_code == 200 and "退订这份摘要？" in page.text
    assert kept(service) == ("110102", "330400")
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "<script" not in page.text.lower()  # a plain form, no JavaScript
    tree = lxml_html.fromstring(page.text)
    button = tree.xpath('//form[.//input[@name="action"][@value="unsubscribe"]]')
    assert len(button) == 1
    assert button[0].get("method") == "post"
    assert button[0].get("action") == f"/unsubscribe/{token}"

    done = client.post(f"/unsubscribe/{token}", data={"action": "unsubscribe"})
    assert done.status_code == 200 and "已退订" in done.text and "重新订阅" in done.text
    assert kept(service) is None
    # Visiting the link again shows the state and offers to come back; still no change.
    again = client.get(f"/unsubscribe/{token}")
    assert "已退订" in again.text and "重新订阅" in again.text
    assert kept(service) is None


def test_regions_are_dropped_one_by_one_then_resubscribed(setup) -> None:  # type: ignore[no-untyped-def]
    client, service, _, token = setup
    page = client.get(f"/unsubscribe/{token}")
    drops = [f for f in forms(page.text) if f.get("action") == "drop"]
    assert {f["region"] for f in drops} == {"110102", "330400"}
    assert kept(service) == ("110102", "330400")

    dropped = client.post(f"/unsubscribe/{token}", data={"action": "drop", "region": "110102"})
    assert dropped.status_code == 200 and "嘉兴市" in dropped.text
    assert kept(service) == ("330400",)
    # The page now only offers what is left; dropping the last region is unsubscribing.
    assert "110102" not in {f.get("region") for f in forms(client.get(
        f"/unsubscribe/{token}").text)}
    last = client.post(f"/unsubscribe/{token}", data={"action": "drop", "region": "330400"})
    assert last.status_code == 200 and "已退订" in last.text
    assert kept(service) is None

    again = client.post(f"/unsubscribe/{token}", data={"action": "resubscribe"})
    assert again.status_code == 200
    assert kept(service) == ("110102", "330400")
    unknown = client.post(f"/unsubscribe/{token}", data={"action": "drop", "region": "999999"})
    assert unknown.status_code == 400 and kept(service) == ("110102", "330400")


@pytest.mark.parametrize("encoding", ["urlencoded", "multipart"])
def test_one_click_post_and_yaml_edit_lifts_the_choice(setup, encoding: str) -> None:  # type: ignore[no-untyped-def]
    client, service, config, token = setup
    if encoding == "urlencoded":  # RFC 8058 §3.1 allows both encodings
        response = client.post(f"/unsubscribe/{token}", content=b"List-Unsubscribe=One-Click",
                               headers={"content-type": "application/x-www-form-urlencoded"})
    else:
        response = client.post(f"/unsubscribe/{token}", files={"List-Unsubscribe": (
            None, "One-Click")})
    assert response.status_code == 200
    assert kept(service) is None
    # A reload with the same entry keeps the choice; an edited entry starts afresh.
    assert kept(service, replace(ALICE)) is None
    edited = replace(ALICE, regions=("110102",), fingerprint="v2")
    config["subs"] = Subscriptions((edited,))
    assert kept(service, edited) == ("110102",)


def test_bad_or_foreign_tokens_are_refused(setup) -> None:  # type: ignore[no-untyped-def]
    client, service, _, token = setup
    forged = Signer(b"another-key-that-is-long-enough-0123").token("alice")
    assert client.get(f"/unsubscribe/{forged}").status_code == 400
    assert client.post(f"/unsubscribe/{forged}", content=b"List-Unsubscribe=One-Click",
                       headers={"content-type": "application/x-www-form-urlencoded"}
                       ).status_code == 400
    assert client.get(f"/unsubscribe/{token[:-3]}").status_code == 400
    assert client.get(f"/unsubscribe/{Signer(KEY).token('nobody')}").status_code == 404
    assert kept(service) == ("110102", "330400")
    with pytest.raises(TokenError):
        Signer(KEY).verify("garbage")


def _raw_post(port: int, path: str, headers: str, body: bytes = b"") -> tuple[bytes, float]:
    """Send a request by hand and read the answer (httpx would send the whole body)."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(f"POST {path} HTTP/1.1\r\nHost: x\r\n{headers}\r\n".encode() + body)
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    return answer, time.monotonic() - started


def test_a_10_mb_post_is_refused_without_being_read(setup) -> None:  # type: ignore[no-untyped-def]
    client, service, _, token = setup
    port = int(str(client.base_url).rsplit(":", 1)[1].rstrip("/"))
    # Content-Length says 10 MB and only 100 bytes follow: a server that read the body
    # first would wait for the rest (and time out); it answers 413 at once.
    answer, took = _raw_post(
        port, f"/unsubscribe/{token}",
        f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {10 << 20}\r\n",
        b"List-Unsubscribe=One-Click&" + b"x" * 73,
    )
    print(f"413 after {took * 1000:.0f} ms")
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert took < 5
    # A chunked body (no Content-Length) is counted as it streams and cut at the cap.
    chunk = b"x" * 4096
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(8))
    answer, _ = _raw_post(port, f"/unsubscribe/{token}",
                          "Content-Type: application/x-www-form-urlencoded\r\n"
                          "Transfer-Encoding: chunked\r\n", chunks)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert kept(service) == ("110102", "330400")
    # A normal one-click POST still works afterwards.
    ok = client.post(f"/unsubscribe/{token}", content=b"List-Unsubscribe=One-Click",
                     headers={"content-type": "application/x-www-form-urlencoded"})
    assert ok.status_code == 200 and kept(service) is None


def test_secret_is_generated_once_and_kept(tmp_path: Path) -> None:
    first = load_secret(None, tmp_path / "var")
    assert load_secret(None, tmp_path / "var") == first
    assert (tmp_path / "var" / "secret_key").stat().st_mode & 0o777 == 0o600
    configured = "configured-key-of-at-least-32-bytes!"
    assert load_secret(configured, tmp_path / "var") == configured.encode()
