"""`zonewire check`: not built yet (issue 5)."""

from __future__ import annotations

import argparse

from notifier.app import App
from notifier.errors import UsageError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)


def run(args: argparse.Namespace, app: App) -> int:
    raise UsageError("this command is not implemented yet (tracked in issue 5)")
