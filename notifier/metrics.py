"""Prometheus metrics, in a registry of their own.

Counters (articles ingested, pages failed, feeds written, delivery outcomes) exist
only in a running worker. Gauges read from the store at scrape time (articles,
unresolved articles, digests by status) are there for ``zonewire serve`` too, so a
store can be watched whichever process serves it; they are cached for a few seconds
(see :class:`StoreCollector`). ``/metrics`` is served on its own listener
(``serve.metrics_host``/``serve.metrics_port``, loopback by default), never on the
public feeds port. A registry per process (not the
global default) keeps tests and several workers in one process from colliding.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector


class StoreCollector(Collector):
    """Gauges computed from the store when Prometheus scrapes, at most every
    ``max_age`` seconds: the counts scan whole tables, so a scraper polling fast
    (or several) reads the store once per ``max_age``, not once per scrape. The
    ``/metrics`` route renders in a worker thread, never on the event loop."""

    def __init__(self, store: Any, max_age: float = 15.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.store = store
        self.max_age = max_age
        self._clock = clock
        self._lock = threading.Lock()
        self._cached: tuple[float, int, int, dict[str, int]] | None = None

    def _values(self) -> tuple[int, int, dict[str, int]]:
        from notifier.ledger import Ledger

        with self._lock:  # one scrape reads the store; the others wait and reuse it
            cached = self._cached
            if cached is None or self._clock() - cached[0] >= self.max_age:
                articles = self.store.count()
                unresolved = sum(count for _, count in self.store.unresolved())
                digests = dict(Ledger(self.store.ledger).counts())
                cached = self._cached = (self._clock(), articles, unresolved, digests)
            return cached[1], cached[2], cached[3]

    def collect(self) -> Iterator[GaugeMetricFamily]:
        articles, unresolved, counts = self._values()
        yield GaugeMetricFamily("zonewire_articles", "Articles in the store", value=articles)
        yield GaugeMetricFamily("zonewire_articles_unresolved",
                                "Articles stored without a region", value=unresolved)
        digests = GaugeMetricFamily("zonewire_digests", "Digests in the ledger, by status",
                                    labels=["status"])
        for status, count in sorted(counts.items()):
            digests.add_metric([status], count)
        yield digests

    def describe(self) -> Iterator[GaugeMetricFamily]:
        return iter(())  # collected lazily: nothing is read at registration


class Metrics:
    def __init__(self, store: Any | None = None) -> None:
        self.registry = CollectorRegistry()
        if store is not None:
            self.registry.register(StoreCollector(store))
        self.ingest_articles = Counter(
            "zonewire_ingest_articles",
            "Articles stored by ingestion",
            ["source", "kind"],
            registry=self.registry,
        )
        self.ingest_pages = Counter(
            "zonewire_ingest_pages_fetched", "Pages fetched", ["source"], registry=self.registry
        )
        self.ingest_failures = Counter(
            "zonewire_ingest_failures",
            "Pages or feeds that failed",
            ["source"],
            registry=self.registry,
        )
        self.feeds_written = Counter(
            "zonewire_feeds_written", "Feed files rewritten", registry=self.registry
        )
        self.feed_builds = Counter(
            "zonewire_feed_builds", "Feed builds run", registry=self.registry
        )
        self.deliveries = Counter(
            "zonewire_deliveries", "Digest delivery outcomes", ["status"], registry=self.registry
        )
        self.cycle_errors = Counter(
            "zonewire_job_errors", "Worker jobs that raised", ["job"], registry=self.registry
        )
        self.config_reloads = Counter(
            "zonewire_config_reloads",
            "Configuration reloads",
            ["result"],
            registry=self.registry,
        )
        self.last_cycle = Gauge(
            "zonewire_last_job_timestamp_seconds",
            "When each job last finished",
            ["job"],
            registry=self.registry,
        )

    def render(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
