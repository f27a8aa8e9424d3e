"""The distributed part of ``zonewire status`` (SPEC §11): the job queue, the
workers seen in the last minute, and which scheduler leads."""

from __future__ import annotations

from notifier.app import App

#: Task names as an operator reads them (the queue stores ``zonewire:...``).
_SHOWN = ("ingest", "build_feeds", "plan", "deliver", "resend")


def status_lines(app: App) -> list[str]:
    """Nothing in embedded mode; otherwise queue, workers and leader."""
    if app.settings.mode != "distributed":
        return []
    from feeds.storage.leader import leader_holder

    counts = app.store.queue_counts()
    lines = ["queue (waiting / running / failed):"]
    names = [f"zonewire:{n}" for n in _SHOWN]
    names += sorted(set(counts.by_task) - set(names))
    for name in names:
        by = counts.by_task.get(name, {})
        lines.append(f"  {name.removeprefix('zonewire:')}: {by.get('todo', 0)} / "
                     f"{by.get('doing', 0)} / {by.get('failed', 0)}")
    failed = sum(by.get("failed", 0) for by in counts.by_task.values())
    if failed:
        lines.append("  (a failed job: its worker logged why; the next tick plans again)")
    if counts.running:
        running = ", ".join(f"#{wid} running {n}" for wid, n in counts.running.items())
        lines.append(f"workers seen in the last minute: {counts.workers} ({running})")
    else:
        lines.append("workers seen in the last minute: none (start `zonewire worker`)")
    leader = leader_holder(app.store.url)
    lines.append(f"leader: {leader}" if leader else
                 "leader: none (start `zonewire scheduler`; nothing is planned or polled)")
    return lines
