"""Import 100,000 generated articles into a fresh SQLite store, two ways.

1. The whole ``zonewire import`` command, run as a user runs it (a subprocess:
   start-up, migrations, reading and parsing the JSONL, placing, storing; peak
   memory is its own).
2. The steady-state insert rate: the records already parsed, ``Ingestor.add`` into
   a freshly migrated store, in this process (what a long import runs at once
   start-up is paid).

Each against a bare ``sqlite3`` ``executemany`` of the same rows measured in the
same run: the very article and region-link rows the import stored, into a fresh
file with the same schema, in transactions of 1,000 articles as the import does.
Rounds alternate zonewire and bare; min and median are printed, the ratio is of
the medians. Targets: whole command >= 5,000 articles/s and >= 0.25 of bare at
100,000 articles, peak memory under 300 MB.

    python bench/import.py [--articles N] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import resource
import sqlite3
import statistics
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


def fresh_store(path: Path):  # type: ignore[no-untyped-def]
    """A migrated, empty store at ``path`` (the storage package, or the older layout)."""
    try:
        from feeds.storage import Storage
    except ImportError:  # pragma: no cover - trees before the storage package
        from feeds.store import SqlArticleStore as Storage  # type: ignore[no-redef]
    return Storage.open(f"sqlite:///{path}")


def whole_command(work: Path, source: Path, n: int) -> tuple[float, str]:
    db = work / "var" / "bench.db"
    for leftover in db.parent.glob("bench.db*"):
        leftover.unlink()
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "notifier", "import", str(source)],
        cwd=work, capture_output=True, text=True, check=False,
    )
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"import failed:\n{done.stderr}")
    return elapsed, done.stdout.strip()


def steady_state(work: Path, source: Path, n: int) -> float:
    """``Ingestor.add`` of the parsed records into a fresh store, timed alone."""
    from datetime import UTC, datetime

    from feeds.intake import Ingestor
    from feeds.regions import Gazetteer
    from feeds.sources.jsonl import read_records

    errors: list[object] = []
    with source.open(encoding="utf-8") as lines:
        records = [r for _, r in read_records(lines, errors)]  # type: ignore[arg-type]
    path = work / "steady.db"
    for leftover in work.glob("steady.db*"):
        leftover.unlink()
    store = fresh_store(path)
    ingestor = Ingestor(store, Gazetteer.default())
    start = time.perf_counter()
    counts = ingestor.add(records, now=datetime.now(UTC))
    elapsed = time.perf_counter() - start
    store.close()
    assert counts.inserted == n, counts
    return elapsed


def fmt(rates: list[float]) -> str:
    return f"min {min(rates):,.0f}, median {statistics.median(rates):,.0f} articles/s"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steady", nargs=2, metavar=("FILE", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.steady:
        source = Path(args.steady[0])
        print(steady_state(source.parent, source, int(args.steady[1])))
        return
    n = args.articles
    whole, steady, bare = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        source = work / "articles.jsonl"
        with source.open("w", encoding="utf-8") as out:
            for data in articles(n):
                out.write(json.dumps(data, ensure_ascii=False) + "\n")
        (work / "config").mkdir()
        (work / "config" / "zonewire.yaml").write_text("database: sqlite:///var/bench.db\n")
        for _ in range(args.rounds):
            elapsed, said = whole_command(work, source, n)
            whole.append(n / elapsed)
            for leftover in work.glob("bare.db*"):
                leftover.unlink()
            seconds, link_count = bare_insert(work / "var" / "bench.db", work / "bare.db")
            bare.append(n / seconds)
            # In a child: a parent holding 100,000 parsed records would be copied into
            # the next forked import and count in its peak memory.
            done = subprocess.run([sys.executable, __file__, "--steady", str(source), str(n)],
                                  capture_output=True, text=True, check=True)
            steady.append(n / float(done.stdout.split()[-1]))
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024

    bare_median = statistics.median(bare)
    whole_ratio = statistics.median(whole) / bare_median
    steady_ratio = statistics.median(steady) / bare_median
    print(f"import of {n:,} articles ({link_count:,} region links), {args.rounds} rounds, "
          "alternating")
    print(f"  ({said})")
    print(f"  whole `zonewire import` command: {fmt(whole)}; ratio to bare {whole_ratio:.2f} "
          "(target >= 0.25)")
    print(f"  steady-state insert (Ingestor.add, parsed records): {fmt(steady)}; ratio to "
          f"bare {steady_ratio:.2f}")
    print(f"  bare sqlite3 executemany of the same stored rows, same schema: {fmt(bare)}")
    print(f"  peak memory of the import command: {peak_mb:.0f} MB (target < 300 MB)")
    ok = min(whole) >= 5000 and whole_ratio >= 0.25 and peak_mb < 300
    print("targets met" if ok else "TARGETS MISSED")


if __name__ == "__main__":
    main()
