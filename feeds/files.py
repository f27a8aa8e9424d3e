"""Edge: atomic file writes for the published site.

A file is replaced only when its bytes differ (a temporary file in the same
directory, then ``os.replace``): readers never see half a file, and an unchanged
file keeps its mtime, so HTTP validators, ETags and rsync stay quiet.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_if_changed(path: Path, data: bytes) -> bool:
    """Atomically replace ``path`` with ``data`` unless it already holds exactly that.

    Returns whether the file was written. The temporary file lives in the same
    directory so ``os.replace`` is a rename on one filesystem (atomic on POSIX).
    """
    try:
        if path.stat().st_size == len(data) and path.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except FileNotFoundError:
        # Only the first file of a new folder pays for the mkdir (an archive build
        # writes thousands of files into a few hundred folders).
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; a web server must read it
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return True


def site_exists(out: Path) -> bool:
    return (out / "index.html").exists() and (out / "feeds.opml").exists()


def remove(path: Path) -> bool:
    """Delete ``path`` if it is there; whether it was."""
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    return True
