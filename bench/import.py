"""Import 100,000 generated articles into a fresh SQLite store.

Prints articles/s for ``zonewire import`` (run as a user runs it, in a subprocess, so
start-up and peak memory are its own) and the ratio to a bare ``sqlite3``
``executemany`` of the same rows measured in the same run: the very article and
region-link rows the import stored, into a fresh file with the same schema. That
baseline is the database's own floor; the ratio is what parsing, validating,
canonicalising, placing and de-duplicating cost on top of it.

Targets (issue 2): >= 5,000 articles/s, >= 0.25 of the bare insert rate, peak memory
under 300 MB.

    python bench/import.py [--articles N]
"""

from __future__ import annotations

import argparse
import json
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import _root  # noqa: F401  (bench/feeds.py must not shadow the package)

PLACES = [
    ("西城区", "中关村科技园区德胜园"),
    ("嘉兴", "嘉兴港区"),
    ("海淀区", None),
    ("苏州", "苏州工业园区"),
    ("宁波", "宁波保税区"),
    ("长春", "长春新区"),
    ("杭州", "杭州经济技术开发区"),
    ("合肥", "合肥高新技术产业开发区"),
]


def articles(count: int) -> Iterator[dict[str, str]]:
    for n in range(count):
        region, zone = PLACES[n % len(PLACES)]
        zone_name = f"{zone}{n % 300}号园" if zone else None
        data = {
            "url": f"https://bench.example.org/index.php/home/news/detail/id/{n}.html",
            "title": f"第{n}号重点项目签约落地,总投资{n % 97 + 1}亿元",
            "published": f"2024-{n % 12 + 1:02d}-{n % 28 + 1:02d}",
            "source": f"{region}融媒体中心",
            "region": region,
            "category": "文字新闻",
            "content": "<p>" + "项目建成后将带动上下游产业集聚发展。" * 20 + "</p>",
        }
        if zone_name:
            data["zone"] = zone_name
        yield data


def bare_insert(source_db: Path, target_db: Path) -> tuple[float, int]:
    """The floor: the rows zonewire stored, inserted again by bare sqlite3.

    Reads every article row and region-link row the import wrote, creates the same
    schema in a fresh file, and times plain ``executemany`` of those rows in
    transactions of 1,000 articles, as the import does.
    """
    from feeds.storage.engine import create_engine, migrate

    engine = create_engine(f"sqlite:///{target_db}")
    migrate(engine)
    engine.dispose()
    src = sqlite3.connect(source_db)
    columns = [row[1] for row in src.execute("PRAGMA table_info(articles)")]
    articles_rows = src.execute(
        f"SELECT {', '.join(columns)} FROM articles ORDER BY seq"
    ).fetchall()
    links = src.execute(
        "SELECT article_seq, region_key FROM article_regions ORDER BY article_seq"
    ).fetchall()
    src.close()
    conn = sqlite3.connect(target_db)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    insert_article = (
        f"INSERT INTO articles ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    )
    start = time.perf_counter()
    link_at = 0
    for i in range(0, len(articles_rows), 1000):
        batch = articles_rows[i : i + 1000]
        last_seq = batch[-1][0]
        end = link_at
        while end < len(links) and links[end][0] <= last_seq:
            end += 1
        with conn:
            conn.executemany(insert_article, batch)
            conn.executemany(
                "INSERT INTO article_regions (article_seq, region_key) VALUES (?, ?)",
                links[link_at:end],
            )
        link_at = end
    elapsed = time.perf_counter() - start
    conn.close()
    return elapsed, len(links)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--articles", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        source = work / "articles.jsonl"
        with source.open("w", encoding="utf-8") as out:
            for data in articles(args.articles):
                out.write(json.dumps(data, ensure_ascii=False) + "\n")
        (work / "config").mkdir()
        (work / "config" / "zonewire.yaml").write_text("database: sqlite:///var/bench.db\n")

        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "notifier", "import", str(source)],
            cwd=work,
            capture_output=True,
            text=True,
        )
        elapsed = time.perf_counter() - start
        if done.returncode != 0:
            sys.exit(f"import failed:\n{done.stderr}")
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024

        bare, link_count = bare_insert(work / "var" / "bench.db", work / "bare.db")

    rate = args.articles / elapsed
    bare_rate = args.articles / bare
    print(f"zonewire import: {args.articles} articles in {elapsed:.2f} s = {rate:,.0f} articles/s")
    print(f"  ({done.stdout.strip()})")
    print(
        f"bare sqlite3 executemany of the same stored rows ({args.articles} articles + "
        f"{link_count} region links, same schema): {bare:.2f} s = {bare_rate:,.0f} articles/s"
    )
    print(f"ratio to bare: {rate / bare_rate:.2f} (target >= 0.25)")
    print(f"peak memory of the import process: {peak_mb:.0f} MB (target < 300 MB)")
    ok = rate >= 5000 and rate / bare_rate >= 0.25 and peak_mb < 300
    print("targets met" if ok else "TARGETS MISSED")


if __name__ == "__main__":
    main()
