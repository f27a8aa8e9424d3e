"""The ``zonewire`` command line (SPEC §4).

Each command lives in ``notifier/commands/<name>.py`` with ``add_arguments(parser)``
and ``run(args, app) -> int``; this module only parses, dispatches, and turns the
packages' own errors into one-line messages with exit code 1.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from feeds.errors import FeedsError
from notifier import __version__
from notifier.app import App
from notifier.config import config_path
from notifier.errors import ConfigError, NotifierError, os_error_message

#: name -> (module under notifier.commands, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("run", "the scheduled worker; --once runs one full cycle and exits"),
    "check": ("check", "validate config and subscriptions; problems as file:line:col"),
    "ingest": ("ingest", "ingest every source now (or one with --source)"),
    "import": ("import_", "bulk-load articles from a JSONL file (- for stdin)"),
    "extract": ("extract", "parse one article page (file or URL) and print it as JSONL"),
    "feeds": ("feeds", "feeds build [--all]: regenerate changed (or all) feeds"),
    "digest": ("digest", "digest preview SUBSCRIBER | digest send: render or send digests"),
    "serve": ("serve", "serve feeds, index, OPML, unsubscribe, health and metrics over HTTP"),
    "status": ("status", "sources, articles, unresolved regions, feeds and deliveries"),
    "scheduler": ("scheduler", "distributed mode: lead (or stand by) and defer the jobs"),
    "worker": ("worker", "distributed mode: run queued jobs [--concurrency N]"),
    "sample-portal": ("sample_portal", "serve the bundled sample portal on 127.0.0.1"),
}


def _config_option(parser: argparse.ArgumentParser, default: object) -> None:
    parser.add_argument(
        "-c",
        "--config",
        metavar="PATH",
        default=default,
        help="config file (default: $ZONEWIRE_CONFIG, else config/zonewire.yaml)",
    )


def _command_in(argv: Sequence[str] | None) -> str | None:
    """The command named on the line, found without loading any command module."""
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("-c", "--config")
    pre.add_argument("command", nargs="?")
    known, _ = pre.parse_known_args(argv)
    if known.command is None:
        return ""  # `zonewire --help`: names and help lines only
    return known.command if known.command in COMMANDS else None


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole command line; with ``only``, just that command's options are loaded
    (each command module imports what it needs, so ``zonewire check`` does not pay
    for the HTTP server or the scheduler)."""
    parser = argparse.ArgumentParser(
        prog="zonewire",
        description="Atom feeds and email/webhook digests of development-zone news.",
    )
    parser.add_argument("--version", action="version", version=f"zonewire {__version__}")
    _config_option(parser, None)
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug details")
    parser.add_argument("--log-json", action="store_true", help="log as JSON lines")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module, help_text) in COMMANDS.items():
        cmd = sub.add_parser(name, help=help_text, description=help_text)
        # -c may come after the command name too; SUPPRESS keeps the top-level value.
        _config_option(cmd, argparse.SUPPRESS)
        if only is None or only == name:
            _load(module).add_arguments(cmd)
    return parser


def _load(module: str):  # type: ignore[no-untyped-def]
    return importlib.import_module(f"notifier.commands.{module}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser(_command_in(argv))
    args = parser.parse_args(argv)
    from notifier.logs import setup_logging

    setup_logging(verbose=args.verbose, json_lines=args.log_json)
    module, _ = COMMANDS[args.command]
    app: App | None = None
    try:
        try:
            app = App.from_config(args.config)
        except ConfigError as exc:
            if args.command != "check":
                raise
            from notifier.commands.check import run_with_broken_config

            return run_with_broken_config(config_path(args.config), exc)
        return int(_load(module).run(args, app))
    except (FeedsError, NotifierError) as exc:
        print(f"zonewire: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # SPEC §4: `zonewire status | head -1` -- the reader has all it wanted.
        _discard_stdout()
        return 1
    except OSError as exc:
        # SPEC §4: the machine's resources (a path that is a file, a full disk, a
        # refused permission) are the operator's to fix: one line naming the path.
        print(f"zonewire: {os_error_message(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("zonewire: interrupted", file=sys.stderr)
        return 130
    finally:
        if app is not None:
            app.close()
        from notifier.logs import teardown_logging

        teardown_logging()


def _discard_stdout() -> None:
    """Point stdout at /dev/null, so the final flush of a closed pipe raises nothing."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no real stdout (an embedding host): nothing to flush
        pass


def console() -> None:
    try:
        code = main()
        sys.stdout.flush()  # a closed pipe shows here, while we can still handle it
    except BrokenPipeError:
        _discard_stdout()
        code = 1
    except OSError as exc:  # e.g. `zonewire status > file` on a full disk
        if exc.filename is None:
            exc.filename = "standard output"
        _discard_stdout()
        print(f"zonewire: {os_error_message(exc)}", file=sys.stderr)
        code = 1
    sys.exit(code)
