"""The procrastinate App of a distributed setup: its queue is in the zonewire database.

One connector on the same database URL; the tasks come from
:mod:`notifier.distributed.tasks`, named ``zonewire:...``.
:func:`transaction_deferrer` gives an App whose deferrals run on a connection the
caller holds, so planning records the ledger rows and defers their delivery jobs
in ONE transaction (procrastinate's ``configure(connection=...)``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import procrastinate

from feeds.storage.jobqueue import apply_queue_schema
from feeds.storage.leader import libpq_url
from notifier.config import Settings
from notifier.errors import ConfigError, UsageError

#: Task names, as the queue stores them.
INGEST = "zonewire:ingest"
BUILD = "zonewire:build_feeds"
PLAN = "zonewire:plan"
DELIVER = "zonewire:deliver"
RESEND = "zonewire:resend"

#: The queue each task waits in, by kind of work, so that ``zonewire worker
#: --only KIND`` can keep a machine to some of it (a plan job reads and matches
#: every subscriber; delivery, ingest and feed builds do not).
QUEUES = {
    "ingest": "zonewire-ingest",
    "feeds": "zonewire-feeds",
    "plan": "zonewire-plan",
    "deliver": "zonewire-deliver",
}
QUEUE_OF = {
    INGEST: QUEUES["ingest"],
    BUILD: QUEUES["feeds"],
    PLAN: QUEUES["plan"],
    DELIVER: QUEUES["deliver"],
    RESEND: QUEUES["deliver"],
}


def queues_for(kinds: str) -> list[str]:
    """The queues of ``--only``'s comma-separated kinds; a clear error for a typo."""
    names = [k.strip() for k in kinds.split(",") if k.strip()]
    unknown = [k for k in names if k not in QUEUES]
    if unknown or not names:
        raise UsageError(
            f"--only {kinds!r}: unknown kind {', '.join(map(repr, unknown)) or '(none)'}; "
            f"give one or more of {', '.join(QUEUES)}, separated by commas"
        )
    return sorted({QUEUES[k] for k in names})


@dataclass(frozen=True, slots=True)
class Timing:
    """Heartbeats and stall detection, derived from ``distributed.lead_timeout``: a
    worker silent for that long is dead and its running jobs are run again."""

    heartbeat: float
    stalled_after: float

    @classmethod
    def of(cls, lead_timeout: timedelta) -> Timing:
        seconds = max(lead_timeout.total_seconds(), 1.0)
        return cls(heartbeat=max(seconds / 10, 0.2), stalled_after=seconds)


def require_distributed(settings: Settings, where: str) -> None:
    """Commands of SPEC §11 refuse an embedded configuration with the fix."""
    if settings.mode != "distributed":
        raise ConfigError(
            f"{where}: this command needs 'mode: distributed' (and a postgresql:// "
            "database); in embedded mode use 'zonewire run'"
        )


def make_app(url: str, *, install_schema: bool = True) -> procrastinate.App:
    """The queue App on ``url``; procrastinate's schema is installed on first use."""
    from notifier.distributed.tasks import register

    if install_schema:
        apply_queue_schema(url)
    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=libpq_url(url)))
    register(app)
    return app


def transaction_deferrer(app: procrastinate.App) -> procrastinate.App:
    """An App on a synchronous connector that is never opened: it only defers, by
    task name, on connections handed to it (``procrastinate.tasks.configure_task(
    name=..., job_manager=deferrer.job_manager, connection=conn)``), so it works in a
    worker whose own App is open on an async pool."""
    del app  # the queue is the database of the connection handed in
    return procrastinate.App(connector=procrastinate.SyncPsycopgConnector())
