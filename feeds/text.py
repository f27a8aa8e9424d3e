"""Plain text from article HTML, and strings made safe for XML 1.0.

Pure helpers shared by the Atom renderer and the index page. Speed matters here: a
full feed build runs them once per article (100,000 times in the benchmark), so they
use regular expressions rather than an HTML parser; the HTML that reaches a reader is
sanitised separately (nh3, in :mod:`feeds.atom`).
"""

from __future__ import annotations

import html
import re

#: XML 1.0 §2.2 ``Char``: everything outside it makes a document ill-formed. That is
#: C0 controls except tab/newline/return, lone surrogates, U+FFFE and U+FFFF.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")

_DROP_BLOCKS = re.compile(r"<(script|style|template|iframe)\b[^>]*>.*?</\1\s*>", re.I | re.S)
_COMMENT = re.compile(r"<!--.*?-->", re.S)
#: Where a reader sees a line end: a break, and either side of a block (an unclosed
#: ``<p>`` still separates words, so keywords of two paragraphs never run together).
_BREAKS = re.compile(
    r"<(?:br|/?p|/?div|/?li|/?h[1-6]|/?tr|/?td|/?th|/?blockquote|/?pre)\b[^>]*>", re.I
)
_TAG = re.compile(r"<[^>]*>")
_SPACES = re.compile(r"[ \t\r\f\v\u00a0\u3000]+")
_NEWLINES = re.compile(r"\s*\n\s*")


_SURROGATE = re.compile("[\ud800-\udfff]")


def xml_safe(text: str) -> str:
    """``text`` without the characters XML 1.0 forbids (they cannot be escaped)."""
    return _XML_ILLEGAL.sub("", text)


def _replace_illegal(match: re.Match[str]) -> str:
    return "\ufffd" if "\ud800" <= match.group() <= "\udfff" else ""


def valid_text(text: str) -> str:
    """``text`` made storable and publishable, before it is hashed or stored.

    A lone surrogate (valid in JSON and in a Python ``str``, but not Unicode: UTF-8
    cannot encode it) becomes U+FFFD, so a reader sees that something was there;
    the other characters XML 1.0 forbids (NUL and C0 controls, U+FFFE, U+FFFF) are
    dropped: PostgreSQL refuses NUL and no feed can carry them (issue 10).
    """
    if _XML_ILLEGAL.search(text) is None:  # the usual case: nothing to copy
        return text
    return _XML_ILLEGAL.sub(_replace_illegal, text)


def lone_surrogate(text: str) -> int | None:
    """The index of the first lone surrogate in ``text``, or ``None``.

    ``json.loads`` joins escaped surrogate pairs into one character, so any
    surrogate left in a decoded string has no partner.
    """
    match = _SURROGATE.search(text)
    return None if match is None else match.start()


def strip_markup(markup: str, *, sanitized: bool = False) -> str:
    """What a reader sees of an HTML fragment, whitespace left as it comes.

    Scripts, styles and comments go, block boundaries become line breaks, inline
    tags vanish without a trace (新<b>能源</b> still reads 新能源) and entities are
    decoded. Keyword matching uses this directly (it is the cheaper half);
    :func:`html_to_text` tidies the whitespace for display. ``sanitized``: the
    markup has no scripts, styles or comments left (nh3 output).
    """
    if "<" not in markup and "&" not in markup:
        return markup
    text = markup
    if not sanitized:
        text = _DROP_BLOCKS.sub("\n", text)
        if "<!--" in text:
            text = _COMMENT.sub("", text)
    text = _BREAKS.sub("\n", text)
    return html.unescape(_TAG.sub("", text))


def html_to_text(markup: str, *, sanitized: bool = False) -> str:
    """Readable plain text of an HTML fragment (or of plain text, unchanged).

    :func:`strip_markup`, then runs of spaces (including full-width U+3000 and
    ``&nbsp;``) collapse to one and blank lines to one line break. The one
    HTML-to-text of the project: feeds, digests and keyword matching all use it.
    """
    text = _SPACES.sub(" ", xml_safe(strip_markup(markup, sanitized=sanitized)))
    return _NEWLINES.sub("\n", text).strip()


def one_line(text: str) -> str:
    """All whitespace collapsed to single spaces (titles, names)."""
    return " ".join(xml_safe(text).split())


def truncate(text: str, limit: int, ellipsis: str = "…") -> str:
    """At most ``limit`` characters, cut at a word or sentence boundary where one
    is near, ending with ``ellipsis`` when anything was cut."""
    if len(text) <= limit:
        return text
    cut = text[: max(limit - len(ellipsis), 0)]
    # Chinese has no spaces: prefer a sentence or clause end, then a space.
    for marks in ("。！？!?", "，；、,; "):
        at = max(cut.rfind(m) for m in marks)
        if at >= limit * 2 // 3:
            cut = cut[: at + 1] if cut[at] in "。！？!?" else cut[:at]
            break
    return cut.rstrip() + ellipsis
