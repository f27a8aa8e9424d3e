"""`zonewire feeds build [--all]`: bring the feeds (Atom, JSON Feed, archives), the
region pages, the index and the OPML up to date. `zonewire feeds export DIR`: write
a distributed setup's stored feeds out for static hosting."""

from __future__ import annotations

import argparse

from feeds.publish import build_feeds
from feeds.websub import ping_hubs
from notifier.app import App
from notifier.progress import Progress


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    build = sub.add_parser(
        "build",
        help="regenerate changed feeds (all with --all)",
        description="Regenerate the feeds whose articles changed since the last build "
        "(Atom, JSON Feed, the newest archive pages, the region pages r/KEY.html), then "
        "index.html and feeds.opml. Files whose bytes would not change are left alone.",
    )
    # SPEC §4: -c may follow the command, here after the action too.
    build.add_argument(
        "-c", "--config", metavar="PATH", default=argparse.SUPPRESS,
        help="config file (default: $ZONEWIRE_CONFIG, else config/zonewire.yaml)",
    )
    build.add_argument(
        "--all", action="store_true",
        help="re-render every feed (after changing templates or public_url); "
        "still writes only files that differ",
    )
    export = sub.add_parser(
        "export",
        help="write the feeds stored in the database to DIR (distributed mode)",
        description="Write every feed document of a distributed setup (Atom, JSON Feed, "
        "archives, region pages, index.html, feeds.opml) under DIR for static hosting. "
        "Each file is replaced atomically and only when its bytes differ; other files "
        "in DIR are left alone.",
    )
    export.add_argument("dir", metavar="DIR", help="folder to write into (created if missing)")
    export.add_argument(
        "-c", "--config", metavar="PATH", default=argparse.SUPPRESS,
        help="config file (default: $ZONEWIRE_CONFIG, else config/zonewire.yaml)",
    )


def run(args: argparse.Namespace, app: App) -> int:
    if args.action == "export":
        return _export(args, app)
    settings = app.settings
    progress = Progress("building feeds")

    def on_progress(done: int, total: int) -> None:
        # Feed documents and archive pages, each written or found unchanged.
        progress.bar(done, total, f"{done}/{total} documents", unit=" documents",
                     force=done == total)

    report = build_feeds(
        app.store,
        app.gazetteer,
        settings.feeds.output_dir,
        settings.public_url,
        settings.feeds.entries,
        all=args.all,
        hubs=settings.feeds.websub.hubs,
        on_progress=on_progress,
    )
    progress.done()
    base = settings.public_url.rstrip("/") + "/"
    for result in ping_hubs(settings.feeds.websub.hubs, [base + p for p in report.changed_feeds]):
        told = f"told about {result.urls} changed feeds" if result.ok else "failed"
        print(f"websub: {result.hub}: {told}" + (f" ({result.error})" if result.error else ""))
    written_feeds = report.feeds_written
    pages = [p for p in report.written if p in ("index.html", "feeds.opml")]
    kind = "full build" if report.full else "incremental build"
    print(
        f"{kind}: {written_feeds} feeds written, {report.unchanged} unchanged"
        + (f", {len(report.removed)} removed" if report.removed else "")
        + f"; {report.feeds} feeds in {report.output_dir}/feeds"
    )
    print(
        f"archive pages: {report.archives_written} written ({report.output_dir}/feeds/archive); "
        f"region pages: {report.region_pages_written} written ({report.output_dir}/r)"
    )
    print(
        f"index and OPML: {', '.join(pages) if pages else 'unchanged'} "
        f"({report.output_dir}/index.html, {report.output_dir}/feeds.opml)"
    )
    if report.skipped_regions:
        print(
            f"skipped {len(report.skipped_regions)} region keys the gazetteer does not know: "
            + ", ".join(sorted(report.skipped_regions)[:10])
        )
    return 0


def _export(args: argparse.Namespace, app: App) -> int:
    from pathlib import Path

    from notifier.distributed.app import require_distributed
    from notifier.distributed.export import export_documents

    require_distributed(app.settings, str(app.config_file or "config/zonewire.yaml"))
    out = Path(args.dir)
    report = export_documents(app.store.documents, out)
    total = report.written + report.unchanged
    print(f"exported {total} documents to {out}/: {report.written} written, "
          f"{report.unchanged} unchanged")
    if report.refused:
        print(f"skipped {len(report.refused)} stored keys that are no safe path: "
              + ", ".join(repr(k) for k in report.refused[:5]))
    if total == 0:
        print("nothing stored yet: a worker builds the feeds after the first ingest")
    return 0


def status_lines(app: App) -> list[str]:
    """`zonewire status` section: how many feeds, and when they were last built."""
    from feeds.publish import last_build
    from notifier.progress import local_time as show

    build = last_build(app.store)
    if build is None:
        return ["feeds: never built (run `zonewire feeds build`)"]
    when = show(build.built_at)
    behind = app.store.max_seq() - build.last_seq
    lines = [
        f"feeds: {build.feeds} in {app.settings.feeds.output_dir}/feeds, last built {when} "
        f"({build.written} files written)"
    ]
    if behind > 0:
        lines.append(f"  {behind} articles added since; run `zonewire feeds build`")
    return lines
