"""The one exception family of the ``notifier`` package."""

from __future__ import annotations


class NotifierError(Exception):
    """Root of every error the notifier package raises on purpose."""


class ConfigError(NotifierError, ValueError):
    """A configuration or subscriptions file that cannot be used as written.

    The message holds one line per problem, each ``file:line:col: message``.
    """

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or message.splitlines()


class UsageError(NotifierError):
    """A command line that asks for something that does not exist (exit 1)."""


def os_error_message(exc: OSError) -> str:
    """``path: reason`` for an OSError (SPEC §4: the operator fixes the machine's
    resources: a path that is a file, a full disk, a refused permission)."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    hint = _OS_HINTS.get(exc.errno or 0, "")
    if exc.filename is None:
        return f"{reason}{hint}"
    paths = f"{exc.filename}" + (f" -> {exc.filename2}" if exc.filename2 else "")
    return f"{paths}: {reason}{hint}"


_OS_HINTS = {
    20: " (a part of this path is a file; check the path in the config)",  # ENOTDIR
    21: " (expected a file; check the path in the config)",  # EISDIR
    13: " (check the owner and mode of the path, or run as its owner)",  # EACCES
    1: " (check the owner and mode of the path, or run as its owner)",  # EPERM
    28: " (free some space on that disk)",  # ENOSPC
    30: " (the file system is read-only)",  # EROFS
}

