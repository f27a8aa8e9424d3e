"""Zone and government website pages to records (SPEC §1, ``type: site``; issue 15).

CMS layouts differ (``<h1>`` and an info line, tables, TRS/WCM pages) but a reader
finds the same things on all of them: a heading, an info line with labels
(发布日期：… 来源：… 浏览次数：…), the body, then page tools (【打印此页】【关闭窗口】),
neighbour links and the footer. Where the info line is there and page tools or
neighbour links close the body, the labels frame the article and are read alone,
fast. Where they do not, the body comes from trafilatura and a missing date from the
page's metadata (:mod:`feeds.sitemeta`) or htmldate (:mod:`feeds.sitegeneric`).

Pure: no network, no files, no clock; linear in the page's size (the nesting is
capped by :mod:`feeds.nesting`, every regex runs on bounded lines).
"""

from __future__ import annotations

import html as html_lib
import re
from dataclasses import dataclass
from datetime import datetime, time
from typing import Literal

from selectolax.lexbor import LexborNode

from feeds.charset import decode_page
from feeds.dates import parse_date
from feeds.errors import ExtractError
from feeds.extract import innermost
from feeds.lines import _IMG, _SEP, _SPACES, Line, page_lines
from feeds.models import ArticleRecord
from feeds.nesting import parse_page
from feeds.siteinfo import INFO_MAX, Info, find_info, fold, info_like
from feeds.sitemeta import PageMeta, page_meta, split_title, url_date
from feeds.urls import InvalidURL, canonical_url

__all__ = ["Method", "SiteArticle", "extract_site_article", "extract_site_page"]

#: ``auto``: labels where they frame the body, trafilatura where not; the others
#: force one way (for the benchmark).
Method = Literal["auto", "labels", "generic"]

_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_NO_TEXT = frozenset({"head", "script", "style", "noscript", "template", "iframe", "select"})
_SPACE = "[\\s\xa0\u3000]*"
#: On the raw text of an element: a date label followed by a (possibly full-width) year.
_ROOT_DATE = re.compile(
    f"(?:发布时间|发布日期|发表时间|日期|时间){_SPACE}[:：]?{_SPACE}[0-9０-９]{{4}}"
)
#: What closes an article on these sites: page tools or neighbour links.
_ROOT_END = re.compile("打印此页|打印本页|关闭窗口|上一篇|下一篇|上一条|下一条")
#: How far above the info line the heading is looked for.
_TITLE_REACH = 6

_BREADCRUMB = re.compile(r"^(?:您现在的位置|您的位置|当前位置|所在位置|当前页面)")
# Page tools and link boxes that end the article once some body was read.
_STOP = re.compile(
    r"^(?:上一条|下一条|上一篇|下一篇|上一页|下一页)"
    r"|打印此页|打印本页|打印文章|打印\s*】|关闭窗口|关闭本页|【\s*关闭\s*】"
    r"|^(?:相关链接|相关文章|相关新闻|相关阅读|相关信息|延伸阅读|推荐阅读|热点新闻|热门文章)\s*:?$"
)
# The site footer. Words a notice's own body may start with (主办单位：…, 联系我们：电话…)
# end it only together with what only a footer has (承办, 版权, ICP) or as a link row.
_FOOTER = re.compile(
    r"^(?:Copyright|版权所有|©|\(c\)|网站标识码|ICP备|公网安备"
    r"|[京沪浙苏粤蜀鲁鄂皖津闽赣湘豫冀晋辽吉黑桂琼渝川贵云藏陕甘青宁新]ICP"
    r"|主办(?:单位)?\s*:.*(?:承办|技术支持|版权|ICP|网站标识)"
    r"|(?:与我们联系|联系我们|关于我们|网站地图|网站声明|隐私声明|使用帮助)"
    r"(?:\s*[|丨]?\s*(?:与我们联系|联系我们|关于我们|网站地图|网站声明|隐私声明|使用帮助))*$)",
    re.IGNORECASE,
)
# Furniture inside or around the body: dropped, never a paragraph.
_CHROME = re.compile(
    r"^(?:【[^】]{0,12}】\s*)+$|^\[[^\]]{0,12}\]$"
    r"|^[(（]?\s*(?:责任编辑|编辑|审核|校对|作者)\s*:[^。]{0,24}[)）]?$"
    r"|^(?:大|中|小)(?:\s+(?:大|中|小)){2}$"
)
# Page tools, counters and share bars: short lines starting with these words.
_TOOLS = re.compile(
    r"^(?:分享到|分享至|打印(?:此页|本页|文章)?$|收藏本页|加入收藏|返回顶部|字体\s*:|字号\s*:|【\s*字体"
    r"|浏览次数|阅读次数|访问次数|点击数|点击量|浏览量|阅读量|扫一扫|微信扫一扫|用手机扫描|手机扫码)"
)
_TOOLS_MAX = 40


def _is_chrome(text: str) -> bool:
    return _CHROME.match(text) is not None or (
        len(text) <= _TOOLS_MAX and _TOOLS.match(text) is not None
    )


@dataclass(frozen=True, slots=True)
class SiteArticle:
    """A site page's record and how its body was found (``labels`` or ``generic``)."""

    record: ArticleRecord
    body_from: Literal["labels", "generic"]


def extract_site_page(
    content: bytes,
    content_type: str | None,
    url: str,
    source_name: str | None = None,
    method: Method = "auto",
) -> ArticleRecord | str:
    """Decode and read one site page: its record, or the one-line reason it is none.

    Never raises: whatever a hostile page sets off becomes a reason, so one page can
    never end a poll.
    """
    try:
        html = decode_page(content, content_type)
        return extract_site_article(html, url, source_name, method).record
    except ExtractError as exc:
        return _one_line(str(exc).removeprefix(f"{url}: "))
    except Exception as exc:  # any reason at all: the page stands alone
        return _one_line(f"cannot be read: {type(exc).__name__}: {exc}")


def _one_line(text: str, limit: int = 300) -> str:
    text = " ".join(text.split()) or "cannot be read"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _plain(text: str) -> str:
    return _SPACES.sub(" ", text.replace(_SEP, "")).strip()


def extract_site_article(
    html: str, url: str, source_name: str | None = None, method: Method = "auto"
) -> SiteArticle:
    """Read one site page, or raise :class:`ExtractError` saying why it is no article."""
    tree = parse_page(html)
    meta = page_meta(tree)
    base = url if url.startswith(("http://", "https://")) else ""
    title_part, site_from_title = split_title(meta.title_tag)
    body = tree.body or tree.root
    root = _article_root(body, title_part or meta.title)
    lines, plain, folded, info = _read_lines(root, base)
    if info is None and root is not body:  # the narrowing guessed wrong: the whole page
        lines, plain, folded, info = _read_lines(body, base)
    title = _title(lines, plain, info, title_part or meta.title, site_from_title)
    if not title:
        raise ExtractError(f"{url}: no title: no main heading and no <title>")
    published = _published(info, meta, url)
    paragraphs: list[str] = []
    framed = False
    if info is not None:
        paragraphs, framed = _body_lines(lines, plain, folded, info.end, title)
    else:
        heading = _title_line(lines, plain, title)
        if heading is not None:
            paragraphs, framed = _body_lines(lines, plain, folded, heading + 1, title)
    body_from: Literal["labels", "generic"] = "labels"
    if method == "generic" or (method == "auto" and not framed):
        generic = _generic_body(html, base, title, plain[info.start : info.end] if info else [])
        if generic or method == "generic":
            paragraphs, body_from = generic, "generic"
    if published is None and method != "labels":
        from feeds.sitegeneric import generic_date

        published = generic_date(html, base)
    if published is None:
        raise ExtractError(
            f"{url}: no publication date: no 发布时间/发布日期/日期/时间 label with a date "
            "and no date in the page's metadata"
        )
    if not paragraphs:
        raise ExtractError(f"{url}: no body text after the title and info line")
    source = (info.source if info else None) or meta.source or meta.site_name
    source = source or site_from_title or source_name
    content = "".join(paragraphs)
    try:
        canonical = canonical_url(url)
    except InvalidURL:
        canonical = url
    return SiteArticle(
        ArticleRecord(
            url=canonical,
            title=title,
            published=published,
            source=source or None,
            content=content,
            summary=_summary(meta, title, content),
        ),
        body_from,
    )


def _read_lines(
    root: LexborNode | None, base: str
) -> tuple[list[Line], list[str], list[str], Info | None]:
    lines = page_lines(root, base)
    plain = [_plain(line.text) if not line.text.startswith(_IMG) else "" for line in lines]
    folded = [fold(text) if len(text) <= INFO_MAX else "" for text in plain]
    return lines, plain, folded, find_info(folded, plain)


def _article_root(body: LexborNode | None, title: str | None) -> LexborNode | None:
    """The smallest element holding both a labelled date and the page tools or
    neighbour links after the body (its parent when the ``<title>``'s article part is
    not in it: the heading may sit just outside): menus, side lists and footers of a
    big page stay out of the (Python) line pass. Without both, the whole body.

    Each level reads its children's text within a budget (a few passes over the
    page's text), so a deep page stays linear, as in :func:`feeds.extract.article_root`.
    """
    if body is None:
        return None
    text = body.text()
    if _ROOT_DATE.search(text) is None or _ROOT_END.search(text) is None:
        return body
    node = innermost(
        body, len(text), _NO_TEXT,
        lambda t: _ROOT_DATE.search(t) is not None and _ROOT_END.search(t) is not None,
    )
    if node is body or node.parent is None or (title and title in node.text()):
        return node
    return node.parent


def _published(info: Info | None, meta: PageMeta, url: str) -> datetime | None:
    labelled = None
    if info is not None and info.date:
        try:
            labelled = parse_date(info.date)
        except ValueError:
            labelled = None
    if labelled is None:
        return meta.published or url_date(url)
    # A day without a time in the info line, the same day with its time in the
    # metadata (TRS's publishdate): the more precise one.
    if (
        labelled.timetz().replace(tzinfo=None) == time(0)
        and meta.published is not None
        and meta.published.date() == labelled.date()
    ):
        return meta.published
    return labelled


def _matches(text: str, wanted: str | None) -> bool:
    if not wanted or len(text) < 2:
        return False
    return text == wanted or (len(text) >= 4 and (text in wanted or wanted in text))


def _title(
    lines: list[Line], plain: list[str], info: Info | None, wanted: str | None, site: str | None
) -> str | None:
    """The main heading (above the info line, or the one the ``<title>`` names), else
    the ``<title>`` without the site name."""
    if info is not None:
        window = range(info.start - 1, max(-1, info.start - 1 - _TITLE_REACH), -1)
        usable = [j for j in window if plain[j] and not _BREADCRUMB.match(plain[j])]
        for j in usable:
            if lines[j].tag in _HEADINGS and not _is_chrome(plain[j]):
                return plain[j]
        for j in usable:
            if _matches(plain[j], wanted):
                return plain[j]
        return wanted
    headings = [
        j for j, line in enumerate(lines)
        if line.tag in _HEADINGS and plain[j] and plain[j] != site
    ]
    for j in headings:
        if _matches(plain[j], wanted):
            return plain[j]
    h1 = [j for j in headings if lines[j].tag == "h1"]
    if h1 and not wanted:
        return plain[h1[0]]
    return wanted


def _title_line(lines: list[Line], plain: list[str], title: str) -> int | None:
    return next((j for j, text in enumerate(plain) if text == title), None)


def _body_lines(
    lines: list[Line], plain: list[str], folded: list[str], start: int, title: str
) -> tuple[list[str], bool]:
    """Paragraphs from ``start`` to the page tools, neighbour links or footer; also
    whether page tools or neighbour links (not just the footer) closed them."""
    out: list[str] = []
    for j in range(start, len(lines)):
        text = folded[j] or plain[j]
        line = lines[j]
        if line.text.startswith(_IMG):
            src = html_lib.escape(line.text[len(_IMG) :], quote=True)
            out.append(f'<p><img src="{src}" alt=""></p>')
            continue
        if not text:
            continue
        if _FOOTER.match(text):
            return _trim(out), False
        if _STOP.search(text[:80]) and any(p.startswith("<p>") and "<img" not in p for p in out):
            return _trim(out), True
        if _is_chrome(text) or _STOP.search(text[:80]) or (not out and text == title):
            continue
        out.append(f"<p>{html_lib.escape(plain[j], quote=False)}</p>")
    return _trim(out), False


def _trim(paragraphs: list[str]) -> list[str]:
    return paragraphs if any("<img" not in p for p in paragraphs) else []


def _generic_body(html: str, base: str, title: str, info: list[str]) -> list[str]:
    from feeds.sitegeneric import generic_paragraphs

    out: list[str] = []
    skip = {title, *info}
    for shown in generic_paragraphs(html, base):
        shown = _plain(shown)
        if not shown or shown in skip:
            continue
        text = fold(shown[:INFO_MAX])
        if _FOOTER.match(text) or (_STOP.search(text[:80]) and out):
            break
        if _is_chrome(text) or _STOP.search(text[:80]) or info_like(text):
            continue
        out.append(f"<p>{html_lib.escape(shown, quote=False)}</p>")
    return out


def _summary(meta: PageMeta, title: str, content: str) -> str | None:
    """The page's description when it is the article's own (its start is in the
    body), not a site-wide blurb; else none, and feeds take the body's start."""
    description = meta.description
    if not description or description == title or len(description) < 10:
        return None
    probe = html_lib.escape(description[:12], quote=False)
    return description if probe in content else None
