"""The fetcher against a real HTTP server on 127.0.0.1: politeness, limits, failures."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from feeds.errors import FetchError
from feeds.models import CrawlPolicy
from feeds.sources.fetch import (
    ConnectionFailed,
    Fetcher,
    FetchTimeout,
    HTTPStatusError,
    Page,
    PageTooLarge,
    RobotsDisallowed,
    RobotsUnavailable,
)

Policy = Callable[..., CrawlPolicy]


def fetch(policy: CrawlPolicy, url: str, **kwargs: Any) -> Page:
    async def main() -> Page:
        async with Fetcher(policy) as fetcher:
            return await fetcher.get(url, **kwargs)

    return asyncio.run(main())


def fetch_many(policy: CrawlPolicy, urls: list[str]) -> list[Page | FetchError]:
    async def one(fetcher: Fetcher, url: str) -> Page | FetchError:
        try:
            return await fetcher.get(url)
        except FetchError as exc:
            return exc

    async def main() -> list[Page | FetchError]:
        async with Fetcher(policy) as fetcher:
            return list(await asyncio.gather(*(one(fetcher, u) for u in urls)))

    return asyncio.run(main())


def test_user_agent_names_zonewire(server: Any, fast_policy: Policy) -> None:
    server.routes["/a"] = server.Reply(body="页面".encode())
    page = fetch(fast_policy(), server.url("/a"))
    assert page.content.decode() == "页面"
    agents = {r.headers["user-agent"] for r in server.log}
    assert agents and all("zonewire" in a for a in agents)


def test_500_once_succeeds_on_retry(server: Any, fast_policy: Policy) -> None:
    calls = iter([server.Reply(500, b"oops"), server.Reply(200, b"ok now")])
    server.routes["/flaky"] = lambda _req: next(calls)
    page = fetch(fast_policy(retries=2), server.url("/flaky"))
    assert page.content == b"ok now"
    assert page.attempts == 2
    assert server.paths().count("/flaky") == 2


def test_500_every_time_fails_after_the_retries(server: Any, fast_policy: Policy) -> None:
    server.routes["/down"] = server.Reply(503, b"maintenance")
    with pytest.raises(HTTPStatusError) as caught:
        fetch(fast_policy(retries=2), server.url("/down"))
    assert caught.value.status == 503
    assert not caught.value.permanent
    assert server.paths().count("/down") == 3  # first try + 2 retries


def test_404_is_permanent_and_not_retried(server: Any, fast_policy: Policy) -> None:
    with pytest.raises(HTTPStatusError) as caught:
        fetch(fast_policy(retries=3), server.url("/gone"))
    assert caught.value.status == 404 and caught.value.permanent
    assert "404" in str(caught.value) and server.url("/gone") in str(caught.value)
    assert server.paths().count("/gone") == 1


def test_page_slower_than_the_timeout_fails_as_timeout(server: Any, fast_policy: Policy) -> None:
    server.routes["/slow"] = server.Reply(body=b"late", delay=3)
    with pytest.raises(FetchTimeout) as caught:
        fetch(fast_policy(timeout=timedelta(milliseconds=200), retries=1), server.url("/slow"))
    assert "timed out" in caught.value.reason
    assert server.paths().count("/slow") == 2  # timeouts are retried too


def test_connection_refused_is_a_fetch_error(fast_policy: Policy) -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    with pytest.raises(ConnectionFailed) as caught:
        fetch(fast_policy(retries=1, obey_robots=False), f"http://127.0.0.1:{port}/x")
    assert caught.value.url == f"http://127.0.0.1:{port}/x"
    # With robots.txt obeyed, the host is just as unreachable: a passing failure.
    with pytest.raises(RobotsUnavailable) as robots:
        fetch(fast_policy(retries=0), f"http://127.0.0.1:{port}/x")
    assert "connection failed" in robots.value.reason


def test_conditional_get_answered_304(server: Any, fast_policy: Policy) -> None:
    def listing(req: Any) -> Any:
        if req.headers.get("if-none-match") == '"v1"':
            return server.Reply(304)
        return server.Reply(
            body=b"list",
            headers={"ETag": '"v1"', "Last-Modified": "Tue, 05 Mar 2024 01:00:00 GMT"},
        )

    server.routes["/list"] = listing
    first = fetch(fast_policy(), server.url("/list"))
    assert (first.etag, first.last_modified) == ('"v1"', "Tue, 05 Mar 2024 01:00:00 GMT")
    assert not first.not_modified
    second = fetch(fast_policy(), server.url("/list"), etag=first.etag,
                   last_modified=first.last_modified)
    assert second.not_modified and second.status == 304 and second.content == b""
    sent = server.log[-1].headers
    assert sent["if-none-match"] == '"v1"'
    assert sent["if-modified-since"] == "Tue, 05 Mar 2024 01:00:00 GMT"


def test_robots_txt_disallow_is_respected(server: Any, fast_policy: Policy) -> None:
    server.routes["/robots.txt"] = server.Reply(
        body=b"User-agent: *\nDisallow: /private/\n\nUser-agent: zonewire\nDisallow: /nozw/\n",
        headers={"Content-Type": "text/plain"},
    )
    server.routes["/private/a"] = server.Reply(body=b"secret")
    server.routes["/nozw/a"] = server.Reply(body=b"secret")
    server.routes["/open"] = server.Reply(body=b"fine")
    results = fetch_many(fast_policy(), [server.url(p) for p in ("/open", "/nozw/a")])
    assert isinstance(results[0], Page)
    assert isinstance(results[1], RobotsDisallowed)
    assert "robots.txt" in results[1].reason
    # zonewire's own group applies, not the * group; robots.txt is read once per run.
    assert "/nozw/a" not in server.paths()
    assert server.paths().count("/robots.txt") == 1
    ignoring = fetch(fast_policy(obey_robots=False), server.url("/nozw/a"))
    assert ignoring.content == b"secret"


def test_missing_robots_txt_allows_everything(server: Any, fast_policy: Policy) -> None:
    server.routes["/a"] = server.Reply(body=b"x")
    assert fetch(fast_policy(), server.url("/a")).content == b"x"
    assert server.paths() == ["/robots.txt", "/a"]


def test_unreachable_robots_txt_means_crawl_nothing(server: Any, fast_policy: Policy) -> None:
    server.routes["/robots.txt"] = server.Reply(500, b"broken")
    server.routes["/a"] = server.Reply(body=b"x")
    with pytest.raises(RobotsUnavailable) as caught:
        fetch(fast_policy(retries=0), server.url("/a"))
    assert "RFC 9309" in caught.value.reason and "HTTP 500" in caught.value.reason
    assert "/a" not in server.paths()


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "streamed"])
def test_page_over_the_size_limit_is_aborted(
    server: Any, fast_policy: Policy, declared: bool
) -> None:
    server.routes["/big"] = server.Reply(body=b"x" * 300_000, length=declared)
    with pytest.raises(PageTooLarge) as caught:
        fetch(fast_policy(max_page_bytes=64 * 1024, obey_robots=False), server.url("/big"))
    assert "max_page_bytes" in caught.value.reason


def test_per_host_concurrency_is_bounded(server: Any, fast_policy: Policy) -> None:
    for n in range(8):
        server.routes[f"/p{n}"] = server.Reply(body=b"x", delay=0.05)
    results = fetch_many(fast_policy(per_host_concurrency=2, obey_robots=False),
                         [server.url(f"/p{n}") for n in range(8)])
    assert all(isinstance(r, Page) for r in results)
    assert server.max_in_flight == 2


def test_per_host_delay_spaces_requests(server: Any, fast_policy: Policy) -> None:
    for n in range(4):
        server.routes[f"/p{n}"] = server.Reply(body=b"x")
    fetch_many(fast_policy(per_host_delay=timedelta(milliseconds=60), per_host_concurrency=4,
                           obey_robots=False),
               [server.url(f"/p{n}") for n in range(4)])
    arrivals = sorted(r.at for r in server.log)
    # Four requests with 60 ms between starts span at least 180 ms. The span, not each
    # gap, is asserted: a server thread may log one arrival a few ms late.
    assert len(arrivals) == 4 and arrivals[-1] - arrivals[0] >= 0.15


def test_redirect_is_followed_and_final_url_kept(server: Any, fast_policy: Policy) -> None:
    server.routes["/old"] = server.Reply(301, headers={"Location": "/new"})
    server.routes["/new"] = server.Reply(body=b"moved")
    page = fetch(fast_policy(obey_robots=False), server.url("/old"))
    assert page.content == b"moved"
    assert page.url == server.url("/old") and page.final_url == server.url("/new")


def test_each_redirect_hop_is_checked_against_robots_txt(server: Any, fast_policy: Policy) -> None:
    server.routes["/robots.txt"] = server.Reply(body=b"User-agent: *\nDisallow: /private/\n")
    server.routes["/old"] = server.Reply(302, headers={"Location": "/private/page"})
    server.routes["/private/page"] = server.Reply(body=b"secret")
    with pytest.raises(RobotsDisallowed):
        fetch(fast_policy(), server.url("/old"))
    assert "/private/page" not in server.paths()


def test_a_redirect_loop_is_a_fetch_error(server: Any, fast_policy: Policy) -> None:
    server.routes["/a"] = server.Reply(302, headers={"Location": "/b"})
    server.routes["/b"] = server.Reply(302, headers={"Location": "/a"})
    with pytest.raises(FetchError, match="redirect loop"):
        fetch(fast_policy(obey_robots=False), server.url("/a"))
    assert server.paths() == ["/a", "/b"]
