"""Edge: WebSub publisher pings (https://www.w3.org/TR/websub/ section 7's "publish"
as hubs implement it: ``hub.mode=publish`` with the changed topic URLs).

After a build, each hub gets the URLs of the feed documents that changed (Atom and
JSON Feed: both name the hub). One POST per hub carries up to :data:`PER_REQUEST`
URLs as repeated ``hub.url`` fields (the PubSubHubbub 0.4 form that hubs accept).
A hub that is down or refuses is retried with exponential backoff, then logged:
pinging never fails or blocks a build, readers simply poll as before.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import httpx

log = logging.getLogger(__name__)

PER_REQUEST = 100


@dataclass(frozen=True, slots=True)
class PingResult:
    hub: str
    urls: int
    ok: bool
    error: str = ""


def ping_hubs(
    hubs: Sequence[str],
    urls: Sequence[str],
    *,
    client: httpx.Client | None = None,
    attempts: int = 3,
    backoff: float = 0.5,
    timeout: float = 10.0,
    sleep: Callable[[float], None] = time.sleep,
) -> list[PingResult]:
    """Tell every hub that ``urls`` changed; one result per hub, failures logged."""
    if not hubs or not urls:
        return []
    own = client is None
    http = client or httpx.Client(timeout=timeout, follow_redirects=False)
    try:
        return [_ping(http, hub, urls, attempts, backoff, sleep) for hub in hubs]
    finally:
        if own:
            http.close()


def _ping(
    http: httpx.Client,
    hub: str,
    urls: Sequence[str],
    attempts: int,
    backoff: float,
    sleep: Callable[[float], None],
) -> PingResult:
    for start in range(0, len(urls), PER_REQUEST):
        form = {"hub.mode": "publish", "hub.url": list(urls[start : start + PER_REQUEST])}
        error = ""
        for attempt in range(attempts):
            if attempt:
                sleep(backoff * 2 ** (attempt - 1))
            try:
                answer = http.post(hub, data=form)
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"
                continue
            if answer.is_success:
                error = ""
                break
            error = f"HTTP {answer.status_code}"
            if answer.status_code < 500 and answer.status_code != 429:
                break  # the hub refuses this request; asking again will not help
        if error:
            log.warning(
                "websub: hub %s was not told about %d changed feeds (%s); "
                "readers will still poll. Check feeds.websub.hubs.",
                hub,
                len(urls),
                error,
            )
            return PingResult(hub, len(urls), False, error)
    return PingResult(hub, len(urls), True)
