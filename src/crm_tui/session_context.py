"""How the person using the app is connected to it: the facts of one session.

The entry point (:func:`crm_tui.tui.launch.run_app`, or :mod:`crm_tui.served` for a session
``crm-tui serve`` started) reads them once from the process's environment and hands them to the
app; screens and services take them as an argument and never
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


# what `crm-tui serve` sets for the app of one session (see docs: the serve contract)
SERVE_VARIABLES = (
    "CRM_TUI_SERVE_MEMBER_ID",
    "CRM_TUI_SERVE_KEY",
    "CRM_TUI_SERVE_EXPORTS",
    "CRM_TUI_SERVE_HOST",
    "CRM_TUI_SERVE_PORT",
    "CRM_TUI_SERVE_DEMO",
)


@dataclass(frozen=True)
class SessionContext:
    """``ssh_host`` and ``ssh_port``: this machine's address and port as the SSH client reached
    them ("" when the session did not come over SSH); ``user``: the account on this machine the
    session runs as (what ``scp`` logs in as).

    A session ``crm-tui serve`` started is ``served``: ``member_id`` is the member whose SSH key
    completed authentication (None: an unknown key, or none), ``public_key`` that key as an
    OpenSSH line ("" without one; offered for linking after a password sign-in),
    ``exports_root`` the folder under which each member's exports go (``<root>/<member id>/``,
    fetched over the server's SFTP), ``demo`` the public demo mode."""

    ssh_host: str = ""
    ssh_port: str = ""
    user: str = ""
    served: bool = False
    member_id: int | None = None
    public_key: str = ""
    exports_root: Path | None = None
    demo: bool = False

    @classmethod
    def from_served_environ(cls, environ: Mapping[str, str]) -> SessionContext:
        """The context of one session ``crm-tui serve`` started, from the ``CRM_TUI_SERVE_*``
        variables it set (and nothing else)."""
        member = environ.get("CRM_TUI_SERVE_MEMBER_ID", "").strip()
        root = environ.get("CRM_TUI_SERVE_EXPORTS", "").strip()
        return cls(
            ssh_host=environ.get("CRM_TUI_SERVE_HOST", "").strip(),
            ssh_port=environ.get("CRM_TUI_SERVE_PORT", "").strip() or "22",
            served=True,
            member_id=int(member) if member.isdigit() else None,
            public_key=environ.get("CRM_TUI_SERVE_KEY", "").strip(),
            exports_root=Path(root) if root else None,
            demo=environ.get("CRM_TUI_SERVE_DEMO", "") == "1",
        )

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

    def export_folder(self, member_id: int) -> Path | None:
        """Where a served session writes the member's exports (and receipts): their own folder
        under :attr:`exports_root`, made private (0700) if it is not there; None outside a
        served session (the downloads folder). A served session without an exports folder
        writes nowhere: :class:`OSError`."""
        if not self.served:
            return None
        if self.exports_root is None:
            raise OSError("this server keeps no exports folder, so nothing can be saved in this session")
        folder = self.exports_root / str(int(member_id))
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(folder, 0o700)  # whatever the umask made of it
        return folder

    def scp_line(self, path: Path) -> str | None:
        """A ready command to fetch ``path`` from this machine onto the user's own computer,
        when the session came over SSH (None otherwise). In a served session, the ``sftp``
        command for the server's own SFTP, where the member's folder is the root."""
        host = f"[{self.ssh_host}]" if ":" in self.ssh_host else self.ssh_host  # IPv6
        path = Path(path)
        if self.served:
            if not self.ssh_host or self.exports_root is None:
                return None
            try:
                inside = path.relative_to(self.exports_root).parts[1:]  # under <root>/<member id>/
            except ValueError:
                return None
            if not inside:
                return None
            port_option = f"-P {self.ssh_port} " if self.ssh_port != "22" else ""
            return f"sftp {port_option}{host}:{shlex.quote('/'.join(inside))} ."
        if not self.over_ssh:
            return None
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
