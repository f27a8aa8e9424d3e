"""`zonewire extract PAGE`: parse one article page and print it as a JSONL record.

For checking a portal's or a zone site's layout before pointing a source at it
(SPEC §4): a page that is not an article prints the reason and exits 1. ``--site``
reads the page as a zone or government site page (SPEC §1, ``type: site``); without
it a page the portal reading refuses is tried as a site page, and the reasons of both
are printed when neither reads it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from feeds.charset import decode_page
from feeds.errors import ExtractError, FetchError
from feeds.extract import extract_article
from feeds.models import ArticleRecord
from feeds.siteextract import extract_site_page
from feeds.sources.jsonl import record_to_json
from notifier.app import App
from notifier.errors import UsageError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("page", metavar="PAGE", help="an article page: a file or an http(s) URL")
    parser.add_argument(
        "--url", metavar="URL",
        help="the article's URL for a page read from a file (default: the file's file:// URI)",
    )
    parser.add_argument(
        "--site", action="store_true",
        help="read it as a zone or government site page (type: site), not a portal page",
    )
    parser.add_argument(
        "--source-name", metavar="NAME",
        help="the source's name, the article's source when the page names none (with --site)",
    )


def _fetch(url: str, app: App) -> tuple[bytes, str | None, str]:
    """Body, Content-Type and final URL of one page, with the crawler's limits."""
    import httpx

    crawl = app.settings.crawl
    try:
        with httpx.Client(
            headers={"User-Agent": crawl.user_agent},
            timeout=crawl.timeout.total_seconds(),
            follow_redirects=True,
        ) as client:
            response = client.get(url)
    except httpx.HTTPError as exc:
        raise FetchError(url, f"{type(exc).__name__}: {exc or 'no detail'}") from exc
    if response.status_code != 200:
        raise FetchError(url, f"HTTP {response.status_code} {response.reason_phrase}")
    if len(response.content) > crawl.max_page_bytes:
        raise FetchError(url, f"page larger than crawl.max_page_bytes ({crawl.max_page_bytes})")
    return response.content, response.headers.get("content-type"), str(response.url)


def run(args: argparse.Namespace, app: App) -> int:
    page: str = args.page
    if page.startswith(("http://", "https://")):
        body, content_type, url = _fetch(page, app)
        url = args.url or url
    else:
        path = Path(page)
        if not path.is_file():
            raise UsageError(f"{page}: no such file (give a file path or an http(s) URL)")
        body, content_type = path.read_bytes(), None
        url = args.url or path.resolve().as_uri()
    source_name: str | None = args.source_name
    if args.site:
        record = _site(body, content_type, url, source_name, "")
    else:
        try:
            record = extract_article(decode_page(body, content_type), url)
        except ExtractError as portal:
            record = _site(body, content_type, url, source_name, f"{portal}; as a site page: ")
    print(record_to_json(record))
    return 0


def _site(
    body: bytes, content_type: str | None, url: str, source_name: str | None, before: str
) -> ArticleRecord:
    found = extract_site_page(body, content_type, url, source_name)
    if isinstance(found, str):
        raise ExtractError(f"{before or url + ': '}{found}")
    return found
