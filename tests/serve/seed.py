"""A served database: the demo accounts (small) and members' SSH keys, made in-process."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text

from .kit import make_key

OWNER = "dana@acme-realty.example"
ADMIN = "marcus@acme-realty.example"
PLAYER = "priya@acme-realty.example"


@dataclass
class Team:
    url: str
    members: dict[str, int]  # email -> member id
    keys: dict[str, Path]  # name -> private key file


def seed_team(folder: Path, contacts: int = 20, url: str | None = None) -> Team:
    """Demo accounts in ``folder``/crm.sqlite3 and keys: ``dana``, ``priya``, ``marcus`` and
    ``marcus_rsa`` (each linked to that member), ``dana_locked`` (Dana's too, but passphrase-protected: a client in
    batch mode can offer it, never sign with it) and ``stranger`` (linked to no one). ``url``: another
    database (PostgreSQL) instead of the SQLite file."""
    from crm_tui import db
    from crm_tui.services import demo, ssh_keys

    url = url or f"sqlite:///{folder / 'crm.sqlite3'}"
    engine = db.get_engine(url)
    demo.create(engine, contacts=contacts, seed=7)
    with engine.connect() as conn:
        members = {email: id for id, email in conn.execute(text("SELECT id, email FROM member")).all()}
    keys = {
        "dana": make_key(folder, "dana"),
        "dana_locked": make_key(folder, "dana_locked", passphrase="not typed by anyone"),
        "priya": make_key(folder, "priya"),
        "marcus": make_key(folder, "marcus"),
        "marcus_rsa": make_key(folder, "marcus_rsa", kind="rsa"),
        "stranger": make_key(folder, "stranger"),
    }
    linked = (("dana", OWNER), ("dana_locked", OWNER), ("priya", PLAYER), ("marcus", ADMIN), ("marcus_rsa", ADMIN))
    for name, email in linked:
        ssh_keys.add(engine, members[email], keys[name].with_suffix(".pub").read_text())
    engine.dispose()  # the server opens it in its own process
    return Team(url, members, keys)


def public_line(key: Path) -> str:
    """ "ssh-ed25519 AAAA..." without the comment."""
    return " ".join(key.with_suffix(".pub").read_text().split()[:2])
