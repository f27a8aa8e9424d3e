"""Who is sending: the claimant id written on claimed digests, and whether it is dead.

A claim normally ends when its lease runs out. A sender restarted on the same
machine after a crash need not wait for that: when the claimant names this kernel
boot and this PID namespace, and its process is gone, its claims are stale now.
Claims of other machines (or of a live process) are only taken over once their
lease has run out.
"""

from __future__ import annotations

import os
import socket
import uuid
from functools import cache


@cache
def _machine() -> str:
    """This kernel boot and PID namespace ("" where Linux's /proc is not there)."""
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as handle:
            boot = handle.read().strip().replace("-", "")[:12]
        namespace = os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        return ""
    return f"{boot}.{namespace}"


def new_claimant() -> str:
    """``host:pid:machine:random``: unique per pass, readable by an operator."""
    host = socket.gethostname().replace(":", "_")[:40]
    return f"{host}:{os.getpid()}:{_machine()}:{uuid.uuid4().hex[:12]}"


def is_dead_here(claimant: str) -> bool:
    """True only when ``claimant`` ran on this machine and its process is gone."""
    parts = claimant.split(":")
    if len(parts) != 4 or not _machine() or parts[2] != _machine():
        return False
    try:
        pid = int(parts[1])
    except ValueError:
        return False
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # exists, owned by someone else
        return False
    return False
