"""Open digests follow the subscriptions file at each plan pass (SPEC §11).

A delivery job sends a digest to its subscriber as planned (the sealed snapshot),
without reading the file. An edit of the file therefore reaches the digests still
open (pending, or waiting for a retry) at the next plan pass, the one job that
reads the file: a subscriber no longer in it has its open digests dropped (failed,
"subscriber removed"), and one whose entry changed has them resealed with the new
entry, so a fixed address or a new webhook URL or secret is used, and a channel
the entry no longer has is dropped when its job runs. Unsubscribes and disabled
webhooks need no pass: they are stored, and checked at send time.

The pass reads, per open digest, its subscriber id and the readable mark at the
head of its snapshot (a keyed hash of the entry), a page at a time; it runs in a
process once per configuration version (the first plan job, then after each
reload that changed something).
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Mapping
from datetime import datetime

from notifier.app import App
from notifier.claimant import new_claimant
from notifier.deliver import DeliveryDeps, DeliveryReport, _drop
from notifier.distributed.sealing import HEAD, Sealer, mark_of
from notifier.ledger import Outcome
from notifier.models import Subscriber
from notifier.reload import ConfigHolder

log = logging.getLogger("notifier.distributed")

#: Rows dropped or resealed per transaction.
PAGE = 500

REMOVED = "not sent: subscriber removed from the subscriptions file after planning"

#: The configuration version each holder's open digests last followed.
_FOLLOWED: weakref.WeakKeyDictionary[ConfigHolder, int] = weakref.WeakKeyDictionary()


def follow_file(
    app: App, deps: DeliveryDeps, holder: ConfigHolder, by_id: Mapping[str, Subscriber],
    sealer: Sealer, now: datetime, *, force: bool = False,
) -> tuple[int, int]:
    """Drop the open digests of subscribers not in ``by_id`` and reseal those whose
    entry changed; (dropped, resealed). Nothing to do when this holder's
    configuration has not changed since its last pass (unless ``force``)."""
    if not force and _FOLLOWED.get(holder) == holder.version:
        return 0, 0
    store = app.store.ledger
    report = DeliveryReport()
    claimant = new_claimant()
    removed: list[Outcome] = []
    changed: dict[str, bytes] = {}
    resealed = 0

    def flush() -> None:
        nonlocal resealed
        if removed:
            _drop(deps, report, removed, claimant, now)  # a live sender's stay its own
            removed.clear()
            report.errors.clear()  # one line per digest: counted, not kept
        if changed:
            resealed += store.reseal(changed)
            changed.clear()

    for digest_id, subscriber_id, head in store.open_heads(HEAD):
        entry = by_id.get(subscriber_id)
        if entry is None:
            removed.append(Outcome(digest_id, ok=False, permanent=True, error=REMOVED))
        else:
            mark = mark_of(head)
            if mark is not None and mark != sealer.mark(entry):
                changed[digest_id] = sealer.seal(entry, digest_id)
        if len(removed) >= PAGE or len(changed) >= PAGE:
            flush()
    flush()
    _FOLLOWED[holder] = holder.version
    if report.failed or resealed:
        log.info("open digests follow the subscriptions file: %d dropped (subscriber "
                 "removed), %d resealed (entry edited)", report.failed, resealed)
    return report.failed, resealed
