"""Article text made safe for each place it is shown (pure; used as Jinja filters).

Article fields (title, source, zone, region and category names, summary, URL) come
from portals we do not control (issue 11). Two dangers:

* **markup**: a title such as ``<!channel>`` pings a whole Slack channel and
  ``[赢取大奖](https://evil.example)`` becomes a link in a Markdown robot. Each chat
  platform gets one filter that makes article text inert in its markup.
* **control characters**: ESC sequences rewrite an operator's terminal
  (``digest preview``), C0/C1 controls break mail headers and JSON consumers, and
  bidi overrides (U+202A-U+202E, U+2066-U+2069) make text read differently from what
  it is. :func:`clean` removes them from every output.

Slack mrkdwn has exactly three escapes, ``&amp; &lt; &gt;`` (Slack's "formatting
text" guide); once ``<`` is escaped no ``<!channel>``, ``<@U…>`` or ``<url|text>``
can form. The Markdown of DingTalk, WeCom and Feishu documents no backslash escape
and each adds its own tags (WeCom ``<font>`` and ``<@userid>``, Feishu ``<at
id=all>``, ``<font>``, ``<text_tag>``; Feishu also decodes HTML entities). So the
markdown filter replaces each markup character by its full-width form (``［ ］ （
）＊ ＿ ｀ ～ ＃ ＞ ＜ ！ ｜ ＆ ＼``): inert on every renderer, whatever it supports,
and the usual punctuation of Chinese text anyway. Autolinks (``https://…``,
``www.…``) are broken with a full-width colon or dot, so a title cannot become a
link either. Every chat field is also made one line: a newline would start a
heading, list or quote of its own.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

#: Terminal escape sequences, removed whole so no "[31m" is left behind: CSI
#: (ESC [ or the C1 byte U+009B), OSC up to BEL or ST, and two-byte ESC sequences.
_ESCAPES = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?"
    r"|(?:\x1b\]|\x9d)[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
    r"|\x1b[ -~]?"
)
#: C0 controls except tab and newline, DEL, C1 controls, bidi embeddings, overrides
#: and isolates.
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_SPACES = re.compile(r"[\s\u2028\u2029]+")

_MARKDOWN = str.maketrans({
    "\\": "＼", "`": "｀", "*": "＊", "_": "＿", "~": "～", "#": "＃", "[": "［",
    "]": "］", "(": "（", ")": "）", "<": "＜", ">": "＞", "!": "！", "|": "｜",
    "&": "＆",
})
_WWW = re.compile(r"(?i)www\.")
_SLACK = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})

#: Characters that would end or break a link target in Markdown ``[t](url)`` or
#: Slack ``<url|t>``; percent-encoded (RFC 3986 allows it for each of them).
_URL_UNSAFE = {c: f"%{ord(c):02X}" for c in " \"'<>()[]\\^`{|}"}


def clean(text: str) -> str:
    """``text`` without terminal escapes, control characters or bidi overrides
    (newlines and tabs kept)."""
    # Every escape starts with a control character, so text without one (nearly
    # all of it) is returned after one fast scan.
    if _CONTROLS.search(text) is None:
        return text
    return _CONTROLS.sub("", _ESCAPES.sub("", text))


def one_line(text: str) -> str:
    """``text`` cleaned, on one line, runs of white space made one space."""
    return _SPACES.sub(" ", clean(text)).strip()


def ellipsize(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, ending in "…" if it was cut."""
    if limit <= 0:
        return ""
    if len(text) <= limit:
        return text
    return text[: limit - 1].rstrip() + "…"


def slack_text(value: object) -> str:
    """Article text for Slack mrkdwn: one line, ``& < >`` escaped."""
    return one_line(str(value or "")).translate(_SLACK)


def markdown_text(value: object) -> str:
    """Article text for DingTalk / WeCom / Feishu markdown: one line, inert."""
    text = one_line(str(value or "")).translate(_MARKDOWN).replace("://", "：//")
    return _WWW.sub(lambda m: m.group(0)[:3] + "．", text)


def link_url(value: object) -> str:
    """An http(s) URL safe inside a Markdown or Slack link, or ``""`` for any other.

    ``javascript:`` and the like never become links; characters that would close
    the link early are percent-encoded.
    """
    url = one_line(str(value or ""))
    try:
        scheme = urlsplit(url).scheme.lower()
    except ValueError:
        return ""
    if scheme not in ("http", "https"):
        return ""
    return "".join(_URL_UNSAFE.get(c, c) for c in url)


def slack_url(value: object) -> str:
    """:func:`link_url` with ``&`` escaped as Slack wants inside ``<…>``."""
    return link_url(value).replace("&", "&amp;")
