"""Article pages to records, from the labels a reader sees, not from CSS classes.

A portal page is first flattened into *lines* the way a browser lays out text:
block elements and ``<br>`` end a line, inline elements (``<span>``, ``<a>``,
``<font>``) join, table cells of one row share a line. On those lines the labels of
SPEC §1 are found — the ``您现在的位置`` breadcrumb, the ``发布时间 / 来源 / 发布开发区``
meta line, ``上一条 / 下一条`` — so the same code reads table layouts, div layouts,
a meta line whose fields sit in separate elements, ``&nbsp;`` and full-width
spaces or colons, and ``<br>``-separated paragraphs.

Pure: no network, no files, no clock. selectolax (lexbor) parses, after
:mod:`feeds.nesting` capped the nesting; the line pass (:mod:`feeds.lines`) is a
single walk of the tree with its own stack. Both are linear in the page's size.
"""

from __future__ import annotations

import html as html_lib
import re
import unicodedata
from collections.abc import Callable, Container

from selectolax.lexbor import LexborHTMLParser, LexborNode

from feeds.charset import decode_page
from feeds.dates import parse_date
from feeds.errors import ExtractError
from feeds.lines import _IMG, _SEP, _SKIP, _SPACES, Line, page_lines
from feeds.links import extract_links, find_next_page
from feeds.models import ArticleRecord
from feeds.nesting import parse_page
from feeds.urls import InvalidURL, canonical_url

__all__ = [
    "Line", "article_root", "extract_article", "extract_links", "extract_page", "find_next_page",
    "page_lines",
]

_HEADINGS = frozenset({"h1", "h2", "h3", "h4"})

#: Lines a meta line may spread over.
_META_MAX_LINES = 12
_BREADCRUMB_LABEL = re.compile(r"(?:您现在的位置|您的位置|当前位置|所在位置)\s*[:：]?\s*")
_CRUMB_SPLIT = re.compile(r"\s*(?:>|＞|›|»|→|>>|/|\\|\|)\s*")
_META_LABELS = {
    "发布时间": "date", "发布日期": "date", "发表时间": "date", "更新时间": "date",
    "日期": "date", "时间": "date",
    "来源": "source", "信息来源": "source", "文章来源": "source", "稿件来源": "source",
    "发布开发区": "zone", "所属开发区": "zone", "开发区": "zone", "所属园区": "zone",
    "作者": "other", "编辑": "other", "责任编辑": "other", "点击": "other",
    "点击数": "other", "点击量": "other", "浏览次数": "other", "阅读": "other",
    "阅读量": "other", "访问量": "other", "字号": "other",
}
# Longest label first so 发布开发区 wins over 开发区 and 信息来源 over 来源.
_META_FIELD = re.compile(
    "(" + "|".join(sorted(map(re.escape, _META_LABELS), key=len, reverse=True)) + r")\s*[:：]"
)
_LABELS_RE = "|".join(sorted(map(re.escape, _META_LABELS), key=len, reverse=True))
_ENDS_WITH_LABEL = re.compile(
    "(?:^|[ :：])(?:" + _LABELS_RE + r")\s*[:：]?$|(?:" + _LABELS_RE + r")\s*[:：]$"
)
_LABEL_ONLY = re.compile("^(?:" + _LABELS_RE + r")\s*[:：]?$")
_META_START = re.compile(r"(?:发布时间|发布日期|发表时间)\s*[:：]?")
_DATE = re.compile(
    r"\d{4}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}\s*日?"
    r"(?:\s*\d{1,2}\s*[:：时]\s*\d{1,2}(?:\s*[:：分]\s*\d{1,2}\s*秒?)?)?"
)
_NEIGHBOUR = re.compile(r"^(?:上一条|下一条|上一篇|下一篇|上一页|下一页)\s*[:：]?")
_NEIGHBOUR_ANY = re.compile(r"(?:上一条|下一条|上一篇|下一篇)\s*[:：]")
_FOOTER = re.compile(
    r"^(?:与我们联系|联系我们|Copyright|版权所有|©|\(c\)|主办单位|承办单位|技术支持|网站标识码"
    r"|[京沪浙苏粤蜀鲁鄂皖津]ICP备|ICP备)",
    re.IGNORECASE,
)
# Page furniture that sits between body and neighbour links on many portals.
_CHROME = re.compile(
    r"^(?:【[^】]{0,8}】\s*)+$|^(?:分享到|打印本页|关闭窗口|收藏本页|返回顶部|字体[:：]|字号[:：])"
)
_VALUE_TRIM = " |丨｜/·-—:：,，;；【】[]〔〕"


def innermost(
    body: LexborNode, text_length: int, skip: Container[str | None], holds: Callable[[str], bool]
) -> LexborNode:
    """The deepest element under ``body`` whose text ``holds`` (``body`` itself if
    none). Each level reads its children's text within a budget, so a deep page with a
    big text at the bottom costs a few passes over the text, not one per level."""
    budget = 4 * text_length + 65536
    node = body
    while budget > 0:
        child = node.child
        inner = None
        while child is not None and budget > 0:
            if child.tag not in skip and child.tag != "-text" and child.tag is not None:
                child_text = child.text()
                budget -= len(child_text) + 64
                if holds(child_text):
                    inner = child
                    break
            else:
                budget -= 64
            child = child.next
        if inner is None:
            break
        node = inner
    return node


def article_root(tree: LexborHTMLParser) -> LexborNode | None:
    """The smallest element holding every label the page has: breadcrumb, meta line
    and neighbour links.

    Walking only that subtree keeps mega-menus, link boxes and footers of a 60 KB
    page out of the (Python) line pass; finding it costs a few C-level text scans.
    Without a breadcrumb the title may sit just outside, so the parent is taken.
    """
    body = tree.body or tree.root
    if body is None:
        return None
    text = body.text()
    wanted = [
        regex for regex in (_BREADCRUMB_LABEL, _META_START, _NEIGHBOUR_ANY) if regex.search(text)
    ]
    if not wanted or _META_START not in wanted:
        return body
    node = innermost(body, len(text), _SKIP, lambda t: all(r.search(t) for r in wanted))
    if _BREADCRUMB_LABEL not in wanted and node.parent is not None and node is not body:
        node = node.parent
    return node


def _plain(text: str) -> str:
    return _SPACES.sub(" ", text.replace(_SEP, "")).strip()


def _parse(html: str) -> LexborHTMLParser:
    # Nesting capped first: the parser is quadratic in depth (issue 10).
    return parse_page(html)


def extract_page(content: bytes, content_type: str | None, url: str) -> ArticleRecord | str:
    """Decode and read one fetched page: its record, or the reason it is none.

    Never raises: whatever a hostile page sets off (a codec, a limit, a bug of ours)
    becomes a one-line reason, so one page can never end a poll (issue 10).
    """
    try:
        return extract_article(decode_page(content, content_type), url)
    except ExtractError as exc:
        return _one_line(str(exc).removeprefix(f"{url}: "))
    except Exception as exc:  # any reason at all: the page stands alone
        return _one_line(f"cannot be read: {type(exc).__name__}: {exc}")


def _one_line(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def extract_article(html: str, url: str) -> ArticleRecord:
    """Read one article page into a record, or raise :class:`ExtractError` saying why not.

    Region is the breadcrumb's element after 开发区新闻 (its third), category the one
    after that; zone, source and date come from the meta line. The body is every
    line between the meta line and ``上一条/下一条`` (or the footer), as ``<p>``
    paragraphs of plain text; page furniture lines (print/share/close) are dropped.
    """
    tree = _parse(html)
    root = article_root(tree)
    lines = page_lines(root, url if url.startswith(("http://", "https://")) else "")
    crumb_at = next(
        (
            i for i, line in enumerate(lines)
            if _BREADCRUMB_LABEL.search(line.text.replace(_SEP, ""))
        ),
        None,
    )
    start = crumb_at + 1 if crumb_at is not None else 0
    meta_at = next(
        (
            i for i in range(start, len(lines))
            if not lines[i].text.startswith(_IMG)
            and _META_START.search(lines[i].text.replace(_SEP, ""))
        ),
        None,
    )
    if meta_at is None:
        raise ExtractError(
            f"{url}: not an article page: no meta line with 发布时间 (publication date)"
            + ("" if crumb_at is not None else " and no 您现在的位置 breadcrumb")
        )
    meta, body_from = _meta_fields(lines, meta_at)
    if not meta.get("date"):
        shown = _plain(lines[meta_at].text)
        raise ExtractError(f"{url}: the meta line has no 发布时间 value: {shown!r}")
    # Full-width digits and dashes (２０２４－０２－０３) fold to ASCII first.
    found = _DATE.search(unicodedata.normalize("NFKC", meta["date"]))
    if found is None:
        raise ExtractError(f"{url}: 发布时间 is not a date: {meta['date']!r}")
    try:
        published = parse_date(found.group(0))
    except ValueError as exc:
        raise ExtractError(f"{url}: 发布时间 {found.group(0)!r}: {exc}") from None

    region = category = None
    if crumb_at is not None:
        region, category = _breadcrumb(lines[crumb_at].text)
    zone = meta.get("zone") or None
    if not zone and not region:
        raise ExtractError(
            f"{url}: neither 发布开发区 in the meta line nor a region in the breadcrumb"
        )
    title = _title(lines[start:meta_at]) or _title_tag(tree)
    if not title:
        raise ExtractError(f"{url}: no title between the breadcrumb and the meta line")
    paragraphs = _body(lines, body_from)
    if not paragraphs:
        raise ExtractError(f"{url}: no body text between the meta line and 上一条/下一条")
    try:
        canonical = canonical_url(url)
    except InvalidURL:
        canonical = url
    return ArticleRecord(
        url=canonical,
        title=title,
        published=published,
        source=meta.get("source") or None,
        zone=zone,
        region=region,
        category=category,
        content="".join(paragraphs),
    )


def _meta_fields(lines: list[Line], at: int) -> tuple[dict[str, str], int]:
    """Fields of the meta line starting at ``lines[at]``; also the first body line.

    The meta line may be spread over several block elements (one per field, or a
    label in one element and its value in the next): following lines are absorbed
    while they start with a meta label or the text so far ends in a bare label.
    """
    pieces = [_plain(lines[at].text)]
    end = at + 1
    # A meta line spreads over a few elements, never dozens: the cap keeps a page of
    # thousands of label-like lines linear.
    while end < len(lines) and end - at <= _META_MAX_LINES and not lines[end].text.startswith(_IMG):
        nxt = _plain(lines[end].text)
        if (
            _META_FIELD.match(nxt)
            or _LABEL_ONLY.match(nxt)
            or _value_for_bare_label(pieces[-1], nxt)
        ):
            pieces.append(nxt)
            end += 1
        else:
            break
    text = " ".join(pieces)
    fields: dict[str, str] = {}
    matches = list(_META_FIELD.finditer(text))
    # Leading text before the first label with a colon may be "发布时间 2022-11-07".
    for i, match in enumerate(matches):
        stop = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        value = text[match.end() : stop].strip(_VALUE_TRIM)
        kind = _META_LABELS[match.group(1)]
        if kind != "other" and kind not in fields:
            fields[kind] = value
    if not fields.get("date"):
        bare_date = _DATE.search(text)
        if bare_date:
            fields["date"] = bare_date.group(0)
    return fields, end




def _value_for_bare_label(text: str, nxt: str) -> bool:
    """Whether ``nxt`` is the value of a label that ends ``text`` (``来源:`` | ``嘉兴日报``).

    A date label only takes a line that starts with a date, other labels a short
    line: a body paragraph is never swallowed into the meta line.
    """
    bare = _ENDS_WITH_LABEL.search(text)
    if bare is None:
        return False
    label = bare.group(0).strip(" :：")
    if _META_LABELS.get(label) == "date":
        return _DATE.match(nxt) is not None
    return len(nxt) <= 40 and not _NEIGHBOUR.match(nxt)


def _breadcrumb(text: str) -> tuple[str | None, str | None]:
    """``首页 > 开发区新闻 > 嘉兴 > 文字新闻`` to ``("嘉兴", "文字新闻")``."""
    match = _BREADCRUMB_LABEL.search(text)
    if match is None:  # the label itself cut by elements: 您现在<span>的位置</span>
        text = text.replace(_SEP, "")
        match = _BREADCRUMB_LABEL.search(text)
    rest = text[match.end() :] if match else text
    parts = [p for p in (_plain(x) for x in _CRUMB_SPLIT.split(rest.replace(_SEP, ""))) if p]
    if len(parts) < 3:
        # Separators drawn by CSS or images: fall back to element boundaries.
        parts = [
            p for p in (_plain(x).strip(">＞›»→ ") for x in rest.split(_SEP)) if p
        ]
    if "开发区新闻" in parts:
        i = parts.index("开发区新闻")
        parts = ["首页", *parts[i:]]
    region = parts[2] if len(parts) > 2 else None
    category = parts[3] if len(parts) > 3 else None
    return region, category


def _title(lines: list[Line]) -> str | None:
    candidates = [(line, _plain(line.text)) for line in lines if not line.text.startswith(_IMG)]
    candidates = [(line, text) for line, text in candidates if text]
    if not candidates:
        return None
    headed = [text for line, text in candidates if line.tag in _HEADINGS]
    if headed:
        return headed[0]
    return max((text for _, text in candidates), key=len)


def _title_tag(tree: LexborHTMLParser) -> str | None:
    node = tree.css_first("title")
    if node is None:
        return None
    text = _plain(node.text())
    for sep in (" - ", "_", " | ", "－", "—"):
        if sep in text:
            text = text.split(sep)[0].strip()
    return text or None


def _body(lines: list[Line], start: int) -> list[str]:
    plain = [_plain(line.text) for line in lines[start:]]  # each line folded once
    stop = next((i for i, text in enumerate(plain) if _NEIGHBOUR.match(text)), None)
    if stop is None:
        stop = next((i for i, text in enumerate(plain) if _FOOTER.match(text)), len(plain))
    out: list[str] = []
    for line, text in zip(lines[start : start + stop], plain, strict=False):
        if line.text.startswith(_IMG):
            src = html_lib.escape(line.text[len(_IMG) :], quote=True)
            out.append(f'<p><img src="{src}" alt=""></p>')
            continue
        if not text or _CHROME.match(text) or _FOOTER.match(text):
            continue
        out.append(f"<p>{html_lib.escape(text, quote=False)}</p>")
    return out
