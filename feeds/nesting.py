"""Element nesting capped before a page reaches the HTML parser (issue 10).

A parser that follows the WHATWG tree-construction algorithm walks its stack of open
elements for many tokens ("has a p element in button scope" on every ``<div>``, "any
other end tag"), so a page nested N levels deep costs O(N²): lexbor took 1.8 s for
40,000 nested ``<div>`` and minutes for 200,000. Browsers cap the depth (Blink at
512); so does :func:`cap_nesting`: a start tag that would open an element deeper
than :data:`MAX_DEPTH` is dropped, with its end tag; its text stays, inside the
deepest element kept, and a dropped block leaves a ``<br>`` so its lines stay lines.

The pass is a tokenizer-level model of the tree builder: open elements by name, the
closings the parser implies (``p``, ``li``, cells, headings, ``a``), formatting
elements it would reopen (``<font>`` left open across ``</p>``), comments and raw
text (``script``, ``style``, ``textarea``, ``title``). Where the model is unsure it
counts deeper than the parser would, never shallower. Pages with few tags (every
ordinary page) are returned as they are, without the pass.

Pure: no I/O.
"""

from __future__ import annotations

import re
from collections import Counter

from selectolax.lexbor import LexborHTMLParser

__all__ = ["FAST_TAGS", "MAX_DEPTH", "cap_nesting", "parse_page"]

#: Deepest element kept. Real article pages nest 20-60 levels.
MAX_DEPTH = 256
#: A page with at most this many ``<`` is parsed as it is: even fully nested it
#: parses in a few tens of milliseconds.
FAST_TAGS = 4096
#: How far down the stack an end tag or an implied closing looks for its element;
#: past this the model keeps the elements open (counts deeper, the safe side).
_REACH = 64

_TOKEN = re.compile(
    r"<!--(?:-?>|.*?--!?>|.*\Z)"  # comment, also <!--> and <!--->
    r"|<[!?][^>]*(?:>|\Z)"  # doctype, <?...>, <![CDATA[: bogus comments
    r"|</(?![A-Za-z])[^>]*(?:>|\Z)"  # </ not followed by a letter
    r"|<(/?)([A-Za-z][^\t\n\f\r />]*)([^>]*)(?:>|\Z)",
    re.S,
)
_VOID = frozenset(
    "area base br col embed hr img image input keygen link meta param source track wbr "
    "basefont bgsound frame".split()
)
_RAW = {
    name: re.compile(rf"</{name}[\t\n\f\r />]|</{name}\Z", re.I)
    for name in ("script", "style", "textarea", "title", "xmp", "iframe", "noembed")
}
_FOREIGN = frozenset({"svg", "math"})
_SCOPE = frozenset(
    "applet caption html table td th marquee object template svg math foreignobject".split()
)
_BUTTON_SCOPE = _SCOPE | {"button"}
_CLOSES_P = frozenset(
    "address article aside blockquote center details dialog dir div dl fieldset "
    "figcaption figure footer form h1 h2 h3 h4 h5 h6 header hgroup hr main menu nav ol p "
    "pre search section summary table ul li dd dt listing xmp plaintext".split()
)
_SPECIAL = _CLOSES_P | _SCOPE | frozenset(
    "area base basefont bgsound body br button col colgroup embed frame frameset head "
    "iframe img input keygen link meta noembed noframes noscript param script select "
    "source style tbody tfoot thead textarea title tr track wbr".split()
)
_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_BREAKS = _CLOSES_P | {"tr", "caption", "option", "body", "html"}
_FORMATTING = frozenset(
    "a b big code em font i nobr s small strike strong tt u".split()
)
_TABLE_WALL = frozenset({"table", "html", "template"})
#: Start tag -> (names it closes, names that stop the search).
_IMPLIED: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "li": (frozenset({"li"}), _SPECIAL - {"address", "div", "p"}),
    "dd": (frozenset({"dd", "dt"}), _SPECIAL - {"address", "div", "p"}),
    "dt": (frozenset({"dd", "dt"}), _SPECIAL - {"address", "div", "p"}),
    "td": (frozenset({"td", "th"}), _TABLE_WALL),
    "th": (frozenset({"td", "th"}), _TABLE_WALL),
    "tr": (frozenset({"tr"}), _TABLE_WALL),
    "tbody": (frozenset({"tbody", "thead", "tfoot"}), _TABLE_WALL),
    "thead": (frozenset({"tbody", "thead", "tfoot"}), _TABLE_WALL),
    "tfoot": (frozenset({"tbody", "thead", "tfoot"}), _TABLE_WALL),
    "table": (frozenset({"table"}), frozenset({"td", "th", "caption", "html", "template"})),
    "a": (frozenset({"a"}), frozenset({"html"})),
    "nobr": (frozenset({"nobr"}), frozenset({"html"})),
    "button": (frozenset({"button"}), _SCOPE),
    "select": (frozenset({"select"}), frozenset({"html", "template"})),
    "option": (frozenset({"option"}), frozenset({"select", "html"})),
}


_P = frozenset({"p"})
_ONES: dict[str, frozenset[str]] = {}


def _one(name: str) -> frozenset[str]:
    found = _ONES.get(name)
    if found is None:
        found = frozenset({name})
        if len(_ONES) < 1000:
            _ONES[name] = found
    return found


class _Model:
    """Open elements by name, plus formatting elements the parser would reopen."""

    __slots__ = ("stack", "open", "foreign", "lingering", "reopened")

    def __init__(self) -> None:
        self.stack: list[tuple[str, str]] = []  # (name, attributes)
        self.open: Counter[str] = Counter()
        self.foreign = 0
        # Formatting elements closed implicitly stay in the parser's list of active
        # formatting elements (at most 3 alike, the "Noah's Ark" clause) and are
        # reopened at the next text: they count as depth until their end tag.
        self.lingering: Counter[tuple[str, str]] = Counter()
        self.reopened = 0

    @property
    def depth(self) -> int:
        return len(self.stack) + self.reopened

    def push(self, name: str, attrs: str) -> None:
        self.stack.append((name, attrs))
        self.open[name] += 1
        if name in _FOREIGN:
            self.foreign += 1

    def close(self, names: frozenset[str], walls: frozenset[str]) -> bool:
        """Pop through the nearest open element in ``names`` above any of ``walls``."""
        opened = self.open
        for n in names:
            if opened[n]:
                break
        else:
            return False
        stack = self.stack
        for i in range(len(stack) - 1, max(-1, len(stack) - 1 - _REACH), -1):
            name = stack[i][0]
            if name in names:
                self._pop_to(i)
                return True
            if name in walls:
                return False
        return False

    def _pop_to(self, index: int) -> None:
        stack = self.stack
        for i in range(len(stack) - 1, index - 1, -1):
            name, attrs = stack[i]
            self.open[name] -= 1
            if name in _FOREIGN:
                self.foreign -= 1
            if name in _FORMATTING and i != index:
                key = (name, attrs)
                if self.lingering[key] < 3:
                    self.lingering[key] += 1
                    self.reopened += 1
        del stack[index:]

    def end(self, name: str) -> None:
        """An end tag: the parser pops through its element when it is in reach."""
        walls = _SCOPE if name in _SPECIAL else _SPECIAL
        if name in _FORMATTING and not self.open[name]:
            for key in [k for k in self.lingering if k[0] == name][:1]:
                self.lingering[key] -= 1
                self.reopened -= 1
                if not self.lingering[key]:
                    del self.lingering[key]
            return
        if name == "p":
            walls = _BUTTON_SCOPE
        self.close(_one(name), walls)


def cap_nesting(html: str, limit: int = MAX_DEPTH) -> str:
    """``html`` with start tags past ``limit`` open elements removed (see module doc)."""
    if html.count("<") <= FAST_TAGS:
        return html
    model = _Model()
    dropped: Counter[str] = Counter()
    out: list[str] = []
    kept = 0  # html[kept:pos] is still to be copied
    pos = 0
    search = _TOKEN.search
    while True:
        match = search(html, pos)
        if match is None:
            break
        pos = match.end()
        name = match.group(2)
        if name is None:
            continue
        name = name.lower()
        if match.group(1):  # an end tag
            if dropped[name]:
                dropped[name] -= 1
                out.append(html[kept : match.start()])
                if name in _BREAKS:
                    out.append("<br>")
                kept = pos
            else:
                model.end(name)
            continue
        attrs = match.group(3)
        if name in _VOID or (model.foreign and attrs.endswith("/")):
            continue
        if name in _CLOSES_P:
            model.close(_P, _BUTTON_SCOPE)
            if name in _HEADINGS and model.stack and model.stack[-1][0] in _HEADINGS:
                model.close(_HEADINGS, _SCOPE)
        implied = _IMPLIED.get(name)
        if implied is not None:
            model.close(*implied)
        if model.depth >= limit:
            dropped[name] += 1
            out.append(html[kept : match.start()])
            if name in _BREAKS:  # a dropped block still ends a line of text
                out.append("<br>")
            kept = pos
            continue
        model.push(name, attrs.strip())
        raw = _RAW.get(name)
        if raw is not None and not model.foreign:
            closing = raw.search(html, pos)
            pos = len(html) if closing is None else closing.start()
    if not out:
        return html
    out.append(html[kept:])
    return "".join(out)


def parse_page(html: str) -> LexborHTMLParser:
    """Parse ``html`` with its nesting capped first: linear in the page's size."""
    return LexborHTMLParser(cap_nesting(html))
