"""Crawl a 2,000-article sample portal into a fresh SQLite store.

Prints pages/s for a first poll (backfill) of the portal through the real crawler
(robots.txt, per-host limits, retries, charset decoding, extraction, placing and
storing) and the ratio to bare httpx fetching the same URLs with the same
concurrency, measured in the same run against the same server (target: ratio at
least 0.5). Then extraction alone: decode + extract of every detail page on one
core (target: at least 500 pages/s).

The portal runs in a subprocess so its threads do not share this process's GIL.

    .venv/bin/python bench/crawl.py [--articles 2000] [--concurrency 8] [--rounds 2]
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import _root  # noqa: E402, F401  (bench/feeds.py must not shadow the package)
import httpx

from feeds.charset import decode_page  # noqa: E402
from feeds.extract import extract_article  # noqa: E402
from feeds.intake import load_zones  # noqa: E402
from feeds.models import CrawlPolicy, PortalSource  # noqa: E402
from feeds.regions import Gazetteer  # noqa: E402
from feeds.sample import DETAIL_PATTERN, LIST_PATH, SamplePortal  # noqa: E402
from feeds.sources.fetch import Fetcher  # noqa: E402
from feeds.sources.poll import IngestReport, ingest_source  # noqa: E402
from feeds.storage import Storage  # noqa: E402

SERVER = """
import sys
from feeds.sample import SamplePortal, serve_portal
portal = SamplePortal(seed=int(sys.argv[1]), articles=int(sys.argv[2]))
server = serve_portal(portal)
print(server.base_url, flush=True)
sys.stdin.read()
server.close()
"""


def start_portal(seed: int, articles: int) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(seed), str(articles)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip()


async def bare_fetch(urls: list[str], concurrency: int) -> dict[str, tuple[bytes, str | None]]:
    """The baseline: httpx alone, ``concurrency`` requests in flight, bodies kept."""
    limit = asyncio.Semaphore(concurrency)
    out: dict[str, tuple[bytes, str | None]] = {}
    pool = min(16, concurrency * 4)
    limits = httpx.Limits(max_connections=pool, max_keepalive_connections=pool)
    async with httpx.AsyncClient(limits=limits, timeout=20) as client:

        async def one(url: str) -> None:
            async with limit:
                response = await client.get(url)
                response.raise_for_status()
                out[url] = (response.content, response.headers.get("Content-Type"))

        await asyncio.gather(*(one(u) for u in urls))
    return out


def crawl_once(
    base_url: str, concurrency: int, articles: int, workdir: Path
) -> tuple[float, IngestReport]:
    database = workdir / f"crawl-{time.monotonic_ns()}.db"
    store = Storage.open(f"sqlite:///{database}")
    gazetteer = load_zones(Gazetteer.default(), store)
    source = PortalSource(
        name="sample", base_url=base_url, list_urls=(LIST_PATH.format(n=1),),
        detail_pattern=DETAIL_PATTERN, max_pages=articles // 10 + 10,
    )
    policy = CrawlPolicy(per_host_concurrency=concurrency, per_host_delay=timedelta(0),
                         retries=1, backoff=timedelta(milliseconds=100))

    async def main() -> IngestReport:
        async with Fetcher(policy) as fetcher:
            return await ingest_source(source, store, gazetteer, fetcher, datetime.now(UTC))

    start = time.perf_counter()
    report = asyncio.run(main())
    elapsed = time.perf_counter() - start
    store.close()
    return elapsed, report


def extraction_rate(pages: list[tuple[str, bytes, str | None]]) -> float:
    start = time.perf_counter()
    for url, body, content_type in pages:
        extract_article(decode_page(body, content_type), url)
    return len(pages) / (time.perf_counter() - start)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2, help="best of N for each side")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    local = SamplePortal(seed=args.seed, articles=args.articles)
    proc, base_url = start_portal(args.seed, args.articles)
    try:
        list_urls = [base_url + LIST_PATH.format(n=n) for n in range(1, local.list_pages() + 1)]
        detail_urls = [base_url + page.path for page in local.pages()]
        urls = list_urls + detail_urls
        print(f"sample portal {base_url}: {args.articles} articles, {len(list_urls)} list pages, "
              f"concurrency {args.concurrency}, per-host delay 0")

        # Warm the portal's page cache so both sides meet the same server.
        bodies = asyncio.run(bare_fetch(urls, args.concurrency))

        bare_best = crawl_best = float("inf")
        report: IngestReport | None = None
        with tempfile.TemporaryDirectory() as tmp:
            for _ in range(args.rounds):
                start = time.perf_counter()
                asyncio.run(bare_fetch(urls, args.concurrency))
                bare_best = min(bare_best, time.perf_counter() - start)
                elapsed, report = crawl_once(base_url, args.concurrency, args.articles, Path(tmp))
                crawl_best = min(crawl_best, elapsed)
        assert report is not None
        if report.new != args.articles or report.failed:
            print(f"crawl stored {report.new} of {args.articles}, {report.failed} failed: "
                  f"{report.errors[:3]}", file=sys.stderr)
            return 1
        pages = report.pages_fetched + 1  # + robots.txt
        bare_rate = len(urls) / bare_best
        crawl_rate = pages / crawl_best
        print(f"bare httpx:  {len(urls)} pages in {bare_best:.2f}s = {bare_rate:,.0f} pages/s")
        print(f"crawl+store: {pages} pages in {crawl_best:.2f}s = {crawl_rate:,.0f} pages/s "
              f"({report.new} articles stored)")
        ratio = crawl_rate / bare_rate
        print(f"ratio crawl/bare: {ratio:.2f} (target >= 0.5) {'OK' if ratio >= 0.5 else 'BELOW'}")

        details = [(u, *bodies[u]) for u in detail_urls]
        rate = max(extraction_rate(details) for _ in range(args.rounds))
        print(f"extraction alone: {rate:,.0f} pages/s on one core "
              f"(target >= 500) {'OK' if rate >= 500 else 'BELOW'}")
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
