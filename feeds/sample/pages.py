"""HTML of the sample portal: list pages, detail pages in six markups, an about page.

The markups are what the extractor must survive on real portals (SPEC §1):

``div``         a modern div layout, the meta line in one element;
``table``       nested tables, a left menu cell before the content cell;
``split-meta``  every meta field in its own block, labels apart from values,
                breadcrumb separators drawn by CSS, paragraphs cut into spans;
``br``          one body element whose paragraphs are separated by ``<br>``;
``nbsp``        ``&nbsp;`` and full-width spaces and colons everywhere;
``legacy``      upper-case tags, ``<font>``, unclosed ``<p>``, Chinese dates.

Every page carries site furniture that must stay out of the body: a header, a
"热点新闻" box of other titles, print/close links, ``上一条/下一条`` and a footer with
contact lines and a copyright.
"""

# ruff: noqa: E501  (page templates read best with one HTML line per source line)

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from feeds.sample.content import SampleText

VARIANTS = ("div", "table", "split-meta", "br", "nbsp", "legacy")

SITE_NAME = "园区资讯样例站"
DETAIL_PATH = "/index.php/home/news/detail/id/{id}.html"
LIST_PATH = "/index.php/home/news/index/p/{n}.html"
ABOUT_PATH = "/index.php/home/about/index.html"

_FOOTER = """<div class="footer">
<div class="contact-title">与我们联系</div>
<ul class="contact">
<li>联系电话：+86-0571-55550101</li>
<li>传&nbsp;&nbsp;真：+86-0571-55550102</li>
<li>邮&nbsp;&nbsp;箱：contact@sample-portal.example</li>
</ul>
<p class="copy">Copyright &copy; 2015-2025 sample-portal.example All Rights Reserved. 版权所有：园区资讯样例站</p>
</div>"""

_HEADER = """<div class="header"><div class="slogan">汇聚园区动态 服务投资决策</div>
<ul class="nav"><li><a href="/">首页</a></li><li><a href="/index.php/home/news/index/p/1.html">开发区新闻</a></li>
<li><a href="/index.php/home/project/index.html">招商项目</a></li><li><a href="/index.php/home/about/index.html">关于我们</a></li></ul></div>"""


@dataclass(frozen=True, slots=True)
class Link:
    href: str
    title: str


@dataclass(frozen=True, slots=True)
class DetailView:
    """What a detail page shows besides the article: neighbours and hot links."""

    text: SampleText
    variant: str
    charset_meta: str  # the <meta> declaring the charset, or ""
    prev: Link | None  # 上一条
    next: Link | None  # 下一条
    hot: tuple[Link, ...]


def _date(view: DetailView) -> str:
    when = view.text.published
    if view.variant == "legacy":
        text = f"{when.year}年{when.month}月{when.day}日"
        return text + (f" {when:%H:%M}" if (when.hour, when.minute) != (0, 0) else "")
    return f"{when:%Y-%m-%d}" + (f" {when:%H:%M}" if (when.hour, when.minute) != (0, 0) else "")


def _neighbour(label: str, link: Link | None, colon: str = ":") -> str:
    if link is None:
        return f"{label}{colon}没有了"
    return f'{label}{colon}<a href="{link.href}">{escape(link.title)}</a>'


def _hot(view: DetailView, tag: str = "div") -> str:
    items = "".join(f'<li><a href="{h.href}">{escape(h.title)}</a></li>' for h in view.hot)
    return f'<{tag} class="hot"><h3>热点新闻</h3><ul>{items}</ul></{tag}>'


def _head(view: DetailView) -> str:
    return (
        f"<!DOCTYPE html>\n<html lang=\"zh-CN\"><head>{view.charset_meta}"
        f"<title>{escape(view.text.title)} - {SITE_NAME}</title>"
        '<link rel="stylesheet" href="/static/site.css"></head>'
    )


def render_detail(view: DetailView) -> str:
    """The detail page of one article in its markup variant."""
    return _RENDERERS[view.variant](view)


def _div(view: DetailView) -> str:
    t = view.text
    body = "\n".join(f'<p style="text-indent:2em">{escape(p)}</p>' for p in t.paragraphs)
    return f"""{_head(view)}<body>{_HEADER}
<div class="main"><div class="left">
<div class="position">您现在的位置:<a href="/">首页</a> &gt; <a href="/index.php/home/news/index/p/1.html">开发区新闻</a> &gt; <a href="#">{t.region}</a> &gt; <a href="#">{t.category}</a></div>
<div class="article"><h1 class="title">{escape(t.title)}</h1>
<div class="info">发布时间:{_date(view)}&nbsp;&nbsp;来源:{escape(t.source)}&nbsp;&nbsp;发布开发区:{escape(t.zone)}</div>
<div class="article-content">
{body}
</div>
<div class="tools">【<a href="javascript:window.print()">打印本页</a>】【<a href="javascript:window.close()">关闭窗口</a>】</div>
<div class="prevnext"><p>{_neighbour("上一条", view.prev)}</p><p>{_neighbour("下一条", view.next)}</p></div>
</div></div>
<div class="right">{_hot(view)}</div></div>
{_FOOTER}</body></html>"""


def _table(view: DetailView) -> str:
    t = view.text
    body = "\n".join(f"<p>\u3000\u3000{escape(p)}</p>" for p in t.paragraphs)
    hot = "".join(f'<tr><td><a href="{h.href}">{escape(h.title)}</a></td></tr>' for h in view.hot)
    return f"""{_head(view)}<body>
<table width="1000" align="center" cellpadding="0" cellspacing="0"><tr><td>{_HEADER}</td></tr></table>
<table width="1000" align="center" cellpadding="0" cellspacing="0" border="0">
<tr>
<td width="240" valign="top"><table width="100%"><tr><td class="hot-title">热点新闻</td></tr>{hot}</table></td>
<td width="760" valign="top">
<table width="100%" cellpadding="0" cellspacing="0">
<tr><td class="pos">您现在的位置:<a href="/">首页</a> &gt; <a href="/index.php/home/news/index/p/1.html">开发区新闻</a> &gt; {t.region} &gt; {t.category}</td></tr>
<tr><td align="center" height="60"><strong><font size="4">{escape(t.title)}</font></strong></td></tr>
<tr><td align="center" class="meta">发布时间:{_date(view)}</td><td>来源:{escape(t.source)}</td><td>发布开发区:{escape(t.zone)}</td></tr>
<tr><td class="content">
{body}
</td></tr>
<tr><td>{_neighbour("上一条", view.prev)}</td></tr>
<tr><td>{_neighbour("下一条", view.next)}</td></tr>
</table>
</td></tr></table>
<table width="1000" align="center"><tr><td>{_FOOTER}</td></tr></table>
</body></html>"""


def _split(view: DetailView) -> str:
    t = view.text

    def cut(p: str) -> str:
        half = max(1, len(p) // 3)
        return f"<span>{escape(p[:half])}</span><span class=\"hl\">{escape(p[half:])}</span>"

    body = "\n".join(f"<p>{cut(p)}</p>" for p in t.paragraphs)
    return f"""{_head(view)}<body>{_HEADER}
<main>
<nav class="crumbs"><span class="here">您现在的位置</span><a href="/">首页</a><a href="/index.php/home/news/index/p/1.html">开发区新闻</a><a href="#">{t.region}</a><a href="#">{t.category}</a></nav>
<article>
<header><h2>{escape(t.title)}</h2>
<ul class="meta">
<li><label>发布时间</label><span>：</span><time>{_date(view)}</time></li>
<li><label>来源：</label></li><li><em>{escape(t.source)}</em></li>
<li><label>发布开发区</label>:<b>{escape(t.zone)}</b></li>
<li><label>浏览次数：</label><span>1024</span></li>
</ul></header>
<section class="text">
{body}
</section>
<footer class="near"><div>上一条：<a href="{view.prev.href if view.prev else '#'}">{escape(view.prev.title) if view.prev else '没有了'}</a></div>
<div>下一条：<a href="{view.next.href if view.next else '#'}">{escape(view.next.title) if view.next else '没有了'}</a></div></footer>
</article>
{_hot(view, "aside")}
</main>
{_FOOTER}</body></html>"""


def _br(view: DetailView) -> str:
    t = view.text
    body = "<br>\n<br>\n".join(f"&nbsp;&nbsp;&nbsp;&nbsp;{escape(p)}" for p in t.paragraphs)
    return f"""{_head(view)}<body>{_HEADER}
<div class="wrap">
<div class="crumb">您现在的位置:<a href="/">首页</a> &gt; <a href="/index.php/home/news/index/p/1.html">开发区新闻</a> &gt; <a href="#">{t.region}</a> &gt; <a href="#">{t.category}</a></div>
<div class="tit">{escape(t.title)}</div>
<div class="sub">发布时间:{_date(view)}  来源:{escape(t.source)}  发布开发区:{escape(t.zone)}</div>
<div id="zoom">{body}<br>
</div>
<div class="share">分享到：<a href="#">微信</a> <a href="#">微博</a></div>
<div class="pn">{_neighbour("上一条", view.prev)}<br>{_neighbour("下一条", view.next)}</div>
</div>
{_hot(view)}
{_FOOTER}</body></html>"""


def _nbsp(view: DetailView) -> str:
    t = view.text
    body = "\n<p>&nbsp;</p>\n".join(f"<p>\u3000\u3000{escape(p)}&nbsp;</p>" for p in t.paragraphs)
    return f"""{_head(view)}<body>{_HEADER}
<div class="box">
<div class="loc">您现在的位置：首页&nbsp;&gt;&nbsp;开发区新闻&nbsp;&gt;&nbsp;{t.region}&nbsp;&gt;&nbsp;{t.category}</div>
<div class="ttl">&nbsp;{escape(t.title)}\u3000</div>
<div class="inf">发布时间：{_date(view)}\u3000\u3000来源：&nbsp;{escape(t.source)}&nbsp;&nbsp;&nbsp;发布开发区：\u3000{escape(t.zone)}</div>
<div class="con">
{body}
</div>
<div class="pn">{_neighbour("上一条", view.prev, "：")}</div>
<div class="pn">{_neighbour("下一条", view.next, "：")}</div>
</div>
{_hot(view)}
{_FOOTER}</body></html>"""


def _legacy(view: DetailView) -> str:
    t = view.text
    body = "\n".join(f"<P><FONT face=宋体 size=3>{escape(p)}</FONT>" for p in t.paragraphs)
    return f"""<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01 Transitional//EN">
<HTML><HEAD>{view.charset_meta}<TITLE>{escape(t.title)}_{SITE_NAME}</TITLE></HEAD>
<BODY BGCOLOR=#FFFFFF>
<CENTER><FONT COLOR=#003399>汇聚园区动态 服务投资决策</FONT></CENTER>
<TABLE WIDTH=900 ALIGN=CENTER><TR><TD>
<FONT SIZE=2>您现在的位置:首页 &gt; 开发区新闻 &gt; {t.region} &gt; {t.category}</FONT>
</TD></TR><TR><TD ALIGN=CENTER><H3><FONT COLOR=RED>{escape(t.title)}</FONT></H3></TD></TR>
<TR><TD ALIGN=CENTER><FONT SIZE=2>发布时间:{_date(view)}&nbsp;&nbsp;来源:{escape(t.source)}&nbsp;&nbsp;发布开发区:{escape(t.zone)}</FONT></TD></TR>
<TR><TD>
{body}
</TD></TR>
<TR><TD>{_neighbour("上一条", view.prev)}<BR>{_neighbour("下一条", view.next)}</TD></TR>
</TABLE>
<CENTER>{_FOOTER}</CENTER>
</BODY></HTML>"""


_RENDERERS = {
    "div": _div, "table": _table, "split-meta": _split, "br": _br, "nbsp": _nbsp,
    "legacy": _legacy,
}


def render_list(
    items: list[tuple[Link, str]], page: int, pages: int, *, hot: tuple[Link, ...] = ()
) -> str:
    """List page ``page`` of ``pages``: (link, date) items, newest first, and a pager."""
    rows = "\n".join(
        f'<li><a href="{link.href}" title="{escape(link.title)}">{escape(link.title)}</a>'
        f"<span class=\"date\">{date}</span></li>"
        for link, date in items
    )
    pager = [f'<a href="{LIST_PATH.format(n=1)}">首页</a>']
    if page > 1:
        pager.append(f'<a href="{LIST_PATH.format(n=page - 1)}">上一页</a>')
    for n in range(max(1, page - 2), min(pages, page + 2) + 1):
        pager.append(
            f'<span class="current">{n}</span>' if n == page
            else f'<a href="{LIST_PATH.format(n=n)}">{n}</a>'
        )
    if page < pages:
        pager.append(f'<a href="{LIST_PATH.format(n=page + 1)}">下一页</a>')
    else:
        pager.append('<span class="disabled">下一页</span>')
    pager.append(f'<a href="{LIST_PATH.format(n=pages)}">尾页</a>')
    hot_items = "".join(f'<li><a href="{h.href}">{escape(h.title)}</a></li>' for h in hot)
    return f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>开发区新闻 第{page}页 - {SITE_NAME}</title></head>
<body>{_HEADER}
<div class="position">您现在的位置:<a href="/">首页</a> &gt; 开发区新闻</div>
<ul class="news-list">
{rows}
</ul>
<div class="pager">{"".join(pager)}</div>
<div class="side"><h3>推荐阅读</h3><ul>{hot_items}</ul></div>
{_FOOTER}</body></html>"""


def render_about() -> str:
    """A page that is not an article: no meta line."""
    return f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>关于我们 - {SITE_NAME}</title></head>
<body>{_HEADER}
<div class="position">您现在的位置:<a href="/">首页</a> &gt; 关于我们</div>
<h1>关于我们</h1>
<p>本站是 zonewire 自带的样例门户，页面布局仿照开发区新闻门户，文章内容均为程序生成的虚构资讯。</p>
<p>它用于演示和测试：抓取、解析、按园区和区县生成订阅源。</p>
{_FOOTER}</body></html>"""


def render_robots(disallow: tuple[str, ...]) -> str:
    lines = ["User-agent: *", *(f"Disallow: {path}" for path in disallow), ""]
    return "\n".join(lines)
