"""Every test gets its own database file and its own platformdirs folders."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    for var, sub in (("XDG_DATA_HOME", "data"), ("XDG_CONFIG_HOME", "config"),
                     ("XDG_CACHE_HOME", "cache"), ("XDG_STATE_HOME", "state")):
        monkeypatch.setenv(var, str(home / sub))
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("CRM_TUI_DATABASE_URL", raising=False)
    monkeypatch.delenv("CRM_TUI_BACKUP_DIR", raising=False)
    monkeypatch.delenv("CRM_TUI_NOW", raising=False)
    yield home
    from crm_tui import db

    db.dispose_all()


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'crm.sqlite3'}"


@pytest.fixture
def engine(db_url: str):
    from crm_tui import db

    return db.get_engine(db_url)


@pytest.fixture
def demo_engine(engine):
    """An engine on a database holding both demo accounts (small, for speed)."""
    from crm_tui.services import demo

    demo.create(engine, contacts=60, seed=7)
    return engine


def sign_in(engine, email: str):
    from crm_tui.services import auth, demo

    password = {u.email: u.password for u in demo.DEMO_USERS}[email]
    return auth.sign_in(engine, email, password)


OWNER = "dana@acme-realty.example"
ADMIN = "marcus@acme-realty.example"
PLAYER = "priya@acme-realty.example"
OTHER_OWNER = "sam@birch-books.example"
PASSWORDS = {
    OWNER: "demo-owner",
    ADMIN: "demo-admin",
    PLAYER: "demo-player",
    OTHER_OWNER: "demo-birch",
}
_ = os
