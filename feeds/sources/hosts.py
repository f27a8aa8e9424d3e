"""Which hosts a source may fetch from (issue 11): its own, plus ``allowed_hosts``.

A host is compared as ``host`` or ``host:port`` (a port other than the scheme's
default makes another host: ``127.0.0.1:8001`` is not ``127.0.0.1:8002``). The scheme
is not part of it, so a portal moving from http to https stays itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

__all__ = ["allowed_hosts", "host_key"]

_DEFAULT_PORTS = {"http": 80, "https": 443}


def host_key(url: str) -> str | None:
    """``host[:port]`` of an absolute http(s) URL, lower case; None for anything else."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
        port = parts.port
    except ValueError:  # a port that is no number, a broken IPv6 literal
        return None
    if parts.scheme.lower() not in _DEFAULT_PORTS or not host:
        return None
    if ":" in host:  # IPv6 literal: keep its brackets
        host = f"[{host}]"
    if port is None or port == _DEFAULT_PORTS[parts.scheme.lower()]:
        return host
    return f"{host}:{port}"


def allowed_hosts(base_url: str, extra: Iterable[str] = ()) -> frozenset[str]:
    """The hosts a source may fetch from: ``base_url``'s and each of ``extra``
    (written ``host``, ``host:port`` or as a URL)."""
    found: set[str] = set()
    for item in (base_url, *extra):
        text = item.strip()
        key = host_key(text if "://" in text else f"http://{text}")
        if key is not None:
            found.add(key)
    return frozenset(found)
