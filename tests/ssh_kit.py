"""SSH keys for tests, made by the real ssh-keygen (the oracle of fingerprints)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

SSH_KEYGEN = shutil.which("ssh-keygen")
needs_keygen = pytest.mark.skipif(SSH_KEYGEN is None, reason="ssh-keygen is not installed")


def make_key(folder: Path, kind: str = "ed25519", comment: str = "me@laptop", bits: int | None = None) -> Path:
    """A fresh key pair made by ssh-keygen; returns the private key's path (the .pub beside it)."""
    path = folder / f"id_{kind}_{len(list(folder.glob('id_*')))}"
    args = [SSH_KEYGEN, "-q", "-t", kind, "-N", "", "-C", comment, "-f", str(path)]
    if bits:
        args[2:2] = ["-b", str(bits)]
    subprocess.run(args, check=True, capture_output=True)
    return path


def keygen_fingerprint(pub: Path) -> str:
    out = subprocess.run([SSH_KEYGEN, "-lf", str(pub)], check=True, capture_output=True, text=True).stdout
    return out.split()[1]
