"""The public demo's sandboxes: every visitor gets a private, freshly seeded database.

The demo accounts are seeded once, when the server starts, into a template file; each session
gets a copy of it (SQLite's online backup: a few milliseconds) in its own private folder,
removed when the session ends. A folder older than the demo's lifetime is removed whatever
happened (a crash, a lost session): :meth:`Sandboxes.sweep`.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

DATABASE = "crm.sqlite3"


@dataclass(frozen=True)
class Sandbox:
    folder: Path

    @property
    def database_url(self) -> str:
        return f"sqlite:///{self.folder / DATABASE}"

    @property
    def exports_root(self) -> Path:
        return self.folder / "exports"


class Sandboxes:
    """Sandboxes under one private folder of the server's (0700)."""

    def __init__(self, root: Path | None = None) -> None:
        if root is None:
            root = Path(tempfile.mkdtemp(prefix="crm-tui-demo-"))
        root.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(root, 0o700)
        self.root = root
        self.template = root / "template.sqlite3"

    def seed(self, contacts: int) -> None:
        """Seed the template once (the demo accounts, as ``crm-tui demo`` makes them)."""
        from crm_tui import db
        from crm_tui.services import demo

        url = f"sqlite:///{self.template}"
        engine = db.get_engine(url)
        try:
            demo.create(engine, contacts=contacts)
            db.checkpoint(engine)
        finally:
            engine.dispose()

    def make(self) -> Sandbox:
        """A new sandbox holding a copy of the template."""
        folder = Path(tempfile.mkdtemp(prefix="visitor-", dir=self.root))
        target = folder / DATABASE
        os.close(os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        src = sqlite3.connect(f"file:{self.template}?mode=ro", uri=True)
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)
        finally:
            dst.close()
            src.close()
        return Sandbox(folder)

    def destroy(self, sandbox: Sandbox) -> None:
        shutil.rmtree(sandbox.folder, ignore_errors=True)

    def sweep(self, max_age: float, now: float | None = None) -> int:
        """Remove sandboxes made more than ``max_age`` seconds ago; how many."""
        cutoff = (time.time() if now is None else now) - max_age
        removed = 0
        for folder in self.root.glob("visitor-*"):
            try:
                if folder.stat().st_mtime < cutoff:
                    shutil.rmtree(folder, ignore_errors=True)
                    removed += 1
            except FileNotFoundError:
                continue
        return removed

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
