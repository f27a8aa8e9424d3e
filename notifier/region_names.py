"""A region as a subscriber writes it -> its key, or the message that fixes it.

Used by ``check`` and the subscriptions loader: names, adcodes and paths resolve
through the gazetteer; an unknown name gets the closest real regions as
suggestions, and a name that reads like a development zone no article has named
yet is accepted with a warning (SPEC §7).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from feeds.models import Region
from feeds.regions import Ambiguous, Gazetteer, Unknown, core_name, looks_like_zone, zone_key


def _named_after(name: str, region: Region) -> bool:
    """嘉兴港区 is named after 嘉兴市 (it lies in it); 海定区 is not named after 海淀区."""
    core = core_name(region.name)
    return len(name) > len(core) and core in name


def _rank(name: str, regions: tuple[Region, ...]) -> list[Region]:
    def key(region: Region) -> tuple[float, int, int]:
        ratio = difflib.SequenceMatcher(None, name, region.name).ratio()
        same = sum(1 for a, b in zip(name, region.name, strict=False) if a == b)
        return (-ratio, -same, abs(len(region.name) - len(name)))

    return sorted(regions, key=key)


@dataclass
class RegionOutcome:
    key: str | None = None
    problem: str | None = None
    warning: str | None = None


def resolve_region(text: str, gazetteer: Gazetteer) -> RegionOutcome:
    """A subscription's region -> key, or the message that says how to fix it."""
    resolved = gazetteer.resolve(text)
    if isinstance(resolved, Region):
        return RegionOutcome(key=resolved.key)
    if isinstance(resolved, Ambiguous):
        options = " or ".join(
            f"{gazetteer.path(c)} ({c.adcode or c.key})" for c in resolved.candidates
        )
        return RegionOutcome(
            problem=f"ambiguous region '{text}' — it could be {options}; write the path "
            f"(e.g. {gazetteer.path(resolved.candidates[0])}) or the adcode"
        )
    assert isinstance(resolved, Unknown)
    parts = [p.strip() for p in text.split("/") if p.strip()]
    name = parts[-1] if parts else text
    if name.isdigit():
        return RegionOutcome(
            problem=f"unknown adcode '{text}' — no division has that GB/T 2260 code; "
            "check the digits or write the region's name"
        )
    wider = parts[:-1]
    for outer in wider:
        if not isinstance(gazetteer.resolve(outer, suggest=False), Region):
            return RegionOutcome(problem=_unknown(outer, gazetteer, text))
    suggestions = _rank(name, gazetteer.suggest(name, limit=8))
    close = [r for r in suggestions if not _named_after(name, r)]
    if looks_like_zone(name) and not close:
        key = zone_key(name)
        return RegionOutcome(
            key=key,
            warning=f"warning: region '{text}' is not known yet; following it as a zone "
            f"(key {key}) that matches once articles name it",
        )
    return RegionOutcome(problem=_unknown(name, gazetteer, text, close or suggestions))


def _unknown(
    name: str, gazetteer: Gazetteer, text: str, suggestions: list[Region] | None = None
) -> str:
    if suggestions is None:
        suggestions = _rank(name, gazetteer.suggest(name, limit=8))
    if suggestions:
        labels = ", ".join(gazetteer.label(r) for r in suggestions[:3])
        return f"unknown region '{name}' — did you mean {labels}?"
    where = f" (in '{text}')" if text != name else ""
    return (
        f"unknown region '{name}'{where} — not a known province, city, district or zone; "
        "write its full name (西城区), a path (北京市/西城区) or an adcode (110102)"
    )
