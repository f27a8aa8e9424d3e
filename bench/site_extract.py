"""Site pages: label-based reading vs trafilatura, per layout (issue 15).

``python bench/site_extract.py [--pages N] [--no-pad]``

Renders N made-up pages in each test layout (``tests/data/sites/layouts.py``: info
line under ``<h1>``, tables, TRS, GB2312, split info, no labels, body running into a
side list), padded by default with a 23 KB mega-menu like a real site's header, and
reads them three ways:

- ``labels``: :func:`feeds.siteextract.extract_site_page` with ``method="labels"``;
- ``trafilatura``: trafilatura 2 alone (``bare_extraction`` with metadata, htmldate
  inside it) on the same decoded page: title, date, ``sitename`` as the source, text;
- ``auto``: what zonewire does, labels where they frame the body, trafilatura where not.

Prints, per layout and way, the share of pages whose title, date (to the minute the
page states), day, source and body (every paragraph, nothing else) are exactly right,
and pages/s on one core.
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import _root  # noqa: E402, F401  (bench/feeds.py must not shadow the package)

from feeds.charset import decode_page  # noqa: E402
from feeds.models import CHINA_TZ  # noqa: E402
from feeds.nesting import cap_nesting  # noqa: E402
from feeds.siteextract import extract_site_page  # noqa: E402
from tests.data.sites.layouts import LAYOUTS, Rendered, SitePage, make_page  # noqa: E402

_MENU = "".join(
    f"<ul class='col'><li class='h'>栏目{c}</li>"
    + "".join(f"<li><a href='/list/{c}/{i}.html'>园区服务事项第{i}项</a></li>" for i in range(30))
    + "</ul>"
    for c in range(12)
)
FIELDS = ("title", "date", "day", "source", "body")

Found = tuple[str | None, datetime | None, str | None, list[str]]


def _pad(rendered: Rendered, layout: str) -> Rendered:
    codec = "gb18030" if layout == "gb2312" else "utf-8"
    text = rendered.body.decode(codec).replace(
        "<body>", f"<body><div class='mega-menu'>{_MENU}</div>", 1
    )
    return Rendered(text.encode(codec), rendered.url, rendered.content_type, rendered.source,
                    rendered.published)


def _zonewire(method: str) -> Callable[[Rendered], Found]:
    import html
    import re

    def read(r: Rendered) -> Found:
        found = extract_site_page(r.body, r.content_type, r.url, None, method)  # type: ignore[arg-type]
        if isinstance(found, str):
            return None, None, None, []
        paragraphs = [html.unescape(p) for p in re.findall(r"<p>(.*?)</p>", found.content)]
        return found.title, found.published, found.source, paragraphs

    return read


def _trafilatura(r: Rendered) -> Found:
    import lxml.html
    from trafilatura import bare_extraction

    from feeds.sitegeneric import _config

    # A tree, never a string: given a URL-like string, trafilatura would fetch it.
    tree = lxml.html.document_fromstring(cap_nesting(decode_page(r.body, r.content_type)))
    doc: Any = bare_extraction(
        tree, url=r.url, with_metadata=True, include_comments=False, favor_precision=True,
        config=_config(),
    )
    if doc is None:
        return None, None, None, []
    published = None
    if doc.date:
        published = datetime.fromisoformat(doc.date[:10]).replace(tzinfo=CHINA_TZ)
    text = doc.text or ""
    paragraphs = [" ".join(line.split()) for line in text.split("\n") if line.strip()]
    return doc.title, published, doc.sitename, paragraphs


def _score(page: SitePage, rendered: Rendered, found: Found) -> dict[str, bool]:
    title, published, source, paragraphs = found
    return {
        "title": title == page.title,
        "date": published == rendered.published,
        "day": published is not None and published.date() == rendered.published.date(),
        "source": source == rendered.source,
        "body": paragraphs == list(page.paragraphs),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=40, help="pages per layout (default 40)")
    parser.add_argument("--no-pad", action="store_true", help="leave out the mega-menu")
    args = parser.parse_args()
    rng = random.Random(15)
    ways: dict[str, Callable[[Rendered], Found]] = {
        "labels": _zonewire("labels"), "trafilatura": _trafilatura, "auto": _zonewire("auto"),
    }
    # Warm up: imports (dateparser takes a second) are not the extractor's speed.
    warm = LAYOUTS["no-labels"](make_page(rng, 0))
    for read in ways.values():
        read(warm)
    sizes = []
    header = f"{'layout':<11} {'way':<12}" + "".join(f"{f:>8}" for f in FIELDS) + f"{'pages/s':>10}"
    print(header)
    print("-" * len(header))
    totals: dict[str, dict[str, int]] = {w: dict.fromkeys(FIELDS, 0) for w in ways}
    seconds: dict[str, float] = dict.fromkeys(ways, 0.0)
    count = 0
    for layout, render in LAYOUTS.items():
        pages = [make_page(rng, n + 1) for n in range(args.pages)]
        rendered = [render(p) if args.no_pad else _pad(render(p), layout) for p in pages]
        sizes += [len(r.body) for r in rendered]
        count += len(pages)
        for way, read in ways.items():
            right = dict.fromkeys(FIELDS, 0)
            start = time.perf_counter()
            found = [read(r) for r in rendered]
            took = time.perf_counter() - start
            seconds[way] += took
            for page, r, f in zip(pages, rendered, found, strict=True):
                for field, ok in _score(page, r, f).items():
                    right[field] += ok
                    totals[way][field] += ok
            cells = "".join(f"{right[f] / len(pages):>8.0%}" for f in FIELDS)
            print(f"{layout:<11} {way:<12}{cells}{len(pages) / took:>10.0f}")
    print("-" * len(header))
    for way in ways:
        cells = "".join(f"{totals[way][f] / count:>8.0%}" for f in FIELDS)
        print(f"{'all':<11} {way:<12}{cells}{count / seconds[way]:>10.0f}")
    print(f"\n{count} pages, {sum(sizes) / len(sizes) / 1024:.0f} KB on average "
          f"({'no menu' if args.no_pad else f'with a {len(_MENU.encode()) // 1024} KB menu'});"
          " one core")


if __name__ == "__main__":
    main()
