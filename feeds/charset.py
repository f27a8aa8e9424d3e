"""Bytes of a fetched page to text: declared charset first, then detection.

Chinese portals declare ``gb2312`` and then use characters only GBK or GB18030 have
(rare given names, 䶮, 𠮷); Python's ``gb2312`` codec would turn those into
replacement characters, so every GB family label decodes as GB18030, the superset.
The order follows what browsers do: a byte-order mark, then the HTTP header, then
``<meta charset>`` / ``<meta http-equiv>`` in the first bytes, then detection.
"""

from __future__ import annotations

import codecs
import re

#: GB family labels read with the superset codec so no character is lost.
_GB_LABELS = frozenset(
    {
        "gb2312", "gb_2312", "gb_2312-80", "gb2312-80", "csgb2312", "euc-cn", "euccn",
        "x-euc-cn", "gbk", "x-gbk", "cp936", "ms936", "windows-936", "936",
        "csgbk", "gb18030", "chinese", "iso-ir-58", "hz-gb-2312",
    }
)
# WHATWG: these labels mean windows-1252 in a browser; Python's latin-1 differs in 0x80-0x9f.
_LATIN1_LABELS = frozenset({"iso-8859-1", "iso8859-1", "latin1", "latin-1", "us-ascii", "ascii"})

_HEADER_CHARSET = re.compile(r"""charset\s*=\s*["']?\s*([\w.:+-]+)""", re.IGNORECASE)
# Both <meta charset="gbk"> and <meta http-equiv="Content-Type" content="text/html; charset=gbk">.
_META_CHARSET = re.compile(
    rb"""<meta\b[^>]*?\bcharset\s*=\s*["']?\s*([\w.:+-]+)""", re.IGNORECASE
)
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
#: How far into the page a <meta> declaration is looked for (HTML spec: 1024; be lenient).
META_SCAN_BYTES = 4096


def normalise_charset(label: str | None) -> str | None:
    """A Python codec name for a declared label, or ``None`` if unusable.

    GB2312/GBK labels become ``gb18030``; ``iso-8859-1`` becomes ``cp1252`` as in
    browsers; an unknown label is ``None`` so the caller falls through to detection.
    """
    if not label:
        return None
    text = label.strip().strip("\"'").lower()
    if text in _GB_LABELS:
        return "gb18030"
    if text in _LATIN1_LABELS:
        return "cp1252"
    if text in ("utf8", "unicode-1-1-utf-8", "utf-8"):
        return "utf-8"
    try:
        name = codecs.lookup(text).name
    except LookupError:
        return None
    return "gb18030" if name in ("gb2312", "gbk") else name


def header_charset(content_type: str | None) -> str | None:
    """The charset parameter of a Content-Type header, normalised."""
    if not content_type:
        return None
    match = _HEADER_CHARSET.search(content_type)
    return normalise_charset(match.group(1)) if match else None


def meta_charset(body: bytes) -> str | None:
    """The charset a page declares in a ``<meta>`` element near its start."""
    match = _META_CHARSET.search(body[:META_SCAN_BYTES])
    if match is None:
        return None
    return normalise_charset(match.group(1).decode("ascii", "replace"))


def detect_charset(body: bytes) -> str:
    """Guess the encoding of undeclared bytes.

    Strict UTF-8 first (it almost never decodes text that is not UTF-8), then
    GB18030 when it decodes cleanly into mostly CJK text, since that is what an
    undeclared Chinese portal page nearly always is, then charset-normalizer.
    """
    try:
        body.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        text = body.decode("gb18030")
    except UnicodeDecodeError:
        text = ""
    if text and _mostly_cjk(text):
        return "gb18030"
    from charset_normalizer import from_bytes  # imported lazily: slow to import

    best = from_bytes(body).best()
    if best is None:
        return "utf-8"
    return normalise_charset(best.encoding) or "utf-8"


def _mostly_cjk(text: str) -> bool:
    """True when the non-ASCII letters are mainly CJK ideographs and punctuation."""
    wide = [c for c in text if ord(c) > 0x7F]
    if not wide:
        return True
    cjk = sum(
        1 for c in wide
        if "\u4e00" <= c <= "\u9fff" or "\u3000" <= c <= "\u303f" or "\uff00" <= c <= "\uffef"
        or "\u3400" <= c <= "\u4dbf" or "\U00020000" <= c <= "\U0003134f"
        or c in "“”‘’·—…"
    )
    return cjk >= 0.9 * len(wide)


def page_charset(body: bytes, content_type: str | None) -> tuple[str, str]:
    """``(codec, how)`` where ``how`` is ``bom``, ``header``, ``meta`` or ``detected``."""
    for bom, name in _BOMS:
        if body.startswith(bom):
            return name, "bom"
    declared = header_charset(content_type)
    if declared:
        return declared, "header"
    declared = meta_charset(body)
    if declared:
        # A page cannot be UTF-16 if its <meta> was readable as ASCII bytes.
        if not declared.startswith("utf-16"):
            return declared, "meta"
    return detect_charset(body), "detected"


def decode_page(body: bytes, content_type: str | None) -> str:
    """Decode a page: BOM, HTTP header charset, ``<meta>`` charset, then detection.

    Undecodable bytes become U+FFFD rather than failing the page: one bad byte in a
    footer should not lose an article.
    """
    codec, how = page_charset(body, content_type)
    if how == "bom":
        body = body[len(codecs.BOM_UTF8) if codec == "utf-8" else 2 :]
    return body.decode(codec, errors="replace")
