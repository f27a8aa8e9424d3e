"""Delivery fan-out as production runs it, against bare clients, with peak memory.

A local aiosmtpd sink and a minimal keep-alive HTTP receiver run in their own
processes. Each zonewire round is one ``asend_due`` pass (planning in batches,
ledger writes before and after, rendering, per-recipient bytes, sending) in a fresh
child process, so its peak RSS is its own; the baseline is bare aiosmtplib / httpx
sending the same prebuilt message bytes the same number of times over the same
number of connections. Rounds alternate baseline and zonewire; min and median of
each and the ratio bare/zonewire time (of the medians, same run) are printed.

Cases: a distinct region set per subscriber (every digest its own rendering) and,
beside it, 4 region sets (4 shared renderings); email and ``json`` webhooks; at
10,000 and 50,000 subscribers. Targets: email ratio >= 0.5 with distinct sets, peak
RSS < 300 MB at 50,000 and < 20% growth from 10,000 to 50,000.

Usage: .venv/bin/python bench/deliver.py [--sizes 10000,50000] [--rounds 3]
    [--big-rounds 1] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import random
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import _root  # noqa: E402, F401  (bench/feeds.py must not shadow the package)
import aiosmtplib  # noqa: E402
import httpx  # noqa: E402

from feeds.intake import Ingestor  # noqa: E402
from feeds.models import CHINA_TZ, ArticleRecord, RegionLevel  # noqa: E402
from feeds.regions import Gazetteer  # noqa: E402
from notifier.compose import Composer  # noqa: E402
from notifier.config import Settings  # noqa: E402
from notifier.deliver import DeliveryDeps, asend_due  # noqa: E402
from notifier.ledger import Ledger  # noqa: E402
from notifier.models import Schedule, ScheduleKind, Subscriber, Subscriptions, WebhookTarget  # noqa: E402
from notifier.plan import Plan, build_digest  # noqa: E402
from notifier.tokens import Signer  # noqa: E402

try:  # the storage package (issue 12); older trees had feeds.store
    from feeds.storage import Storage as _Store  # noqa: E402
except ImportError:  # pragma: no cover
    from feeds.store import SqlArticleStore as _Store  # type: ignore[no-redef]  # noqa: E402

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=CHINA_TZ)
REGION_SETS = [("110102",), ("330400",), ("110102", "330400"), ("330000",)]
SECRET = "whsec_YmVuY2htYXJrLXNlY3JldC1rZXktMzItYnl0ZXM="


SMTP_SINK = r"""
import asyncio, sys, time
from aiosmtpd.controller import Controller
class Sink:
    async def handle_DATA(self, server, session, envelope):
        return "250 OK"
c = Controller(Sink(), hostname="127.0.0.1", port=int(sys.argv[1]))
c.start()
print("ready", flush=True)
sys.stdin.read()
c.stop()
"""

HTTP_SINK = r"""
import asyncio, sys
async def handle(reader, writer):
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            if length:
                await reader.readexactly(length)
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError):
        writer.close()
async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", int(sys.argv[1]), backlog=512)
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
asyncio.run(main())
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start(code: str, port: int) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-c", code, str(port)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return proc


def articles(n: int) -> list[ArticleRecord]:
    regions = ["西城区", "南湖区", "嘉兴", "海宁市"]
    body = "本区围绕新能源、集成电路和数字经济开展招商推介，" * 40
    return [
        ArticleRecord(url=f"https://n.example/detail/id/{i}.html",
                      title=f"第{i}条：开发区重点项目签约仪式举行",
                      published=NOW - timedelta(hours=i), source="投资促进局",
                      region=regions[i % len(regions)], category="文字新闻",
                      content=f"<p>{body}</p>", summary=body[:200])
        for i in range(n)
    ]


def region_sets(count: int, distinct: bool, gazetteer: Gazetteer) -> list[tuple[str, ...]]:
    """4 shared sets, or one set per subscriber: a shared set plus a pair of other
    districts (no news there), so every digest has a content of its own."""
    shared = [REGION_SETS[i % 4] for i in range(count)]
    if not distinct:
        return shared
    quiet = [r.key for r in gazetteer if r.level is RegionLevel.DISTRICT
             and not r.key.startswith(("1101", "3304"))]
    pairs = itertools.combinations(quiet, 2)
    return [base + next(pairs) for base in shared]


def subscribers(kind: str, count: int, distinct: bool, http_port: int) -> list[Subscriber]:
    schedule = Schedule(ScheduleKind.IMMEDIATE, "immediate")
    sets = region_sets(count, distinct, Gazetteer.default())
    if kind == "email":
        return [Subscriber(id=f"mail{i:05d}", schedule=schedule, regions=sets[i],
                           email=f"mail{i:05d}@example.com", fingerprint="f")
                for i in range(count)]
    return [Subscriber(id=f"hook{i:05d}", schedule=schedule, regions=sets[i],
                       webhook=WebhookTarget(f"http://127.0.0.1:{http_port}/hook/{i}", "json",
                                             SECRET), fingerprint="f")
            for i in range(count)]


def settings_for(db: Path, smtp_port: int, concurrency: int) -> Settings:
    return Settings.model_validate({
        "database": f"sqlite:///{db}",
        "public_url": "https://zonewire.example.org/",
        "secret_key": "bench",
        "email": {"transport": "smtp", "from": "招商快讯 <news@example.org>",
                  "smtp": {"host": "127.0.0.1", "port": smtp_port}},
        "delivery": {"concurrency": concurrency},
    })


def ledger_of(store: object) -> Ledger:
    inner = getattr(store, "ledger", None)
    return Ledger(inner if inner is not None else store.engine)  # type: ignore[attr-defined]


def child(cfg: dict[str, object]) -> None:
    """One zonewire pass in this fresh process; prints a JSON line."""
    tmp = Path(tempfile.mkdtemp(prefix="zw-bench-"))
    settings = settings_for(tmp / "zw.db", int(cfg["smtp_port"]), int(cfg["concurrency"]))  # type: ignore[arg-type]
    store = _Store.open(settings.database)
    gazetteer = Gazetteer.default()
    deps = DeliveryDeps(settings=settings, store=store, gazetteer=gazetteer,
                        ledger=ledger_of(store), signer=Signer(b"bench"),
                        rng=random.Random(0))
    subs = tuple(subscribers(str(cfg["kind"]), int(cfg["count"]), bool(cfg["distinct"]),  # type: ignore[arg-type]
                             int(cfg["http_port"])))  # type: ignore[arg-type]
    deps.ledger.record_plan(Plan(new_subscribers={s.id: 0 for s in subs}),
                            NOW - timedelta(hours=1))
    Ingestor(store, gazetteer).add(articles(24), now=NOW)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    report = asyncio.run(asend_due(deps, Subscriptions(subs), NOW))
    elapsed = time.perf_counter() - started
    store.close()
    assert report.sent == len(subs), report
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": elapsed, "peak_mb": peak, "before_mb": before}))


def run_child(cfg: dict[str, object]) -> dict[str, float]:
    done = subprocess.run([sys.executable, __file__, "--child", json.dumps(cfg)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"zonewire pass failed:\n{done.stderr[-3000:]}")
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def prebuilt(kind: str, smtp_port: int, http_port: int, distinct: bool) -> list[bytes]:
    """The bodies of 4 subscribers' messages, built by zonewire once, for the bare side."""
    tmp = Path(tempfile.mkdtemp(prefix="zw-bench-"))
    settings = settings_for(tmp / "zw.db", smtp_port, 8)
    store = _Store.open(settings.database)
    gazetteer = Gazetteer.default()
    deps = DeliveryDeps(settings=settings, store=store, gazetteer=gazetteer,
                        ledger=ledger_of(store), signer=Signer(b"bench"))
    Ingestor(store, gazetteer).add(articles(24), now=NOW)
    composer = Composer(deps, NOW)
    stored = list(store.iter_articles())
    bodies = []
    for sub in subscribers(kind, 4, distinct, http_port):
        wanted = [a for a in stored if set(sub.regions) & set(a.region_keys)]
        digest = build_digest(sub, wanted, after_seq=0, upto_seq=24, now=NOW,
                              region_name=lambda k: gazetteer.get(k).name, channel=kind)
        assert digest is not None
        bodies.append(composer.envelope(digest).body)
    store.close()
    return bodies


async def bare_smtp(port: int, messages: list[bytes], count: int, concurrency: int) -> float:
    queue = list(range(count))

    async def worker() -> None:
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False)
        await client.connect()
        while queue:
            i = queue.pop()
            await client.sendmail("news@example.org", [f"u{i}@example.com"],
                                  messages[i % len(messages)])
        await client.quit()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - started


async def bare_http(url: str, bodies: list[bytes], count: int, concurrency: int) -> float:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    queue = list(range(count))
    async with httpx.AsyncClient(limits=limits, timeout=20) as client:

        async def worker() -> None:
            while queue:
                i = queue.pop()
                response = await client.post(url, content=bodies[i % len(bodies)],
                                             headers={"content-type": "application/json"})
                response.raise_for_status()

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - started


def bare(kind: str, port: int, bodies: list[bytes], count: int, concurrency: int) -> float:
    if kind == "email":
        return asyncio.run(bare_smtp(port, bodies, count, concurrency))
    return asyncio.run(bare_http(f"http://127.0.0.1:{port}/hook/0", bodies, count, concurrency))


def fmt(values: list[float]) -> str:
    return f"min {min(values):.0f}, median {statistics.median(values):.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,50000")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--big-rounds", type=int, default=1,
                        help="rounds at sizes above 10,000 (each takes minutes)")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--child")
    args = parser.parse_args()
    if args.child:
        child(json.loads(args.child))
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    smtp_port, http_port = free_port(), free_port()
    smtp_proc, http_proc = start(SMTP_SINK, smtp_port), start(HTTP_SINK, http_port)
    peaks: dict[tuple[str, int], float] = {}
    ratios: dict[tuple[str, bool, int], float] = {}
    try:
        for size in sizes:
            rounds = args.rounds if size <= 10_000 else args.big_rounds
            cases = [(k, d) for k in ("email", "webhook") for d in (True, False)]
            if size > 10_000:
                cases = [(k, True) for k in ("email", "webhook")]
            for kind, distinct in cases:
                port = smtp_port if kind == "email" else http_port
                bodies = prebuilt(kind, smtp_port, http_port, distinct)
                cfg = {"kind": kind, "count": size, "distinct": distinct,
                       "smtp_port": smtp_port, "http_port": http_port,
                       "concurrency": args.concurrency}
                ours, theirs, peak = [], [], []
                for _ in range(rounds):
                    theirs.append(size / bare(kind, port, bodies, size, args.concurrency))
                    result = run_child(cfg)
                    ours.append(size / result["seconds"])
                    peak.append(result["peak_mb"])
                ratio = statistics.median(ours) / statistics.median(theirs)
                ratios[(kind, distinct, size)] = ratio
                if distinct:
                    peaks[(kind, size)] = max(peak)
                shape = "distinct region sets" if distinct else "4 region sets"
                client = "aiosmtplib" if kind == "email" else "httpx"
                print(f"{kind:7} {size:,} subscribers, {shape}, {args.concurrency} connections, "
                      f"{rounds} rounds: zonewire msg/s {fmt(ours)}; bare {client} msg/s "
                      f"{fmt(theirs)}; ratio {ratio:.2f} (target >= 0.5); zonewire peak RSS "
                      f"{max(peak):.0f} MB", flush=True)
    finally:
        for proc in (smtp_proc, http_proc):
            proc.communicate("", timeout=10)
    small, big = min(sizes), max(sizes)
    if small != big:
        for kind in ("email", "webhook"):
            if (kind, small) in peaks and (kind, big) in peaks:
                growth = peaks[(kind, big)] / peaks[(kind, small)] - 1
                print(f"{kind} peak RSS (distinct region sets): {peaks[(kind, small)]:.0f} MB at "
                      f"{small:,}, {peaks[(kind, big)]:.0f} MB at {big:,}: growth "
                      f"{growth:.0%} (targets < 300 MB, < 20%)")


if __name__ == "__main__":
    main()
