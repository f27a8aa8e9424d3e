"""`zonewire status`: what is stored, what could not be placed, what is pending.

Other parts add their own sections by naming a ``module:function`` in
:data:`SECTIONS`; each function takes the :class:`App` and returns lines. This keeps
one place an operator looks without this module importing every part.
"""

from __future__ import annotations

import argparse
import importlib
from collections import Counter
from collections.abc import Callable

from feeds.models import RegionLevel
from notifier.app import App

#: Extra sections (sources, feeds, deliveries), as "module:function".
SECTIONS: list[str] = [
    "notifier.commands.ingest:status_lines",
    "notifier.commands.feeds:status_lines",
    "notifier.delivery_status:status_lines",
    "notifier.commands.check:status_lines",
    "notifier.distributed.status:status_lines",
]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)


def _plural(word: str, count: int) -> str:
    if count == 1:
        return word
    return word[:-1] + "ies" if word.endswith("y") else word + "s"


def article_lines(app: App) -> list[str]:
    store = app.store
    gazetteer = app.gazetteer
    lines = [f"articles: {store.count()} (database {app.settings.database})"]
    by_level: Counter[str] = Counter()
    for row in store.region_counts():
        region = gazetteer.find(row.key)
        if region is not None:
            by_level[region.level.value] += 1
    levels = ", ".join(
        f"{by_level[lv.value]} {_plural(lv.value, by_level[lv.value])}" for lv in RegionLevel
    )
    lines.append(f"regions with articles: {levels}")
    unresolved = store.unresolved()
    if unresolved:
        total = sum(count for _, count in unresolved)
        lines.append(
            f"unresolved regions: {len(unresolved)} names, {total} articles "
            "(stored, but in no regional feed):"
        )
        lines += [f"  {name}: {count}" for name, count in unresolved]
        lines.append(
            "  (say what a name means under region_aliases: in the config, e.g. "
            "朝阳区: 北京市/朝阳区; the next import or ingest places those articles)"
        )
    else:
        lines.append("unresolved regions: none")
    return lines + story_lines(store.story_counts())


def story_lines(counts: list[tuple[str | None, int, int]]) -> list[str]:
    """Per source, how many of its articles were folded into stories first seen from
    another source (SPEC §6): a zone site whose news all arrives first on the portal
    is worth knowing."""
    if not counts:
        return []
    folded = sum(n for _, _, n in counts)
    lines = [f"stories: {folded} {_plural('article', folded)} folded into stories "
             "first seen from another source"]
    for name, total, n in counts:
        lines.append(f"  {name or '(no source)'}: {total} {_plural('article', total)}, "
                     f"{n} folded into stories first seen elsewhere")
    return lines


def run(args: argparse.Namespace, app: App) -> int:
    sections: list[Callable[[App], list[str]]] = [article_lines]
    for spec in SECTIONS:
        module, _, function = spec.partition(":")
        sections.append(getattr(importlib.import_module(module), function))
    for section in sections:
        for line in section(app):
            print(line)
    return 0
