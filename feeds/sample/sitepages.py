"""HTML of the sample zone website: a government CMS layout unlike the portal's.

Detail pages put the title in ``<h1>``, then an info line (发布时间：… 信息来源：…
浏览次数：…) with the date written three ways in turn (``2023-01-02 09:15``,
``2023/01/02 09:15``, ``2023年01月02日 09:15``), the body in ``<p>`` paragraphs,
then 【打印此页】【关闭窗口】, 上一篇/下一篇, a 图片新闻 side box and a footer with
主办/承办 and an ICP number: chrome the site reading must keep out of the body.
List pages (TRS style ``index.html``, ``index_1.html``, …) end with a pager whose
``下一页`` links the next page. All text is invented.
"""

# ruff: noqa: E501  (page templates read best with one HTML line per source line)

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from html import escape

from feeds.sample.content import SampleText
from feeds.sample.pages import Link

SITE_NAME = "乍浦湾临港开发区管理委员会"
LIST_FIRST = "/zwgk/yqdt/index.html"
LIST_MORE = "/zwgk/yqdt/index_{n}.html"  # list page n + 1, as TRS numbers them
DETAIL_PATH = "/zwgk/yqdt/{month}/t{day}_{id}.html"
#: The ``detail_pattern`` a site source needs for the sample site.
DETAIL_PATTERN = r"/zwgk/yqdt/\d{6}/t\d{8}_\d+\.html"

_NAV = ("首页", "园区概况", "园区动态", "政务公开", "投资服务", "互动交流")

_HEADER = (
    '<div class="top"><div class="logo"><a href="/"><img src="/images/logo.png" alt=""></a></div>'
    '<ul class="nav">' + "".join(f'<li><a href="/c{i}/">{n}</a></li>' for i, n in enumerate(_NAV)) + "</ul></div>"
)

_FOOTER = f"""<div class="foot"><p>主办单位：{SITE_NAME}&nbsp;&nbsp;承办单位：园区党政办公室信息中心</p>
<p>地址：嘉兴市平湖市临港大道88号&nbsp;&nbsp;邮编：314200</p>
<p>版权所有 &copy; 2019-2025 {SITE_NAME}&nbsp;&nbsp;浙ICP备00000000号-2</p>
<p>网站标识码：3300000099</p></div>"""


def list_path(n: int) -> str:
    """The path of list page ``n`` (1 is the newest)."""
    return LIST_FIRST if n == 1 else LIST_MORE.format(n=n - 1)


def detail_path(number: int, published: datetime) -> str:
    return DETAIL_PATH.format(month=f"{published:%Y%m}", day=f"{published:%Y%m%d}", id=number)


@dataclass(frozen=True, slots=True)
class SiteView:
    """What a detail page shows: the article, its neighbours, the side box."""

    text: SampleText
    style: int  # which way the date is written (0, 1, 2)
    charset_meta: str
    hits: int
    prev: Link | None  # 上一篇 (newer)
    next: Link | None  # 下一篇 (older)
    side: tuple[Link, ...]


def _date(when: datetime, style: int) -> str:
    clock = "" if (when.hour, when.minute) == (0, 0) else f" {when:%H:%M}"
    if style == 1:
        return f"{when:%Y/%m/%d}{clock}"
    if style == 2:
        return f"{when.year}年{when.month:02d}月{when.day:02d}日{clock}"
    return f"{when:%Y-%m-%d}{clock}"


def _neighbour(label: str, link: Link | None) -> str:
    if link is None:
        return f"<p>{label}：没有了</p>"
    return f'<p>{label}：<a href="{link.href}">{escape(link.title)}</a></p>'


def _side(links: tuple[Link, ...]) -> str:
    items = "".join(f'<li><a href="{s.href}">{escape(s.title)}</a></li>' for s in links)
    return f'<div class="side"><div class="side-title">图片新闻</div><ul>{items}</ul></div>'


def render_site_detail(view: SiteView) -> str:
    t = view.text
    body = "\n".join(f"<p>{escape(p, quote=False)}</p>" for p in t.paragraphs)
    return f"""<!DOCTYPE html>
<html lang="zh-CN"><head>{view.charset_meta}<meta name="keywords" content="园区动态">
<title>{escape(t.title)}_园区动态_{SITE_NAME}</title></head>
<body>{_HEADER}
<div class="location">当前位置：<a href="/">首页</a> &gt; <a href="/zwgk/">政务公开</a> &gt; <a href="{LIST_FIRST}">园区动态</a></div>
<div class="wrap"><div class="article">
<h1>{escape(t.title)}</h1>
<div class="info">发布时间：{_date(t.published, view.style)}&nbsp;&nbsp;&nbsp;信息来源：{escape(t.source)}&nbsp;&nbsp;&nbsp;浏览次数：<span class="hits">{view.hits}</span></div>
<div class="fontsize">【字号：<a href="#">大</a> <a href="#">中</a> <a href="#">小</a>】</div>
<div class="content">
{body}
</div>
<div class="tools">【<a href="javascript:window.print()">打印此页</a>】【<a href="javascript:window.close()">关闭窗口</a>】</div>
<div class="share">分享到：<a href="#">微信</a> <a href="#">微博</a></div>
<div class="prenext">{_neighbour("上一篇", view.prev)}{_neighbour("下一篇", view.next)}</div>
</div>{_side(view.side)}</div>
{_FOOTER}</body></html>"""


def render_site_list(items: list[tuple[Link, datetime]], page: int, pages: int) -> str:
    """List page ``page`` of ``pages``, newest first, with 首页/上一页/下一页/尾页."""
    rows = "\n".join(
        f'<li><span class="date">[{when:%Y-%m-%d}]</span><a href="{link.href}" target="_blank" '
        f'title="{escape(link.title)}">{escape(link.title)}</a></li>'
        for link, when in items
    )
    pager = [f'<a href="{list_path(1)}">首页</a>']
    pager.append(f'<a href="{list_path(page - 1)}">上一页</a>' if page > 1 else "<span>上一页</span>")
    pager.append(f'<a href="{list_path(page + 1)}">下一页</a>' if page < pages else "<span>下一页</span>")
    pager.append(f'<a href="{list_path(pages)}">尾页</a>')
    pager.append(f"<span>第{page}页/共{pages}页</span>")
    return f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>园区动态_{SITE_NAME}</title></head>
<body>{_HEADER}
<div class="location">当前位置：<a href="/">首页</a> &gt; 园区动态</div>
<div class="list"><ul>
{rows}
</ul>
<div class="page">{" ".join(pager)}</div></div>
{_FOOTER}</body></html>"""


def render_site_home() -> str:
    """The home page: not an article, links to the news list."""
    return f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{SITE_NAME}</title></head>
<body>{_HEADER}<div class="wrap"><p><a href="{LIST_FIRST}">园区动态</a></p>
<p>本站是 zonewire 自带的样例园区网站，文章内容均为程序生成的虚构资讯。</p></div>
{_FOOTER}</body></html>"""
