"""Prometheus counters for the worker, in a registry of their own.

A registry per worker (not the process-global default) keeps tests and several
workers in one process from colliding.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
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
