"""One line per connection and per session end: time, remote address, key fingerprint, member
id, duration, why it ended. Never a password, never key material (a fingerprint only)."""

from __future__ import annotations

import logging
import sys
import time
from typing import TextIO

LOGGER = logging.getLogger("crm_tui.serve")


class _UTCFormatter(logging.Formatter):
    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z"


def setup(stream: TextIO | None = None) -> logging.Handler:
    """Log to ``stream`` (stderr), one line each, dated in UTC. The handler, to remove later."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(_UTCFormatter("%(asctime)s %(message)s"))
    LOGGER.addHandler(handler)
    LOGGER.setLevel(logging.INFO)
    LOGGER.propagate = False
    return handler


def _value(value: object) -> str:
    text = "-" if value is None or value == "" else str(value)
    text = "".join(c if c.isprintable() else "?" for c in text)
    return f'"{text}"' if " " in text or '"' in text else text


def line(event: str, **fields: object) -> None:
    """``event key=value ...``; values with spaces are quoted, control characters replaced."""
    LOGGER.info(" ".join([event] + [f"{key}={_value(value)}" for key, value in fields.items()]))


def duration(seconds: float) -> str:
    return f"{seconds:.1f}s"
