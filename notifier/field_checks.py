"""Checks of single values in the subscriptions and service files.

Each function returns why a value cannot be used (one clause, no position), or
``None``; the callers add ``file:line:col``. What goes into an email header must
be one line of text: a CR or LF in a subscriber's ``name`` would otherwise add
header lines of its own (``Bcc:``) to every digest (issue 11.8).
"""

from __future__ import annotations

import base64
import binascii
import re
import unicodedata
from urllib.parse import urlsplit

#: Standard Webhooks: a signing secret is 24 to 64 random bytes.
WHSEC_BYTES = (24, 64)
_BREAKS = {"\r": "CR", "\n": "LF", "\u2028": "U+2028", "\u2029": "U+2029", "\x85": "U+0085"}


def control_characters(text: str) -> list[str]:
    """The line breaks and control characters in ``text``, named (CR, LF, U+0000)."""
    found: list[str] = []
    for char in text:
        if char in _BREAKS or unicodedata.category(char) == "Cc":
            name = _BREAKS.get(char, f"U+{ord(char):04X}")
            if name not in found:
                found.append(name)
    return found


def header_problem(text: str, what: str) -> str | None:
    """Why ``text`` cannot go into an email header field, or ``None``."""
    found = control_characters(text)
    if not found:
        return None
    kind = "a line break" if {"CR", "LF"} & set(found) else "a control character"
    return (
        f"{what} contains {kind} ({', '.join(found)}); it goes into an email header, "
        "which must be one line of text — remove it"
    )


def whsec_problem(secret: str) -> str | None:
    """Why a ``whsec_`` signing secret is malformed, or ``None`` (other secrets pass)."""
    if not secret.startswith("whsec_"):
        return None
    body = secret.removeprefix("whsec_")
    try:
        key = base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        return (
            "malformed whsec_ secret: the part after whsec_ is not base64; copy the whole "
            "secret from the receiver, or make one with python -c \"import base64, secrets; "
            "print('whsec_' + base64.b64encode(secrets.token_bytes(32)).decode())\""
        )
    low, high = WHSEC_BYTES
    if not low <= len(key) <= high:
        return (
            f"malformed whsec_ secret: it holds {len(key)} bytes, a signing secret has "
            f"{low} to {high}; copy the whole secret from the receiver"
        )
    return None


_URL_HOST = re.compile(r"^[^\s/?#]+$")


def check_webhook_url(url: str) -> str | None:
    """Why ``url`` cannot be a webhook target, or ``None`` if it can (its secrets masked)."""
    from notifier.redact import redact_url

    shown = redact_url(url)
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- raises on a bad port
    except ValueError as exc:
        return f"bad webhook URL '{shown}': {exc}"
    if parts.scheme not in ("http", "https"):
        return f"bad webhook URL '{shown}': it must start with https:// (or http://)"
    if not parts.hostname or not _URL_HOST.match(parts.netloc) or " " in url:
        return f"bad webhook URL '{shown}': no host name (write https://host/path)"
    return None
