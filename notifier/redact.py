"""Secrets in webhook URLs, and their removal from anything an operator may read.

Chat robots carry their credential in the URL itself: Slack
(``hooks.slack.com/services/T…/B…/<token>``) and Feishu
(``open.feishu.cn/open-apis/bot/v2/hook/<token>``) in the path, DingTalk
(``?access_token=``) and WeCom (``?key=``) in the query. A log line, an exception
message, the ledger's ``last_error`` or ``zonewire status`` must show which hook
failed without handing out the right to post to it. This module is the one place
that knows which parts are secret; it is pure (no I/O) and used by the webhook
channel, the delivery log, the log handler and ``check``.

Two strengths:

* :func:`redact_url` is for a URL known to be a webhook target: besides the known
  platform shapes it hides every query value, any user:password and every long
  opaque path segment, because an unknown receiver may keep its secret anywhere.
* :func:`scrub` is for arbitrary text (log lines, tracebacks) that may mention any
  URL, feed and article URLs included: it hides only what is recognisably a
  credential (the platform path shapes, secret-named query keys, passwords), so a
  crawler's log keeps its ``?page=2``.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import parse_qsl, unquote_plus, urlsplit, urlunsplit

MASK = "***"

#: Query keys whose values are credentials wherever they appear.
SECRET_KEYS = frozenset({
    "access_token", "token", "key", "sign", "signature", "sig", "secret", "password",
    "passwd", "pwd", "apikey", "api_key", "auth", "authorization", "code", "client_secret",
    "webhook_key", "x-amz-signature",
})

#: Path shapes that put a credential in the path, on any host (a relay or a test
#: server may serve the same shape). Each is (marker segments, where the secret
#: starts after them): Slack ``/services/T…/B…/<token>``, Feishu and Lark
#: ``/open-apis/bot/v2/hook/<token>``, Discord ``/api/webhooks/<id>/<token>``,
#: Teams ``/webhookb2/…``.
_SLACK_IDS = re.compile(r"^[TE][A-Z0-9]{4,}$")


def _secret_from(segments: list[str]) -> int | None:
    """Index of the first secret path segment by a known shape, or ``None``."""
    for i, segment in enumerate(segments):
        rest = segments[i + 1:]
        if segment == "services" and rest and _SLACK_IDS.match(rest[0]):
            return i + 1
        if segment == "hook" and segments[max(i - 2, 0):i] == ["bot", "v2"]:
            return i + 1
        if segment == "webhooks" and i >= 1 and segments[i - 1] == "api":
            return i + 1
        if segment == "webhookb2":
            return i + 1
    return None


#: Formats whose whole path (after its first segment) is the credential.
_PATH_SECRET_FORMATS = frozenset({"slack", "feishu"})

#: A segment that looks like a key rather than a word: long, from a token alphabet,
#: with a digit in it (or very long).
_OPAQUE = re.compile(r"^[A-Za-z0-9_\-.~+=%]{16,}$")
_URL_IN_TEXT = re.compile(r"""[A-Za-z][A-Za-z0-9+.\-]*://[^\s'"<>`\]\)]+""")


def _is_opaque(segment: str) -> bool:
    if not _OPAQUE.match(segment):
        return False
    return len(segment) >= 32 or any(c.isdigit() for c in segment)


def _mask_path(path: str, *, opaque: bool, everything_after_first: bool) -> str:
    segments = path.split("/")
    secret_from = _secret_from(segments)
    out: list[str] = []
    for i, segment in enumerate(segments):
        hidden = segment != "" and (
            (secret_from is not None and i >= secret_from)
            or (everything_after_first and secret_from is None and i >= 2)
            or (opaque and _is_opaque(segment))
        )
        out.append(MASK if hidden else segment)
    return "/".join(out)


def _mask_query(query: str, *, every_value: bool) -> str:
    """Mask values in place, piece by piece, so the rest reads as it was written."""
    out: list[str] = []
    for piece in query.split("&"):
        key, sep, value = piece.partition("=")
        if not sep:
            out.append(MASK if every_value and key else key)
        elif value and (every_value or unquote_plus(key).lower() in SECRET_KEYS):
            out.append(f"{key}={MASK}")
        else:
            out.append(piece)
    return "&".join(out)


def _mask_netloc(netloc: str) -> str:
    if "@" not in netloc:
        return netloc
    userinfo, host = netloc.rsplit("@", 1)
    user = userinfo.split(":", 1)[0]
    return f"{user}:{MASK}@{host}" if ":" in userinfo else f"{MASK}@{host}"


def redact_url(url: str, fmt: str | None = None) -> str:
    """``url`` (a webhook target) with every part that may be a credential masked.

    ``fmt`` is the webhook format: for ``slack`` and ``feishu`` the whole path after
    its first segment is secret whatever the host.
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return MASK
    if not parts.netloc and url and not url.startswith("//"):
        # "hooks.slack.com/services/…" without its scheme: read it as host + path.
        return redact_url("//" + url, fmt).removeprefix("//")
    if not parts.netloc:
        return MASK if url else url
    path = _mask_path(
        parts.path, opaque=True, everything_after_first=fmt in _PATH_SECRET_FORMATS
    )
    query = _mask_query(parts.query, every_value=True)
    fragment = MASK if parts.fragment else ""
    return urlunsplit((parts.scheme, _mask_netloc(parts.netloc), path, query, fragment))


def secrets_of(url: str, fmt: str | None = None) -> list[str]:
    """The secret strings in ``url`` (as written and percent-decoded), longest first.

    Used to remove them from text that repeats them outside a URL (an exception
    message quoting a host and path, a receiver echoing the key).
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return [url] if url else []
    found: set[str] = set()
    masked = _mask_path(parts.path, opaque=True,
                        everything_after_first=fmt in _PATH_SECRET_FORMATS).split("/")
    for original, hidden in zip(parts.path.split("/"), masked, strict=True):
        if hidden == MASK:
            found.add(original)
    for _, value in parse_qsl(parts.query, keep_blank_values=False):
        found.add(value)
    for raw in parts.query.split("&"):
        if "=" in raw:
            found.add(raw.split("=", 1)[1])
    if parts.password:
        found.add(parts.password)
    if parts.fragment:
        found.add(parts.fragment)
    # A very short "secret" (``?a=1``) would mask unrelated characters everywhere.
    return sorted((s for s in found if len(s) >= 4), key=len, reverse=True)


def _scrub_url(url: str) -> str:
    try:
        parts = urlsplit(url)
    except ValueError:
        return MASK
    path = _mask_path(parts.path, opaque=False, everything_after_first=False)
    query = _mask_query(parts.query, every_value=False)
    return urlunsplit((parts.scheme, _mask_netloc(parts.netloc), path, query, parts.fragment))


def scrub(text: str) -> str:
    """``text`` with recognisable credentials in any URL it mentions masked."""
    if "://" not in text:
        return text
    return _URL_IN_TEXT.sub(lambda m: _scrub_url(m.group(0)), text)


def redact_text(text: str, url: str, fmt: str | None = None) -> str:
    """``text`` (an error about the webhook ``url``) safe to log, store and show."""
    if url:
        text = text.replace(url, redact_url(url, fmt))
        for secret in secrets_of(url, fmt):
            text = text.replace(secret, MASK)
    return scrub(text)


class RedactingFilter(logging.Filter):
    """Scrubs credentials from a record's message and traceback before any handler
    formats it. Attached to our log handler and to the ``httpx`` logger, which logs
    every request URL at INFO."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string is logging's business
            return True
        clean = scrub(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = scrub(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = scrub(record.exc_text)
        return True


def install_httpx_filter() -> None:
    """Make the ``httpx`` logger scrub its request lines (idempotent)."""
    for name in ("httpx", "httpcore"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(RedactingFilter())
