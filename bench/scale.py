"""Distributed mode's fan-out (SPEC §11) with 1, 2 and 4 `zonewire worker` processes.

Email subscribers with distinct region sets (every digest its own rendering) to a
local aiosmtpd sink in its own process, on a fresh PostgreSQL database per run.
The workers are started and ready (configuration loaded, registered in the queue)
before one planning pass records the digests and defers their delivery jobs;
messages/s run from that commit until the ledger shows every digest sent (the
planning pass, one plan job's work, is timed on its own; both count in the time for
one million digests). Beside each
figure: bare aiosmtplib sending the same prebuilt bytes from the same number of
processes over the same number of connections, in the same run (the sink shares this
machine, so bare is the ceiling that counts), and embedded mode (`asend_due` on
SQLite in one process, sending only). Peak RSS of each worker (VmHWM) at every size,
and apart from it the peak of the process that planned: planning runs in a process
of its own (what one plan job costs the worker that runs it: the subscriptions file
parsed and matched), so neither figure hides in the other.

Targets (issue 13): every configuration >= 0.6 of its bare baseline; the 1 -> 2
worker speed-up >= 0.8 of bare's; peak memory per worker flat from 10,000 to 50,000.

Usage: .venv/bin/python bench/scale.py [--sizes 10000,50000] [--workers 1,2,4]
    [--jobs 2] [--concurrency 4] [--pg postgresql://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import _root  # noqa: F401  (bench/feeds.py must not shadow the package)
import psycopg

from feeds.intake import Ingestor
from feeds.models import ArticleRecord, RegionLevel
from feeds.regions import Gazetteer

ROOT = Path(__file__).resolve().parents[1]
#: Regions with news; each subscriber has one plus two quiet districts of its own.
NEWS = [("110102",), ("330400",), ("110102", "330400"), ("330000",)]

SMTP_SINK = r"""
import sys
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


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def region_sets(count: int) -> list[tuple[str, ...]]:
    quiet = [r.key for r in Gazetteer.default() if r.level is RegionLevel.DISTRICT
             and not r.key.startswith(("1101", "3304"))]
    pairs = itertools.combinations(quiet, 2)
    return [NEWS[i % len(NEWS)] + next(pairs) for i in range(count)]


def articles(now: datetime) -> list[ArticleRecord]:
    regions = ["西城区", "南湖区", "嘉兴", "海宁市"]
    body = "本区围绕新能源、集成电路和数字经济开展招商推介，" * 40
    return [ArticleRecord(url=f"https://n.example/detail/id/{i}.html",
                          title=f"第{i}条：开发区重点项目签约仪式举行",
                          published=now - timedelta(hours=i), source="投资促进局",
                          region=regions[i % len(regions)], content=f"<p>{body}</p>",
                          summary=body[:200])
            for i in range(24)]


def write_setup(folder: Path, database: str, smtp_port: int, count: int,
                concurrency: int) -> Path:
    config = folder / "zonewire.yaml"
    subscriptions = folder / "subscriptions.yaml"
    lines = ["subscribers:"]
    for i, regions in enumerate(region_sets(count)):
        lines.append(f"  - {{id: m{i:06d}, email: m{i:06d}@example.com, schedule: immediate, "
                     f"regions: {json.dumps(list(regions))}}}")
    subscriptions.write_text("\n".join(lines) + "\n", encoding="utf-8")
    config.write_text(
        f"mode: distributed\ndatabase: {database}\nsubscriptions: {subscriptions}\n"
        "public_url: https://zonewire.example.org/\n"
        f"secret_key: \"{'b' * 43}\"\n"
        f"feeds: {{output_dir: {folder / 'public'}}}\n"
        "email:\n  transport: smtp\n  from: \"招商快讯 <news@example.org>\"\n"
        f"  smtp: {{host: 127.0.0.1, port: {smtp_port}}}\n"
        f"delivery: {{batch: 100, concurrency: {concurrency}}}\n"
        "distributed: {lead_timeout: 10s}\n", encoding="utf-8")
    return config


class Database:
    """A fresh PostgreSQL database, dropped on exit."""

    def __init__(self, admin: str) -> None:
        self.admin = admin
        self.name = f"zw_scale_{uuid.uuid4().hex[:10]}"
        self.url = f"{admin.rsplit('/', 1)[0]}/{self.name}"

    def _exec(self, sql: str) -> None:
        with psycopg.connect(self.admin, autocommit=True) as conn:
            conn.execute(sql)  # type: ignore[arg-type]

    def __enter__(self) -> Database:
        self._exec(f'CREATE DATABASE "{self.name}"')
        return self

    def __exit__(self, *exc: object) -> None:
        self._exec(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def live_workers(url: str) -> int:
    with psycopg.connect(url) as conn:
        if conn.execute("SELECT to_regclass('procrastinate_workers')").fetchone()[0] is None:  # type: ignore[index]
            return 0
        row = conn.execute("SELECT count(*) FROM procrastinate_workers").fetchone()
    return int(row[0]) if row else 0


def peak_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def plan_child(config: str) -> None:
    """The planning process: subscribers known and articles in, then (on a line from
    stdin) one planning pass; prints a JSON line with its figures and peak RSS."""
    from notifier.app import App
    from notifier.distributed.app import make_app, transaction_deferrer
    from notifier.distributed.planning import plan_and_defer
    from notifier.reload import ConfigHolder

    app = App.from_config(config)
    holder = ConfigHolder(app.config_file, lambda: app.gazetteer, settings=None)
    deferrer = transaction_deferrer(make_app(app.store.url))
    now = datetime.now(UTC)
    plan_and_defer(app, holder, deferrer, now - timedelta(minutes=1))  # they start
    Ingestor(app.store, app.gazetteer).add(articles(now), now=now)
    print("ready", flush=True)
    sys.stdin.readline()
    started = time.perf_counter()
    report, deferred = plan_and_defer(app, holder, deferrer, now)
    planned = time.perf_counter() - started
    app.close()
    print(json.dumps({"planned": report.planned, "jobs": deferred, "seconds": planned,
                      "peak_mb": peak_mb(os.getpid())}), flush=True)


def distributed_run(admin: str, smtp_port: int, count: int, workers: int, jobs: int,
                    concurrency: int) -> dict[str, float]:
    """One fan-out by ``workers`` processes; messages/s, planning time, peak RSS of
    each worker and of the planning process."""
    from notifier.app import App

    with Database(admin) as db, tempfile.TemporaryDirectory(prefix="zw-scale-") as tmp:
        config = write_setup(Path(tmp), db.url, smtp_port, count, concurrency)
        app = App.from_config(str(config))
        planner = subprocess.Popen([sys.executable, __file__, "--plan-child", str(config)],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert planner.stdin is not None and planner.stdout is not None
        if planner.stdout.readline().strip() != "ready":
            sys.exit("the planning process failed")
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        logs = [Path(tmp) / f"worker-{n}.log" for n in range(workers)]
        procs = []
        for log in logs:
            with log.open("wb") as out:
                procs.append(subprocess.Popen(
                    [sys.executable, "-m", "notifier", "-c", str(config), "worker",
                     "--concurrency", str(jobs)], env=env, cwd=tmp,
                    stdout=out, stderr=subprocess.STDOUT))

        def fail(why: str) -> None:
            tails = "\n".join(log.read_text(errors="replace")[-1500:] for log in logs)
            sys.exit(f"{why}:\n{tails}")

        try:
            # Each worker registers once it is ready; a loaded machine may delay a
            # heartbeat past the stall limit, so the most ever seen at once counts.
            deadline, seen = time.monotonic() + 300, 0
            while seen < workers:
                if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                    fail("workers did not start")
                time.sleep(0.2)
                seen = max(seen, live_workers(db.url))
            started = time.perf_counter()
            planner.stdin.write("go\n")
            planner.stdin.flush()
            line = planner.stdout.readline()
            if not line:
                fail("the planning process failed")
            plan = json.loads(line)
            planner.wait(30)
            assert plan["planned"] == count, plan
            while app.store.ledger.counts().get("sent", 0) < count:
                if any(p.poll() is not None for p in procs):
                    fail("a worker died")
                time.sleep(0.25)
            elapsed = time.perf_counter() - started
            peaks = [peak_mb(p.pid) for p in procs]
        finally:
            if planner.poll() is None:
                planner.kill()
                planner.wait()
            for proc in procs:
                proc.send_signal(signal.SIGTERM)
            for proc in procs:
                proc.wait(60)
        app.close()
    # Sending starts at the planning commit (no job is visible before it).
    planned = float(plan["seconds"])
    return {"rate": count / (elapsed - planned), "seconds": elapsed, "planning": planned,
            "jobs": plan["jobs"], "peak_mb": max(peaks), "planner_mb": plan["peak_mb"]}


def prebuilt(count: int = 4) -> list[bytes]:
    """Message bytes of a few subscribers, built by zonewire's own composer."""
    from feeds.storage import Storage
    from notifier.compose import Composer
    from notifier.config import Settings
    from notifier.deliver import DeliveryDeps
    from notifier.ledger import Ledger
    from notifier.models import Schedule, ScheduleKind, Subscriber
    from notifier.plan import build_digest
    from notifier.tokens import Signer

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.model_validate({
            "database": f"sqlite:///{tmp}/b.db", "public_url": "https://zonewire.example.org/",
            "secret_key": "bench",
            "email": {"transport": "smtp", "from": "招商快讯 <news@example.org>",
                      "smtp": {"host": "127.0.0.1", "port": 25}}})
        store = Storage.open(settings.database)
        gazetteer = Gazetteer.default()
        now = datetime.now(UTC)
        Ingestor(store, gazetteer).add(articles(now), now=now)
        deps = DeliveryDeps(settings=settings, store=store, gazetteer=gazetteer,
                            ledger=Ledger(store.ledger), signer=Signer(b"bench"))
        composer = Composer(deps, now)
        stored = list(store.iter_articles())
        bodies = []
        schedule = Schedule(ScheduleKind.IMMEDIATE, "immediate")
        for i, regions in enumerate(region_sets(count)):
            sub = Subscriber(id=f"m{i:06d}", schedule=schedule, regions=regions,
                             email=f"m{i:06d}@example.com", fingerprint="f")
            wanted = [a for a in stored if set(regions) & set(a.region_keys)]
            digest = build_digest(sub, wanted, after_seq=0, upto_seq=len(stored), now=now,
                                  region_name=lambda k: gazetteer.get(k).name,
                                  channel="email")
            assert digest is not None
            bodies.append(composer.envelope(digest).body)
        store.close()
    return bodies


BARE = r"""
import asyncio, json, sys, time, aiosmtplib
port, count, connections = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
bodies = [b.encode("latin-1") for b in json.load(sys.stdin)]
async def main():
    todo = list(range(count))
    async def lane():
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port)
        await client.connect()
        while todo:
            i = todo.pop()
            await client.sendmail("news@example.org", [f"u{i}@example.com"],
                                  bodies[i % len(bodies)])
        await client.quit()
    await asyncio.gather(*(lane() for _ in range(connections)))
asyncio.run(main())
"""


def bare_run(smtp_port: int, bodies: list[bytes], count: int, processes: int,
             connections: int) -> float:
    """The same bytes from ``processes`` processes; messages/s."""
    payload = json.dumps([b.decode("latin-1") for b in bodies])
    share = [count // processes + (1 if i < count % processes else 0) for i in range(processes)]
    started = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, "-c", BARE, str(smtp_port), str(n),
                               str(connections)], stdin=subprocess.PIPE, text=True)
             for n in share]
    for proc in procs:
        proc.communicate(payload)
        if proc.returncode:
            sys.exit("bare sender failed")
    return count / (time.perf_counter() - started)


def embedded_child(spec: str) -> None:
    """Embedded mode's pass (``asend_due`` on SQLite, one process); prints a JSON line."""
    from feeds.storage import Storage
    from notifier.config import Settings
    from notifier.deliver import DeliveryDeps, asend_due
    from notifier.ledger import Ledger
    from notifier.models import Schedule, ScheduleKind, Subscriber, Subscriptions
    from notifier.plan import Plan
    from notifier.tokens import Signer

    port, count, concurrency = (int(x) for x in spec.split(","))
    with tempfile.TemporaryDirectory(prefix="zw-scale-") as tmp:
        settings = Settings.model_validate({
            "database": f"sqlite:///{tmp}/e.db", "public_url": "https://zonewire.example.org/",
            "secret_key": "bench", "delivery": {"concurrency": concurrency},
            "email": {"transport": "smtp", "from": "招商快讯 <news@example.org>",
                      "smtp": {"host": "127.0.0.1", "port": port}}})
        store = Storage.open(settings.database)
        gazetteer = Gazetteer.default()
        deps = DeliveryDeps(settings=settings, store=store, gazetteer=gazetteer,
                            ledger=Ledger(store.ledger), signer=Signer(b"bench"),
                            rng=random.Random(0))
        schedule = Schedule(ScheduleKind.IMMEDIATE, "immediate")
        subs = tuple(Subscriber(id=f"m{i:06d}", schedule=schedule, regions=regions,
                                email=f"m{i:06d}@example.com", fingerprint="f")
                     for i, regions in enumerate(region_sets(count)))
        now = datetime.now(UTC)
        deps.ledger.record_plan(Plan(new_subscribers={x.id: 0 for x in subs}),
                                now - timedelta(hours=1))
        Ingestor(store, gazetteer).add(articles(now), now=now)
        started = time.perf_counter()
        report = asyncio.run(asend_due(deps, Subscriptions(subs), now))
        elapsed = time.perf_counter() - started
        store.close()
    assert report.sent == count, report
    print(json.dumps({"rate": count / elapsed}))


def embedded_run(smtp_port: int, count: int, concurrency: int) -> float:
    done = subprocess.run([sys.executable, __file__, "--embedded-child",
                           f"{smtp_port},{count},{concurrency}"],
                          capture_output=True, text=True, check=False)
    if done.returncode:
        sys.exit(f"embedded run failed:\n{done.stderr[-2000:]}")
    return float(json.loads(done.stdout.strip().splitlines()[-1])["rate"])


def million(rate: float, planning_per_digest: float = 0.0) -> str:
    seconds = 1_000_000 * (1 / rate + planning_per_digest)
    return f"{seconds / 60:.0f} min" if seconds < 5400 else f"{seconds / 3600:.1f} h"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,50000")
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--jobs", type=int, default=2, help="jobs per worker at once")
    parser.add_argument("--concurrency", type=int, default=4,
                        help="delivery.concurrency (SMTP sessions per job)")
    parser.add_argument("--pg", default=os.environ.get(
        "ZONEWIRE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test"),
        help="an admin URL: a fresh database is made beside it for each run")
    parser.add_argument("--embedded-child", help=argparse.SUPPRESS)
    parser.add_argument("--plan-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.embedded_child:
        embedded_child(args.embedded_child)
        return
    if args.plan_child:
        plan_child(args.plan_child)
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    counts = [int(w) for w in args.workers.split(",")]
    connections = args.jobs * args.concurrency  # per process, as a worker keeps them
    smtp_port = free_port()
    sink = subprocess.Popen([sys.executable, "-c", SMTP_SINK, str(smtp_port)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert sink.stdout is not None and sink.stdout.readline().strip() == "ready"
    bodies = prebuilt()
    print(f"{os.cpu_count()} cores; sink: aiosmtpd in its own process; "
          f"{args.jobs} jobs x {args.concurrency} SMTP sessions per worker; "
          f"message {sum(map(len, bodies)) // len(bodies):,} bytes")
    peaks: dict[tuple[int, int], float] = {}
    planners: dict[tuple[int, int], float] = {}
    try:
        for size in sizes:
            embedded = embedded_run(smtp_port, size, connections)
            print(f"\n{size:,} subscribers (distinct region sets); embedded mode "
                  f"(one process, SQLite): {embedded:.0f} msg/s, "
                  f"1M digests in {million(embedded)}")
            print(f"{'workers':>7} {'msg/s':>7} {'bare':>7} {'ratio':>6} {'speed-up':>9} "
                  f"{'bare s-u':>9} {'plan s':>7} {'peak MB':>8} {'1M digests':>11}")
            first: tuple[float, float] | None = None
            for workers in counts:
                theirs = bare_run(smtp_port, bodies, size, workers, connections)
                ours = distributed_run(args.pg, smtp_port, size, workers, args.jobs,
                                       args.concurrency)
                rate = ours["rate"]
                if first is None:
                    first = (rate, theirs)
                peaks[(workers, size)] = ours["peak_mb"]
                planners[(workers, size)] = ours["planner_mb"]
                print(f"{workers:>7} {rate:>7.0f} {theirs:>7.0f} {rate / theirs:>6.2f} "
                      f"{rate / first[0]:>8.2f}x {theirs / first[1]:>8.2f}x "
                      f"{ours['planning']:>7.1f} {ours['peak_mb']:>8.0f} "
                      f"{million(rate, ours['planning'] / size):>11}", flush=True)
        print("\npeak RSS per worker process (VmHWM; the largest of a run's workers), "
              "by subscribers:")
        print(f"  {'workers':>7} " + " ".join(f"{s:>10,}" for s in sizes))
        for workers in counts:
            print(f"  {workers:>7} " + " ".join(f"{peaks[(workers, s)]:>7.0f} MB"
                                              for s in sizes))
        print("peak RSS of the planning process (one plan job: parses and matches every "
              "subscriber; not a delivering worker), by subscribers:")
        print(f"  {'run':>7} " + " ".join(f"{s:>10,}" for s in sizes))
        for workers in counts:
            print(f"  {workers:>7} " + " ".join(f"{planners[(workers, s)]:>7.0f} MB"
                                              for s in sizes))
        own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
        print(f"bench process peak RSS {own} MB (it neither plans nor delivers: it builds "
              "the sample message bytes and counts)")
    finally:
        sink.stdin.close()  # type: ignore[union-attr]
        sink.wait(10)


if __name__ == "__main__":
    main()
