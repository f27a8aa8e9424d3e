"""Pure: the pages for people, ``index.html`` and ``feeds.opml``, from the feed state.

The feeds as a tree (provinces, cities, districts, zones) rendered through Jinja
templates in ``feeds/templates``; deterministic (no clock), so an unchanged store
renders byte-identical pages.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from feeds.atom import ALL_KEY, feed_path
from feeds.models import CHINA_TZ, Region, RegionLevel
from feeds.regions import Gazetteer
from feeds.text import xml_safe


@dataclass(slots=True)
class SiteNode:
    """A region with a feed, as the index and the OPML list it."""

    key: str
    name: str
    level: str
    articles: int
    last: str  # last publication date, YYYY-MM-DD (Beijing time), or ""
    path: str  # feeds/{key}.atom
    children: list[SiteNode] = field(default_factory=list)

    @property
    def json(self) -> str:
        """The JSON Feed beside the Atom feed (feeds/{key}.json)."""
        return self.path.removesuffix(".atom") + ".json"

    @property
    def page(self) -> str:
        """The region's HTML page (r/{key}.html); the ``all`` feed has none."""
        return f"r/{self.key}.html"


_LEVEL_NAMES = {
    RegionLevel.PROVINCE.value: "省级",
    RegionLevel.CITY.value: "市",
    RegionLevel.DISTRICT.value: "区县",
    RegionLevel.ZONE.value: "开发区",
}


def level_name(level: str) -> str:
    """How the pages name a level (省级, 市, 区县, 开发区)."""
    return _LEVEL_NAMES.get(level, level)


@functools.cache
def environment() -> Environment:
    """Built and its templates compiled once per process (a worker builds often)."""
    env = Environment(
        loader=PackageLoader("feeds", "templates"),
        autoescape=select_autoescape(["html", "opml", "j2"], default=True),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["xmlsafe"] = xml_safe
    env.globals["level_names"] = _LEVEL_NAMES
    return env


def site_tree(
    rows: Iterable[Sequence[Any]], gazetteer: Gazetteer
) -> tuple[SiteNode | None, list[SiteNode]]:
    """``(all, provinces)``: the feeds as a tree, divisions by adcode, zones by name."""
    nodes: dict[str, SiteNode] = {}
    regions: dict[str, Region] = {}
    everything: SiteNode | None = None
    for key, count, last in rows:
        if key.startswith("~"):
            continue
        day = last.astimezone(CHINA_TZ).strftime("%Y-%m-%d") if last is not None else ""
        if key == ALL_KEY:
            everything = SiteNode(key, "全部地区", "all", count, day, feed_path(key))
            continue
        region = gazetteer.find(key)
        if region is None:
            continue
        regions[key] = region
        name = xml_safe(region.name)
        nodes[key] = SiteNode(key, name, region.level.value, count, day, feed_path(key))
    roots: list[SiteNode] = []
    for key, node in nodes.items():
        parent = regions[key].parent_key
        (nodes[parent].children if parent in nodes else roots).append(node)

    def order(node: SiteNode) -> tuple[bool, str]:
        zone = regions[node.key].is_zone
        return (zone, node.name if zone else node.key)

    def sort(items: list[SiteNode]) -> None:
        items.sort(key=order)
        for item in items:
            sort(item.children)

    sort(roots)
    return everything, roots


def render_site(
    rows: Iterable[Sequence[Any]],
    gazetteer: Gazetteer,
    base_url: str,
    pages: Sequence[str] = ("index.html", "feeds.opml"),
) -> dict[str, bytes]:
    """``index.html`` and ``feeds.opml`` from the feed state rows (key, count, last)."""
    everything, roots = site_tree(rows, gazetteer)
    latest = max((n.last for n in roots if n.last), default="")
    if everything is not None and everything.last:
        latest = everything.last
    # Flat (depth, node) rows under each province: thousands of regions render in a
    # plain loop, far cheaper than a recursive template macro.
    groups = [(root, list(_descendants(root.children, 1))) for root in roots]
    env = environment()
    context = {"all": everything, "groups": groups, "latest": latest, "base_url": base_url}
    return {
        name: env.get_template(f"{name}.j2").render(**context).encode("utf-8") for name in pages
    }


def _descendants(nodes: list[SiteNode], depth: int) -> Iterator[tuple[int, SiteNode]]:
    for node in nodes:
        yield depth, node
        yield from _descendants(node.children, depth + 1)
