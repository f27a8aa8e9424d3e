"""A parsed page flattened into the lines a reader sees (see :mod:`feeds.extract`).

Block elements and ``<br>`` end a line, inline elements join, table cells of one row
share a line, images are lines of their own. Pure: no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urljoin

from selectolax.lexbor import LexborNode

__all__ = ["Line", "page_lines"]

_BLOCK = frozenset(
    {
        "address", "article", "aside", "blockquote", "body", "caption", "center", "dd",
        "details", "dialog", "dir", "div", "dl", "dt", "fieldset", "figcaption", "figure",
        "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hgroup", "hr",
        "html", "li", "main", "menu", "nav", "ol", "p", "pre", "section", "summary",
        "table", "tbody", "tfoot", "thead", "tr", "ul", "option",
    }
)
_CELL = frozenset({"td", "th"})
_SKIP = frozenset(
    {
        "head", "script", "style", "noscript", "template", "iframe", "select", "textarea",
        "svg", "math", "object", "embed", "canvas", "button", "input",
    }
)
#: Marks an element boundary inside a line; kept only where the breadcrumb needs it.
_SEP = "\x1f"
_IMG = "\x00img:"
_CELL_OPEN = " " + _SEP
_CELL_CLOSE = _SEP + " "

# Every Unicode space but the separator (which str.isspace() counts as one), plus
# zero-width spaces: runs collapse, so no later regex meets a long whitespace run.
_SPACES = re.compile(
    "[\t-\r\x1c-\x1e \x85\xa0\u1680\u2000-\u200b\u2028\u2029\u202f\u205f\u3000\ufeff]+"
)


@dataclass(frozen=True, slots=True)
class Line:
    """One visual line of a page: its text and the block element that holds it."""

    text: str
    tag: str


def page_lines(root: LexborNode | None, base_url: str = "") -> list[Line]:
    """Flatten a parsed page into visual lines (see module docstring).

    Texts keep :data:`_SEP` at inline element boundaries; images become their own
    line ``\\x00img:<absolute src>``. The walk keeps its own stack (issue 10): a page
    nested thousands of levels deep costs no Python recursion.
    """
    lines: list[Line] = []
    parts: list[str] = []
    run_tag = "body"  # the block holding the text gathered in ``parts``

    def flush() -> None:
        if parts:
            text = _SPACES.sub(" ", "".join(parts)).strip(" ")
            if text.replace(_SEP, "").strip():
                lines.append(Line(text, run_tag))
            parts.clear()

    if root is None:
        return lines
    # The walk's own stack (issue 10): for each open element with children, the
    # sibling to visit after it, the block around it, and what closing it adds
    # (None: a flush, for a block; else the separator of an inline element or cell).
    stack: list[tuple[LexborNode | None, str, str | None]] = []
    block = root.tag if root.tag in _BLOCK else "body"
    node = root.child
    while True:
        if node is None:
            if not stack:
                break
            node, block, closing = stack.pop()
            if closing is None:
                flush()
            else:
                parts.append(closing)
            continue
        tag = node.tag
        after = node.next
        if tag == "-text":
            text = node.text_content
            if text:
                if not parts:
                    run_tag = block
                parts.append(text)
        elif tag in _SKIP or tag is None or tag.startswith("-"):
            pass
        elif tag == "br":
            flush()
        elif tag == "img":
            src = node.attributes.get("src")
            if src and base_url:
                try:
                    absolute = urljoin(base_url, src)
                except ValueError:  # e.g. a broken IPv6 literal: no image, not a failure
                    absolute = ""
                if absolute:
                    flush()
                    lines.append(Line(_IMG + absolute, block))
        else:
            child = node.child
            if tag in _BLOCK:
                flush()
                if child is not None:
                    stack.append((after, block, None))
                    block = tag
            elif tag in _CELL:
                parts.append(_CELL_OPEN)
                if child is None:
                    parts.append(_CELL_CLOSE)
                else:
                    stack.append((after, block, _CELL_CLOSE))
            else:
                parts.append(_SEP)
                if child is None:
                    parts.append(_SEP)
                else:
                    stack.append((after, block, _SEP))
            if child is not None:
                node = child
                continue
        node = after
    flush()
    return lines
