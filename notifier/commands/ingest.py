"""`zonewire ingest [--source NAME]`: poll sources now (SPEC §1, §4).

One summary line per source on stdout (pages fetched, new, updated, failed), each
failed page and each health problem on stderr, a progress line on a terminal. A poll
in which some pages failed keeps what succeeded and exits 1.

Also home of the ``sources`` section of ``zonewire status``.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime

from feeds.models import PortalSource, SiteSource, Source
from feeds.sources.health import check_source
from feeds.sources.poll import IngestReport, ingest_sources
from notifier.app import App
from notifier.errors import UsageError
from notifier.progress import Progress
from notifier.progress import local_time as show

#: Failed pages listed per source before "... and N more".
SHOW_ERRORS = 10


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--source", metavar="NAME", action="append",
        help="poll only this source (repeatable); default: every configured source",
    )


def select_sources(app: App, names: list[str] | None) -> list[Source]:
    sources = app.settings.source_specs()
    if not names:
        return sources
    by_name = {s.name: s for s in sources}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        configured = ", ".join(by_name) or "none (add them under sources: in the config)"
        raise UsageError(f"unknown source {', '.join(unknown)}; configured sources: {configured}")
    return [by_name[n] for n in dict.fromkeys(names)]


def run(args: argparse.Namespace, app: App) -> int:
    sources = select_sources(app, args.source)
    if not sources:
        where = app.config_file or "config/zonewire.yaml"
        print(f"no sources configured; add a portal, site or feed under sources: in {where}",
              file=sys.stderr)
        return 0
    progress = Progress("ingest")

    def on_progress(name: str, text: str, done: int, queued: int) -> None:
        # The bar follows the detail pages (fetched of those queued so far); before
        # a list page has revealed any, the counts alone.
        progress.count(done, queued or None, f"{name}: {text}", unit=" pages")

    def on_report(report: IngestReport) -> None:
        progress.done()
        progress.restart()
        print(report.summary(), flush=True)
        for error in report.errors[:SHOW_ERRORS]:
            print(f"  failed: {error}", file=sys.stderr)
        if len(report.errors) > SHOW_ERRORS:
            print(f"  ... and {len(report.errors) - SHOW_ERRORS} more failed pages",
                  file=sys.stderr)
        for problem in report.problems:
            print(f"  health: {problem.message}", file=sys.stderr)

    reports = ingest_sources(
        sources, app.store, app.gazetteer, app.settings.crawl.policy(),
        now=lambda: datetime.now(UTC), on_progress=on_progress, on_report=on_report,
    )
    progress.done()
    app.place_unresolved()
    return 1 if any(r.failed for r in reports) else 0


def status_lines(app: App) -> list[str]:
    """The ``sources`` section of ``zonewire status``: last poll, result, errors, health."""
    sources = app.settings.source_specs()
    if not sources:
        return ["sources: none configured"]
    states = app.store.sources
    known = states.all()
    now = datetime.now(UTC)
    lines = [f"sources: {len(sources)}"]
    for source in sources:
        state = known.get(source.name)
        kind = (
            "portal" if isinstance(source, PortalSource)
            else "site" if isinstance(source, SiteSource) else "feed"
        )
        if state is None or state.last_poll_at is None:
            lines.append(f"  {source.name} ({kind}): never polled")
            continue
        when = show(state.last_poll_at)
        lines.append(
            f"  {source.name} ({kind}): last poll {when} {state.last_result}, "
            f"{state.pages_fetched} pages, {state.articles_found} articles, "
            f"{state.error_count} errors in {state.polls} polls"
            + ("" if state.backfill_done else ", backfill pending")
        )
        problems = check_source(
            source, state, now, zone_last_published=states.zone_last_published(source.name)
        )
        lines += [f"    problem: {p.message}" for p in problems]
    return lines
