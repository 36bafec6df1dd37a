"""What one ``crm-tui serve`` runs with: address, database, folders and limits."""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

# the app of one session (owned by the app side: crm_tui/served.py)
APP_CHILD = (sys.executable, "-m", "crm_tui.served")

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h)?\s*$")
_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


def parse_duration(text: str) -> float:
    """Seconds from "90s", "30m", "1h" or a bare number of seconds; ValueError otherwise."""
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"not a duration: {text!r} (say 90s, 30m or 1h)")
    return float(match.group(1)) * _UNITS[match.group(2)]


def format_duration(seconds: float) -> str:
    """ "30 minutes", "1 hour", "45 seconds": how a limit is named to the person it ends."""
    for unit, size in (("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            n = int(seconds // size)
            return f"{n} {unit}{'s' if n != 1 else ''}"
    n = round(seconds)
    return f"{n} second{'s' if n != 1 else ''}"


@dataclass(frozen=True)
class Limits:
    """Every limit the server enforces (seconds, counts). The defaults suit a small team on one
    host; each has a ``crm-tui serve`` flag."""

    login_timeout: float = 60.0  # from TCP connect to authenticated
    idle_timeout: float = 30 * 60.0  # no input for this long ends a session
    idle_warning: float = 60.0  # the warning comes this long before (at most half the timeout)
    max_sessions: int = 50  # app sessions at once, everyone together
    max_sessions_per_member: int = 3  # app sessions at once for one member
    connections_per_ip: int = 10  # new connections from one address ...
    connections_window: float = 60.0  # ... within this many seconds
    demo_lifetime: float = 3600.0  # a demo sandbox lives this long at most
    hangup_grace: float = 3.0  # SIGHUP, then SIGKILL after this long

    def warning_lead(self) -> float:
        return min(self.idle_warning, self.idle_timeout / 2)


@dataclass(frozen=True)
class ServeConfig:
    host: str = "127.0.0.1"
    port: int = 2222
    database_url: str = ""
    demo: bool = False
    host_key: Path = field(default_factory=Path)
    exports_root: Path = field(default_factory=Path)
    limits: Limits = field(default_factory=Limits)
    demo_contacts: int = 250
    child_argv: tuple[str, ...] = APP_CHILD  # the app of one session
    export_max_age: float = 7 * 24 * 3600.0  # exports older than this are removed
    sweep_interval: float = 3600.0
