"""Every test gets its own database and its own platformdirs folders.

Backends: every test that asks for a database through ``db_url``, ``engine``, ``fresh_demo``,
``demo_engine`` or ``demo_url`` runs twice, on SQLite and on PostgreSQL (ids ``[sqlite]`` and
``[postgresql]``; ``--backend sqlite|postgresql|both`` picks). On PostgreSQL each test gets a
fresh database on one server per session (``postgres_server``); the demo databases are copied
from template databases seeded once per session. Tests about SQLite itself are marked
``@pytest.mark.sqlite_only("why")`` and run once, on SQLite, with their ids unchanged.
A machine without PostgreSQL runs the SQLite half and says so in one line.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import pytest

BACKENDS = ("sqlite", "postgresql")

# Test files (``path``) or tests (``path::name``) whose PostgreSQL half does not pass yet:
# deselected on PostgreSQL only. This list only shrinks.
PG_NOT_YET: tuple[str, ...] = ()


# Parameters choosing a path SQLite alone has: on PostgreSQL the test with that parameter is
# the same as with the other, and is left out. (name -> the SQLite-only value)
SQLITE_PATHS = {
    "archive_database": "sqlite",  # the archive's own SQLite implementation (conftest)
    "sqlite_path": "fast",  # the same, in test_importer
    "rebuild": True,  # closing rebuilds indexes on SQLite only (test_close_deletes)
}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--backend",
        choices=("sqlite", "postgresql", "both"),
        default="both",
        help="which database backends the database tests run on (default: both)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "sqlite_only(reason): about SQLite itself (pragmas, file bytes, WAL); runs on SQLite only"
    )
    config.addinivalue_line(
        "markers",
        "pg_xfail(reason): the PostgreSQL half may fail for a reason owned elsewhere (account locking, backups "
        "stored in the database); xfail(strict=False) on PostgreSQL only",
    )
    chosen = config.getoption("--backend")
    backends = list(BACKENDS) if chosen == "both" else [chosen]
    config._crm_pg_missing = None  # type: ignore[attr-defined]
    if "postgresql" in backends:
        import pg_server

        if pg_server.find_bin_dir() is None:
            config._crm_pg_missing = "no PostgreSQL server binaries (initdb, pg_ctl) on this machine"  # type: ignore[attr-defined]
            if chosen == "both":
                backends.remove("postgresql")
    config._crm_backends = backends  # type: ignore[attr-defined]


def pytest_terminal_summary(terminalreporter, exitstatus, config: pytest.Config) -> None:
    missing = config._crm_pg_missing  # type: ignore[attr-defined]
    if missing and config.getoption("--backend") == "both":
        terminalreporter.write_line(f"PostgreSQL tests skipped: {missing} (the SQLite half ran)")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" not in metafunc.fixturenames:
        return
    backends = list(metafunc.config._crm_backends)  # type: ignore[attr-defined]
    if metafunc.definition.get_closest_marker("sqlite_only") is not None:
        if "sqlite" not in backends:
            backends = []  # deselected below: nothing to run on the chosen backend
        else:
            return  # not parametrized: the backend fixture answers "sqlite", the id stays as it was
    metafunc.parametrize("backend", backends, indirect=True)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    chosen = config._crm_backends  # type: ignore[attr-defined]
    keep, drop = [], []
    for item in items:
        fixturenames = getattr(item, "fixturenames", ())
        callspec = getattr(item, "callspec", None)
        backend = callspec.params.get("backend") if callspec is not None else None
        if "backend" in fixturenames and backend is None and "sqlite" not in chosen:
            drop.append(item)  # sqlite_only, and SQLite not chosen
        elif "postgres_server" in fixturenames and "backend" not in fixturenames and "postgresql" not in chosen:
            drop.append(item)  # about PostgreSQL itself, and PostgreSQL not chosen
        elif backend == "postgresql" and (
            item.nodeid.split("::")[0] in PG_NOT_YET or item.nodeid.split("[")[0] in PG_NOT_YET
        ):
            drop.append(item)
        elif backend == "postgresql" and any(callspec.params.get(k, not v) == v for k, v in SQLITE_PATHS.items()):
            drop.append(item)  # on PostgreSQL the same test as its other parameter
        else:
            keep.append(item)
            pg_xfail = item.get_closest_marker("pg_xfail")
            if backend == "postgresql" and pg_xfail is not None:
                item.add_marker(pytest.mark.xfail(strict=False, reason=pg_xfail.args[0]))
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    """The database backend of this test: "sqlite" or "postgresql"."""
    return getattr(request, "param", "sqlite")


_pg_names = itertools.count(1)


def _pg_new_database(server, template: str | None = None) -> str:
    name = f"t{os.getpid()}_{next(_pg_names)}"
    server.psql(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    return name


def _pg_drop_database(server, name: str) -> None:
    from crm_tui import db

    db.dispose_all()
    server.psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pg_database(request: pytest.FixtureRequest):
    """A new, empty PostgreSQL database for this test, dropped afterwards; yields its URL."""
    server = request.getfixturevalue("postgres_server")
    name = _pg_new_database(server)
    yield server.url(name)
    _pg_drop_database(server, name)


def is_postgresql(url_or_engine) -> bool:
    url = str(getattr(url_or_engine, "url", url_or_engine))
    return url.startswith("postgresql")


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


@pytest.fixture(scope="session")
def pg_schema_template(postgres_server) -> str:
    """A template database holding the schema and nothing else (migrating takes a while)."""
    from crm_tui import db

    name = _pg_new_database(postgres_server)
    url = postgres_server.url(name)
    engine = db.get_engine(url)
    engine.dispose()
    db._engines.pop(url, None)
    return name


@pytest.fixture
def db_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """The URL of a new database on this test's backend, holding no data. On SQLite the file
    does not exist yet; on PostgreSQL the database has the schema already (as the app makes it
    on first start); ``pg_database`` gives one without."""
    if backend == "postgresql":
        server = request.getfixturevalue("postgres_server")
        # for demo_engine, a copy of the demo template: seeding it again costs most of a test
        template = "pg_demo_template" if "demo_engine" in request.fixturenames else "pg_schema_template"
        name = _pg_new_database(server, template=request.getfixturevalue(template))
        request.addfinalizer(lambda: _pg_drop_database(server, name))
        return server.url(name)
    return f"sqlite:///{tmp_path / 'crm.sqlite3'}"


@pytest.fixture
def other_db_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A second new database on this test's backend (as ``db_url``), to restore or copy into."""
    if backend == "postgresql":
        server = request.getfixturevalue("postgres_server")
        name = _pg_new_database(server, template=request.getfixturevalue("pg_schema_template"))
        request.addfinalizer(lambda: _pg_drop_database(server, name))
        return server.url(name)
    return f"sqlite:///{tmp_path / 'other.sqlite3'}"


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
def demo_engine(engine, backend: str):
    """An engine on a database holding both demo accounts (small, for speed). On PostgreSQL
    ``db_url`` copied them from the demo template already (the same ``demo.create`` call)."""
    from crm_tui.services import demo

    if backend != "postgresql":
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


@pytest.fixture(scope="session")
def pg_demo_template(postgres_server) -> str:
    """The PostgreSQL twin of ``demo_template``: a template database, seeded once per session."""
    from crm_tui import db
    from crm_tui.services import demo

    name = _pg_new_database(postgres_server)
    engine = db.get_engine(postgres_server.url(name))
    try:
        demo.create(engine, contacts=60, seed=7)
    finally:
        engine.dispose()
        db._engines.pop(postgres_server.url(name), None)
    return name


@pytest.fixture
def pg_demo(postgres_server, pg_demo_template, request: pytest.FixtureRequest):
    """An engine on a private PostgreSQL copy of the demo template (``fresh_demo`` on
    PostgreSQL; asked for by name, by tests about PostgreSQL itself)."""
    from crm_tui import db

    name = _pg_new_database(postgres_server, template=pg_demo_template)
    request.addfinalizer(lambda: _pg_drop_database(postgres_server, name))
    return db.get_engine(postgres_server.url(name))


@pytest.fixture
def fresh_demo(backend: str, tmp_path: Path, request: pytest.FixtureRequest):
    """An engine on a private copy of the demo template (cheaper than ``demo_engine``)."""
    import sqlite3

    from crm_tui import db

    if backend == "postgresql":
        return request.getfixturevalue("pg_demo")
    demo_template = request.getfixturevalue("demo_template")
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
    """Every row of every table, as the database stores it."""
    from sqlalchemy import inspect, text

    out: dict[str, list[tuple]] = {}
    with engine.connect() as conn:
        names = sorted(inspect(conn).get_table_names())
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


@pytest.fixture(scope="session")
def pg_pinned_demo_template(postgres_server) -> str:
    """The PostgreSQL twin of ``pinned_demo_template``: a template database."""
    from pilot_kit import NOW

    from crm_tui import db
    from crm_tui.services import demo

    name = _pg_new_database(postgres_server)
    url = postgres_server.url(name)
    with pytest.MonkeyPatch.context() as mp:
        pin_clock(mp, NOW)
        engine = db.get_engine(url)
        try:
            demo.create(engine, contacts=60, seed=7)
        finally:
            engine.dispose()
            db._engines.pop(url, None)
    return name


@pytest.fixture
def demo_url(backend: str, tmp_path, monkeypatch, request: pytest.FixtureRequest):
    """A private copy of the demo database, with the clock pinned and backups in tmp."""
    import shutil

    from pilot_kit import NOW

    pin_clock(monkeypatch, NOW)
    monkeypatch.setenv("CRM_TUI_BACKUP_DIR", str(tmp_path / "backups"))
    monkeypatch.delenv("SSH_CONNECTION", raising=False)
    if backend == "postgresql":
        server = request.getfixturevalue("postgres_server")
        name = _pg_new_database(server, template=request.getfixturevalue("pg_pinned_demo_template"))
        request.addfinalizer(lambda: _pg_drop_database(server, name))
        return server.url(name)
    path = tmp_path / "crm.sqlite3"
    shutil.copyfile(request.getfixturevalue("pinned_demo_template"), path)
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
