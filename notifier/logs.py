"""Logging setup: readable lines on a terminal, JSON lines with ``--log-json``."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

from notifier.redact import RedactingFilter


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key.startswith("zw_"):
                data[key[3:]] = value
        if record.exc_text:  # set (and scrubbed) by RedactingFilter
            data["exception"] = record.exc_text
        elif record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False, default=str)


def setup_logging(*, verbose: bool = False, json_lines: bool = False) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if json_lines:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S")
        )
    handler.set_name("zonewire")
    handler.addFilter(RedactingFilter())  # no webhook token in any log line (issue 11)
    root = logging.getLogger()
    # Replace only our own handler: one installed by a host (pytest's caplog, an
    # embedding application) keeps working.
    root.handlers[:] = [h for h in root.handlers if h.get_name() != "zonewire"] + [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    for noisy in ("httpx", "httpcore", "alembic", "uvicorn.access", "mail.log"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # APScheduler logs every job it adds and every run it skips because the previous
    # one is still going (by design here); our own jobs log what they did.
    logging.getLogger("apscheduler").setLevel(logging.DEBUG if verbose else logging.ERROR)


def teardown_logging() -> None:
    """Remove our handler again: a host that called ``main()`` (a test, an embedding
    program) keeps no handler writing to a stream that may be closed by then."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if h.get_name() == "zonewire"]:
        root.removeHandler(handler)
        handler.close()
