"""How the person using the app is connected to it: the facts of one session.

The entry point (:func:`crm_tui.tui.launch.run_app`) reads them once from the process's
environment and hands them to the app; screens and services take them as an argument and never
read the environment themselves, so a process serving several sessions, or a test, can give
each its own.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

# where getpass.getuser() looks, in its order
_USER_VARIABLES = ("LOGNAME", "USER", "LNAME", "USERNAME")


@dataclass(frozen=True)
class SessionContext:
    """``ssh_host`` and ``ssh_port``: this machine's address and port as the SSH client reached
    them ("" when the session did not come over SSH); ``user``: the account on this machine the
    session runs as (what ``scp`` logs in as)."""

    ssh_host: str = ""
    ssh_port: str = ""
    user: str = ""

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> SessionContext:
        """From ``SSH_CONNECTION`` ("client-address client-port server-address server-port"),
        and the user as :func:`getpass.getuser` finds it."""
        user = next((environ[name] for name in _USER_VARIABLES if environ.get(name)), "") or _os_user()
        parts = environ.get("SSH_CONNECTION", "").split()
        if len(parts) < 4:
            return cls(user=user)
        return cls(ssh_host=parts[2], ssh_port=parts[3], user=user)

    @property
    def over_ssh(self) -> bool:
        return bool(self.ssh_host)

    def scp_line(self, path: Path) -> str | None:
        """A ready command to fetch ``path`` from this machine onto the user's own computer,
        when the session came over SSH (None otherwise)."""
        if not self.over_ssh:
            return None
        host = f"[{self.ssh_host}]" if ":" in self.ssh_host else self.ssh_host  # IPv6
        path = Path(path)
        try:
            remote = path.relative_to(Path.home()).as_posix()  # scp starts from the home folder
        except ValueError:
            remote = str(path)
        port_option = f"-P {self.ssh_port} " if self.ssh_port != "22" else ""
        return f"scp {port_option}{self.user}@{host}:{shlex.quote(remote)} ."


def _os_user() -> str:
    try:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_name
    except Exception:  # no password database entry, or no pwd module (Windows)
        return ""
