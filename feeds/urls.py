"""Canonical article URLs: the identity of an article (SPEC §5)."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

_DEFAULT_PORTS = {"http": 80, "https": 443}

#: Query parameters that only track the click, never change the page.
TRACKING_PARAMS = frozenset(
    {
        "utm_source",
        "utm_medium",
        "utm_campaign",
        "utm_term",
        "utm_content",
        "utm_id",
        "gclid",
        "fbclid",
        "yclid",
        "msclkid",
        "spm",
        "from",
        "isappinstalled",
        "share_token",
        "wfr",
        "_hsenc",
        "_hsmi",
        "mc_cid",
        "mc_eid",
    }
)


# Already canonical: lower-case scheme and host, no userinfo, no default port, a path
# of unreserved characters only, no query, no fragment. Most portal URLs look like
# this, and the check is ten times cheaper than taking the URL apart.
_PLAIN = re.compile(r"(https?)://[a-z0-9.-]+(?::(\d{1,5}))?/[A-Za-z0-9/._~!$&'()*+,;=:@-]*")


class InvalidURL(ValueError):
    """Not an absolute http(s) URL."""


def canonical_url(url: str) -> str:
    """The form two spellings of one page share.

    Lower-cases scheme and host, drops the default port, the fragment and tracking
    parameters, sorts nothing else (some portals read parameters in order), and
    normalises percent-encoding so ``%E8%A5%BF`` and ``西`` are one URL.
    """
    text = url.strip()
    plain = _PLAIN.fullmatch(text)
    if (
        plain is not None
        and not text.endswith(".")
        and (plain.group(2) is None or int(plain.group(2)) != _DEFAULT_PORTS[plain.group(1)])
    ):
        host_end = text.find("/", len(plain.group(1)) + 3)
        if not text[:host_end].endswith(".") and ".." not in text[:host_end]:
            return text
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise InvalidURL(f"not a valid URL: {url!r} ({exc})") from exc
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise InvalidURL(f"not an absolute http(s) URL: {url!r}")
    host = parts.hostname.lower().rstrip(".")
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError:
        pass
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    if parts.username or parts.password:
        raise InvalidURL(f"URL carries credentials: {url!r}")
    path = quote(unquote(parts.path), safe="/:@!$&'()*+,;=-._~") or "/"
    pairs = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if k.lower() not in TRACKING_PARAMS
    ]
    query = urlencode(pairs, doseq=True, safe=":/@!$'()*,;-._~")
    return urlunsplit((scheme, netloc, path, query, ""))
