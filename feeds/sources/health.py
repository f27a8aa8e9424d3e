"""Is a source still working? Pure checks on its remembered state.

Scrapers rarely fail loudly: a portal redesign keeps answering 200 while the list
pages stop holding links that match ``detail_pattern``, or the detail pages stop
looking like articles. These checks turn the counters of the last poll into
problems with a reason an operator can act on, before subscribers notice the
silence. No I/O and no clock: ``now`` is a parameter.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from feeds.models import PortalSource, SiteSource, Source
from feeds.sources.state import FAILED, SourceState

#: A poll that has not happened for this many intervals means nothing is polling.
OVERDUE_INTERVALS = 3


@dataclass(frozen=True, slots=True)
class Problem:
    """One reason to look at a source. ``kind`` is a stable word for metrics and tests."""

    source: str
    kind: str  # failing | no-links | not-articles | page-errors | silent | overdue
    message: str

    def __str__(self) -> str:
        return f"{self.source}: {self.message}"


def check_source(
    source: Source,
    state: SourceState,
    now: datetime,
    *,
    zone_last_published: Mapping[str, datetime] | None = None,
) -> list[Problem]:
    """Every problem with ``source`` as of ``now``; an empty list means healthy.

    ``zone_last_published`` maps each zone (or region) the source has brought
    articles for to its newest article's date; with ``silent_after`` configured, a
    zone quiet for longer is reported.
    """
    problems: list[Problem] = []
    name = source.name

    def add(kind: str, message: str) -> None:
        problems.append(Problem(name, kind, message))

    if state.last_poll_at is None:
        return problems
    if state.last_result == FAILED and state.consecutive_failures:
        polls = "poll" if state.consecutive_failures == 1 else "polls"
        since = (
            f"last success {_ago(now - state.last_success_at)}"
            if state.last_success_at else "never succeeded"
        )
        add("failing", f"last {state.consecutive_failures} {polls} failed ({since}): "
                       f"{state.last_error or 'no detail'}")
    if isinstance(source, (PortalSource, SiteSource)):
        if state.empty_polls:
            add("no-links", f"list pages were fetched but hold no link matching "
                            f"detail_pattern {source.detail_pattern!r} "
                            f"({state.empty_polls} poll(s) in a row) — has the portal "
                            "layout changed? check with `zonewire extract` and the config")
        tried = state.extract_failed + state.articles_found
        if state.extract_failed and state.articles_found == 0 and tried >= 1:
            add("not-articles", f"all {state.extract_failed} detail page(s) of the last poll "
                                f"failed to extract ({state.last_error or 'no detail'}) — "
                                "has the article layout changed?")
    if state.last_result != FAILED and state.pages_failed:
        add("page-errors", f"{state.pages_failed} page(s) failed in the last poll: "
                           f"{state.last_error or 'no detail'}")
    overdue = source.interval * OVERDUE_INTERVALS
    if now - state.last_poll_at > overdue:
        add("overdue", f"last polled {_ago(now - state.last_poll_at)} although its interval "
                       f"is {_span(source.interval)} — is `zonewire run` running?")
    if source.silent_after is not None:
        quiet = [
            (zone, last) for zone, last in (zone_last_published or {}).items()
            if now - last > source.silent_after
        ]
        for zone, last in sorted(quiet, key=lambda item: item[1]):
            add("silent", f"no article for {zone} for {_ago(now - last)} "
                          f"(silent_after is {_span(source.silent_after)})")
    return problems


def _span(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _ago(delta: timedelta) -> str:
    seconds = max(0, int(delta.total_seconds()))
    if seconds >= 2 * 86400:
        return f"{seconds // 86400} days ago"
    if seconds >= 2 * 3600:
        return f"{seconds // 3600} hours ago"
    if seconds >= 120:
        return f"{seconds // 60} minutes ago"
    return f"{seconds} seconds ago"
