"""`zonewire check`: validate the configuration and the subscriptions.

Exit 0 with a one-line summary (warnings on stderr), or exit 1 with every problem,
one ``file:line:col: message`` per line on stderr: the subscriptions file and the
``region:``/``zone:`` hints of sources. Problems in the shape of ``zonewire.yaml``
itself are reported by the CLI before this runs, also all at once.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from feeds.intake import load_zones
from feeds.regions import Gazetteer, apply_aliases
from notifier import yamlpos
from notifier.app import App
from notifier.errors import ConfigError
from notifier.models import Subscriptions
from notifier.region_names import resolve_region
from notifier.reload import load_subscriptions_for
from notifier.tokens import SecretKeyError, read_key_file

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="print nothing when everything is fine"
    )


def _gazetteer(app: App) -> Gazetteer:
    """Divisions plus the zones the store has learned, without creating a database."""
    url = app.settings.database
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        if not path.exists():
            return Gazetteer.default()
    try:
        # Not app.gazetteer: that one refuses bad region_aliases, which check reports.
        return load_zones(Gazetteer.default(), app.store)
    except Exception as exc:  # a database that is down must not stop a config check
        print(
            f"zonewire: warning: cannot read learned zones from {url} ({exc.__class__.__name__});"
            " zones are checked by name only",
            file=sys.stderr,
        )
        return Gazetteer.default()


def summary(subscriptions: Subscriptions) -> str:
    subscribers = subscriptions.subscribers
    email = sum(1 for s in subscribers if s.email)
    webhook = sum(1 for s in subscribers if s.webhook is not None)
    regions = len({key for s in subscribers for key in s.regions})
    return (
        f"{len(subscribers)} subscriber{'s' if len(subscribers) != 1 else ''}, "
        f"{email} email / {webhook} webhook channel{'s' if email + webhook != 1 else ''}, "
        f"{regions} region{'s' if regions != 1 else ''} followed"
    )


def status_lines(app: App) -> list[str]:
    """The `zonewire status` section: who is subscribed, or that the file has problems."""
    try:
        subscriptions = load_subscriptions_for(app.settings, app.gazetteer)
    except ConfigError as exc:
        count = len(exc.problems)
        return [f"subscriptions: {app.settings.subscriptions} has {count} "
                f"problem{'s' if count != 1 else ''} (run zonewire check)"]
    lines = [f"subscriptions: {summary(subscriptions)} ({app.settings.subscriptions})"]
    if subscriptions.warnings:
        lines.append(f"  {len(subscriptions.warnings)} warning(s): run zonewire check")
    return lines


def _alias_problems(gazetteer: Gazetteer, aliases: dict[str, str]) -> list[str]:
    """One entry per alias, in order: its problem, or "" when it is fine."""
    return [
        (apply_aliases(gazetteer, {name: target}) or [""])[0]
        for name, target in aliases.items()
    ]


def source_regions(app: App, gazetteer: Gazetteer) -> tuple[list[str], list[str]]:
    """Problems and warnings of the ``region:`` and ``zone:`` hints of sources.

    Loading the config cannot check these (it has no gazetteer); a hint that names
    no region would leave every article of that source unplaced.
    """
    path = app.config_file
    if path is None or not path.exists():
        return [], []
    if not app.settings.sources and not app.settings.region_aliases:
        return [], []
    doc = yamlpos.load(path)
    problems: list[str] = []
    warnings: list[str] = []
    aliases = app.settings.region_aliases
    if aliases:
        problems += [
            doc.problem(("region_aliases", name), problem.split(": ", 1)[1])
            for name, problem in zip(
                aliases, _alias_problems(gazetteer, aliases), strict=False
            )
            if problem
        ]
    for i, source in enumerate(app.settings.sources):
        for field in ("region", "zone"):
            name = getattr(source, field, None)
            if not name:
                continue
            outcome = resolve_region(name, gazetteer)
            where = ("sources", i, field)
            if outcome.problem:
                problems.append(doc.problem(where, outcome.problem))
            elif outcome.warning and field == "region":
                warnings.append(doc.problem(where, outcome.warning))
    return problems, warnings


def run_with_broken_config(config_file: Path, error: ConfigError) -> int:
    """The service file has problems: report them, and still check the subscriptions
    file it names (or the default one), so one run shows every problem of both."""
    from notifier.config import Settings
    from notifier.subscriptions import load_subscriptions

    problems = list(error.problems)
    path = Settings().subscriptions
    try:
        raw = yamlpos.load(config_file).data
        if isinstance(raw, dict) and isinstance(raw.get("subscriptions"), str):
            path = Path(raw["subscriptions"])
    except (ConfigError, yamlpos.YamlSyntaxError):
        pass  # already among the problems
    if path.exists():
        try:
            load_subscriptions(path, Gazetteer.default())
        except ConfigError as exc:
            problems += exc.problems
    for problem in problems:
        print(problem, file=sys.stderr)
    count = len(problems)
    print(f"zonewire: {count} problem{'s' if count != 1 else ''} found", file=sys.stderr)
    return 1


def run(args: argparse.Namespace, app: App) -> int:
    # zonewire.yaml was loaded (and its shape fully checked) when the App was built.
    gazetteer = _gazetteer(app)
    problems, warnings = source_regions(app, gazetteer)
    try:
        subscriptions = load_subscriptions_for(app.settings, gazetteer)
    except ConfigError as exc:
        problems += exc.problems
        subscriptions = None
    if app.settings.secret_key is None and (kept := Path("var/secret_key")).exists():
        try:
            read_key_file(kept)  # the generated key; a configured one was checked on load
        except SecretKeyError as exc:
            problems.append(str(exc))
    if problems:
        for problem in problems:
            print(problem, file=sys.stderr)
        count = len(problems)
        print(f"zonewire: {count} problem{'s' if count != 1 else ''} found", file=sys.stderr)
        return 1
    assert subscriptions is not None
    for warning in [*warnings, *subscriptions.warnings]:
        print(warning, file=sys.stderr)
    if not args.quiet:
        print(f"{app.settings.subscriptions}: ok — {summary(subscriptions)}")
    return 0
