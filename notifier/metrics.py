"""Prometheus metrics, in a registry of their own.

Counters (articles ingested, pages failed, feeds written, delivery outcomes) exist
only in a running worker. Gauges read from the store at scrape time (articles,
unresolved articles, digests by status) are there for ``zonewire serve`` too, so a
store can be watched whichever process serves it. A registry per process (not the
global default) keeps tests and several workers in one process from colliding.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector


class StoreCollector(Collector):
    """Gauges computed from the store when Prometheus scrapes."""

    def __init__(self, store: Any) -> None:
        self.store = store

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from notifier.ledger import Ledger

        yield GaugeMetricFamily("zonewire_articles", "Articles in the store",
                                value=self.store.count())
        unresolved = sum(count for _, count in self.store.unresolved())
        yield GaugeMetricFamily("zonewire_articles_unresolved",
                                "Articles stored without a region", value=unresolved)
        digests = GaugeMetricFamily("zonewire_digests", "Digests in the ledger, by status",
                                    labels=["status"])
        for status, count in sorted(Ledger(self.store.engine).counts().items()):
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
