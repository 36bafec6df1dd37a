"""The server's host key: ed25519, made on first start, kept 0600 in the data folder."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import asyncssh

from crm_tui.paths import ensure_private_dir
from crm_tui.services.errors import InvalidInput


def load_or_create(path: Path) -> tuple[asyncssh.SSHKey, bool]:
    """The key at ``path`` (made there, 0600, when missing) and whether it was just made. A key
    file others can read is refused, as OpenSSH refuses one."""
    if path.exists():
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise InvalidInput(f"the host key {path} can be read by others (mode {mode:04o}); chmod 600 it")
        try:
            return asyncssh.read_private_key(str(path)), False
        except (OSError, asyncssh.KeyImportError) as exc:
            raise InvalidInput(f"cannot read the host key {path}: {exc}") from None
    ensure_private_dir(path.parent)
    key = asyncssh.generate_private_key("ssh-ed25519", comment="crm-tui serve")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(key.export_private_key("openssh"))
        out.flush()
        os.fsync(out.fileno())
    public = path.with_name(path.name + ".pub")
    public.write_bytes(key.export_public_key("openssh"))
    return key, True


def fingerprint(key: asyncssh.SSHKey) -> str:
    """ "SHA256:..." as ``ssh-keygen -l`` prints it."""
    return key.get_fingerprint("sha256")
