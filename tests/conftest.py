"""Every test gets its own database file and its own platformdirs folders."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    for var, sub in (
        ("XDG_DATA_HOME", "data"),
        ("XDG_CONFIG_HOME", "config"),
        ("XDG_CACHE_HOME", "cache"),
        ("XDG_STATE_HOME", "state"),
    ):
        monkeypatch.setenv(var, str(home / sub))
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("CRM_TUI_DATABASE_URL", raising=False)
    monkeypatch.delenv("CRM_TUI_BACKUP_DIR", raising=False)
    monkeypatch.delenv("CRM_TUI_NOW", raising=False)  # read by nothing now; an old shell may set it
    from crm_tui.services import clock

    clock.set_fixed(None)  # the system clock, unless the test pins it
    # The machine's zone, which members without a zone of their own see, is the same on every
    # machine: UTC (tests about zones set their own).
    monkeypatch.setenv("TZ", "UTC")
    yield home
    clock.set_fixed(None)
    from crm_tui import db

    db.dispose_all()


def pin_clock(monkeypatch: pytest.MonkeyPatch, when) -> None:
    """Pin the domain clock for the rest of the test (an ISO string or a datetime; None: the
    system clock again). In-process only; a subprocess runs ``tests/clocked.py``."""
    from crm_tui.services import clock

    monkeypatch.setattr(clock, "_fixed", None if when is None else clock.parse(when))


CLOCKED = Path(__file__).with_name("clocked.py")


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'crm.sqlite3'}"


@pytest.fixture
def engine(db_url: str):
    from crm_tui import db

    return db.get_engine(db_url)


@pytest.fixture(params=["sqlite", "portable"])
def archive_database(request, monkeypatch) -> str:
    """Each implementation of the archive's database interface, on SQLite: SQLite's own, and
    the portable one (what other databases get)."""
    from crm_tui.services import archive

    own = request.param == "sqlite"
    monkeypatch.setitem(archive.DATABASES, "sqlite", archive.SQLiteDatabase() if own else archive.PORTABLE)
    return request.param


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


# --- shared fixtures for the foundation suites ----------------------------------------


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory) -> Path:
    """A database file holding both demo accounts (60 contacts), made once per session."""
    from crm_tui import db
    from crm_tui.services import demo

    path = tmp_path_factory.mktemp("demo-template") / "template.sqlite3"
    engine = db.get_engine(f"sqlite:///{path}")
    demo.create(engine, contacts=60, seed=7)
    db.checkpoint(engine)
    return path


@pytest.fixture
def fresh_demo(demo_template: Path, tmp_path: Path):
    """An engine on a private copy of the demo template (cheaper than ``demo_engine``)."""
    import sqlite3

    from crm_tui import db

    target = tmp_path / "demo.sqlite3"
    os.close(os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))  # as db.get_engine makes it
    src = sqlite3.connect(demo_template)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()
    return db.get_engine(f"sqlite:///{target}")


def dump_database(engine) -> dict[str, list[tuple]]:
    """Every row of every table, as SQLite stores it."""
    from sqlalchemy import text

    out: dict[str, list[tuple]] = {}
    with engine.connect() as conn:
        names = conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")).scalars().all()
        for name in names:
            out[name] = sorted((tuple(r) for r in conn.execute(text(f'SELECT * FROM "{name}"'))), key=repr)
    return out


def dump_account(engine, account_id: int) -> dict[str, list[tuple]]:
    """Every row the account owns (and its account row), ordered by id."""
    from sqlalchemy import text

    from crm_tui.models import ACCOUNT_TABLES

    out: dict[str, list[tuple]] = {}
    with engine.connect() as conn:
        for model in ACCOUNT_TABLES:
            name = model.__tablename__
            out[name] = [
                tuple(r)
                for r in conn.execute(
                    text(f'SELECT * FROM "{name}" WHERE account_id = :a ORDER BY id'), {"a": account_id}
                )
            ]
        out["account"] = [
            tuple(r) for r in conn.execute(text("SELECT * FROM account WHERE id = :a"), {"a": account_id})
        ]
    return out


@pytest.fixture(scope="session")
def pinned_demo_template(tmp_path_factory):
    """One demo database per run (seed 7, 60 contacts, the clock pinned to pilot_kit.NOW),
    copied for each app test."""
    from pilot_kit import NOW

    from crm_tui import db
    from crm_tui.services import demo

    path = tmp_path_factory.mktemp("pinned-demo") / "crm.sqlite3"
    with pytest.MonkeyPatch.context() as mp:
        pin_clock(mp, NOW)
        demo.create(db.get_engine(f"sqlite:///{path}"), contacts=60, seed=7)
        db.dispose_all()
    return path


@pytest.fixture
def demo_url(pinned_demo_template, tmp_path, monkeypatch):
    """A private copy of the demo database, with the clock pinned and backups in tmp."""
    import shutil

    from pilot_kit import NOW

    pin_clock(monkeypatch, NOW)
    monkeypatch.setenv("CRM_TUI_BACKUP_DIR", str(tmp_path / "backups"))
    monkeypatch.delenv("SSH_CONNECTION", raising=False)
    path = tmp_path / "crm.sqlite3"
    shutil.copyfile(pinned_demo_template, path)
    return f"sqlite:///{path}"


# --- PostgreSQL ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_server():
    """One real PostgreSQL server for the whole run (tests/pg_server.py), stopped at the end,
    also on failure. Skipped, with the reason in one line, on a machine without the server."""
    import pg_server

    try:
        server = pg_server.start()
    except RuntimeError as exc:
        pytest.skip(f"PostgreSQL tests skipped: {exc}")
    try:
        yield server
    finally:
        pg_server.remove(server)
