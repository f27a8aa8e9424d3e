"""Extraction speed on one core: ``python bench/extract.py [--articles N]``.

Prints pages/s of :func:`feeds.extract.extract_article` over the sample portal's
detail pages (every markup variant and charset case), with and without decoding,
and the ratio to bare selectolax parsing of the same pages measured in the same run.
Also runs the same pages padded to about 60 KB with site furniture (menus, link
boxes, scripts), the size of a real portal page. Target: at least 500 pages/s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

import _root  # noqa: E402, F401  (bench/feeds.py must not shadow the package)
from selectolax.lexbor import LexborHTMLParser  # noqa: E402

from feeds.charset import decode_page  # noqa: E402
from feeds.extract import extract_article  # noqa: E402
from feeds.sample import SamplePortal  # noqa: E402

_MENU = "".join(
    f"<ul class='col'><li class='h'>栏目{c}</li>"
    + "".join(f"<li><a href='/index.php/home/list/{c}/{i}.html'>园区服务事项第{i}项</a></li>"
              for i in range(40))
    + "</ul>"
    for c in range(12)
)
_SCRIPT = "var cfg = {" + ",".join(f"k{i}: '{'x' * 20}'" for i in range(200)) + "};"
_FURNITURE = f"<div class='mega-menu'>{_MENU}</div><script>{_SCRIPT}</script>"

Item = tuple[bytes, str | None, str]


def _pages(articles: int, padded: bool) -> list[Item]:
    portal = SamplePortal(seed=1, articles=articles)
    out = []
    for page in portal.pages():
        response = portal.respond("GET", page.path, {})
        body = response.body
        if padded:
            extra = _FURNITURE.encode("utf-8" if page.charset == "utf-8" else "gb18030")
            body = body.replace(b"<body>", b"<body>" + extra, 1)
            body = body.replace(b"<BODY BGCOLOR=#FFFFFF>", b"<BODY>" + extra, 1)
        out.append((body, response.headers.get("Content-Type"), portal.url(page.path)))
    return out


def _rate(count: int, work: Callable[[], object], rounds: int) -> float:
    """Best of ``rounds``: pages per second of one pass of ``work`` over ``count`` pages."""
    best = 0.0
    for _ in range(rounds):
        start = time.perf_counter()
        work()
        best = max(best, count / (time.perf_counter() - start))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description="extraction pages/s on one core")
    parser.add_argument("--articles", type=int, default=600)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core, as promised
    for padded in (False, True):
        pages = _pages(args.articles, padded)
        texts = [(decode_page(body, ctype), url) for body, ctype, url in pages]
        n = len(pages)
        kb = statistics.mean(len(body) for body, _, _ in pages) / 1024

        parse = _rate(n, lambda t=texts: [LexborHTMLParser(x) for x, _ in t], args.rounds)
        extract = _rate(n, lambda t=texts: [extract_article(x, u) for x, u in t], args.rounds)
        full = _rate(
            n, lambda p=pages: [extract_article(decode_page(b, c), u) for b, c, u in p], args.rounds
        )
        label = "sample pages padded to portal size" if padded else "sample pages"
        verdict = "ok" if full >= 500 else "MISSED"
        print(f"{label}: {n} pages, mean {kb:.1f} KB")
        print(f"  bare selectolax parse  {parse:8.0f} pages/s")
        ratio = extract / parse
        print(f"  extract_article        {extract:8.0f} pages/s  ratio to bare parse {ratio:.2f}")
        print(f"  decode + extract       {full:8.0f} pages/s  target >= 500: {verdict}")


if __name__ == "__main__":
    main()
