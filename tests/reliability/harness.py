"""Shared pieces of the reliability suites: a prepared demo database, copies of it, dumps.

Everything here works on plain files so that a test (or a killed child process) can be
checked from the outside: the database file, its ``-wal``/``-shm`` and the backup folder.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

OWNER = "dana@acme-realty.example"
ADMIN = "marcus@acme-realty.example"
PLAYER = "priya@acme-realty.example"
OTHER_OWNER = "sam@birch-books.example"
PASSWORDS = {OWNER: "demo-owner", ADMIN: "demo-admin", PLAYER: "demo-player", OTHER_OWNER: "demo-birch"}
ACME_ID, BIRCH_ID = 1, 2

# Every trial runs at the same pinned instant, so audit rows and timestamps are comparable.
PINNED_NOW = "2026-03-10T12:00:00+00:00"
# Past the restore window of an account closed at PINNED_NOW (3 months → 10 June 2026).
AFTER_WINDOW = "2026-07-01T12:00:00+00:00"


@dataclass(frozen=True)
class Place:
    """A database file and the backup folder that belongs to it."""

    root: Path

    @property
    def db(self) -> Path:
        return self.root / "crm.sqlite3"

    @property
    def url(self) -> str:
        return f"sqlite:///{self.db}"

    @property
    def backups(self) -> Path:
        return self.root / "backups"

    def env(self) -> dict[str, str]:
        return {"CRM_TUI_BACKUP_DIR": str(self.backups), "CRM_TUI_DATABASE_URL": self.url}

    def files(self) -> list[Path]:
        """The backup files (not the folder's ``owner`` file, which names its database)."""
        if not self.backups.exists():
            return []
        return sorted(p for p in self.backups.rglob("*") if p.is_file() and p.name != "owner")


def set_env(env: dict[str, str]) -> None:
    os.environ.update(env)


def set_clock(now: str | None) -> None:
    """Pin this process's domain clock (None: the system clock)."""
    from crm_tui.services import clock

    clock.set_fixed(now)


def use(place: Place, now: str | None = PINNED_NOW) -> None:
    """Point this process at ``place`` (database and backup folder), the clock pinned at ``now``."""
    set_env(place.env())
    set_clock(now)


def pin_clock(monkeypatch, now: str) -> None:
    """Pin the clock for the rest of a test."""
    from crm_tui.services import clock

    monkeypatch.setattr(clock, "_fixed", clock.parse(now))


def forget_engines() -> None:
    """Close every pooled connection of this process (before a fork, or between trials)."""
    from crm_tui import db

    db.dispose_all()


def build_demo(place: Place, contacts: int = 40, seed: int = 7) -> None:
    """Both demo accounts, the database id recorded, the WAL folded back in."""
    from crm_tui import db
    from crm_tui.services import backups, demo

    place.root.mkdir(parents=True, exist_ok=True)
    use(place)
    engine = db.get_engine(place.url)
    demo.create(engine, contacts=contacts, seed=seed)
    with db.write_connection(engine) as conn:  # the database id that names the backup folder,
        backups.database_folder(conn)  # as the first backup would record it
    backups.sweep(engine)
    db.checkpoint(engine)
    forget_engines()


def copy_place(src: Place, dst: Place) -> Place:
    """Copy the database (file and any -wal after a checkpoint) and its backup folder."""
    dst.root.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal"):
        f = Path(str(src.db) + suffix)
        if f.exists():
            shutil.copyfile(f, Path(str(dst.db) + suffix))
    if src.backups.exists():
        shutil.copytree(src.backups, dst.backups)
    return dst


def connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA busy_timeout = 10000")
    return conn


def table_names(conn: sqlite3.Connection) -> list[str]:
    return [
        r[0]
        for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
        )
    ]


# Columns whose value is random by design (file names, keys) or depends on it.
_VOLATILE = {"backup": {"file_name", "size", "sha256"}, "backup_key": {"key"}}


def dump(path: Path) -> dict[str, list[tuple]]:
    """Every row of every table, sorted, with the random-by-design columns blanked."""
    conn = connect(path)
    try:
        out: dict[str, list[tuple]] = {}
        for name in table_names(conn):
            cur = conn.execute(f'SELECT * FROM "{name}"')
            cols = [d[0] for d in cur.description]
            skip = _VOLATILE.get(name, set())
            rows = [tuple("*" if c in skip else v for c, v in zip(cols, r, strict=False)) for r in cur]
            if name == "setting":  # the folders backups were written in: each place has its own path
                rows = [(k, "*") if k == "backup_folders" else (k, v) for k, v in rows]
            out[name] = sorted(rows, key=repr)
        return out
    finally:
        conn.close()


ACCOUNT_TABLES = (
    "member",
    "contact",
    "email_template",
    "autoresponder",
    "autoresponder_step",
    "appointment",
    "todo",
    "history_entry",
    "messages_service",
    "text_message",
    "invoice",
)


def dump_account(path: Path, account_id: int) -> dict[str, list[tuple]]:
    """Every row an account owns, and its account row, ordered by id."""
    conn = connect(path)
    try:
        out = {
            t: [tuple(r) for r in conn.execute(f'SELECT * FROM "{t}" WHERE account_id = ? ORDER BY id', (account_id,))]
            for t in ACCOUNT_TABLES
        }
        out["account"] = [tuple(r) for r in conn.execute("SELECT * FROM account WHERE id = ?", (account_id,))]
        return out
    finally:
        conn.close()


def diff_tables(a: dict, b: dict) -> list[str]:
    return sorted(t for t in set(a) | set(b) if a.get(t) != b.get(t))


def integrity_problems(path: Path) -> list[str]:
    """``PRAGMA integrity_check`` and ``foreign_key_check`` findings (empty when sound)."""
    conn = connect(path)
    try:
        problems = []
        check = [r[0] for r in conn.execute("PRAGMA integrity_check")]
        if check != ["ok"]:
            problems.append("integrity_check: " + "; ".join(check[:3]))
        fk = conn.execute("PRAGMA foreign_key_check").fetchall()
        if fk:
            problems.append(f"foreign_key_check: {len(fk)} rows, e.g. {fk[0]}")
        return problems
    finally:
        conn.close()


def audit_ok(url: str) -> bool:
    from crm_tui import db
    from crm_tui.services import audit

    with db.read_session(db.get_engine(url)) as s:
        return audit.verify(s).ok


def sign_in(engine, email: str):
    from crm_tui.services import auth

    return auth.sign_in(engine, email, PASSWORDS[email])


def run_cli(argv: list[str], capsys, monkeypatch, password: str | None = None) -> tuple[int, str, str]:
    """``crm_tui.cli.main`` (what the ``crm-tui`` script runs), in this process."""
    import io
    import sys

    from crm_tui import cli

    monkeypatch.setattr(sys, "stdin", io.StringIO((password or "") + "\n"))
    try:
        code = cli.main(argv)
    except SystemExit as exc:  # argparse usage errors
        code = exc.code
    finally:
        forget_engines()
    out, err = capsys.readouterr()
    return code, out, err


def one_line_refusal(code: int, err: str) -> bool:
    return code == 1 and err.startswith("crm-tui: ") and err.count("\n") == 1 and "Traceback" not in err
