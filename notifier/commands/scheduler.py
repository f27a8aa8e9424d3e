"""`zonewire scheduler`: lead or stand by; the leader defers the jobs (SPEC §11)."""

from __future__ import annotations

import argparse
import asyncio
import signal

from notifier.app import App


def add_arguments(parser: argparse.ArgumentParser) -> None:
    del parser  # no options of its own: everything is in the configuration


def run(args: argparse.Namespace, app: App) -> int:
    from feeds.storage.leader import SqlLeaderLock
    from notifier.distributed.app import make_app, require_distributed
    from notifier.distributed.leader import Leader

    settings = app.settings
    require_distributed(settings, str(app.config_file or "config/zonewire.yaml"))
    url = app.store.url  # opening the store migrates it
    timeout = settings.distributed.lead_timeout
    leader = Leader(make_app(url), SqlLeaderLock(url, timeout=timeout.total_seconds()),
                    settings.source_specs(), timeout)
    print(f"scheduler {leader.lock.name}: leads, or stands by while another does "
          f"(lead_timeout {timeout.total_seconds():g}s); {len(leader.sources)} sources",
          flush=True)
    return asyncio.run(_main(leader))


async def _main(leader: object) -> int:
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    queue = leader.queue  # type: ignore[attr-defined]
    async with queue.open_async():
        await leader.run(stopping)  # type: ignore[attr-defined]
    return 0
