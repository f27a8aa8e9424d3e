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
