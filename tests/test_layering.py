"""Layering: the services and the CLI import without Textual; --help and --version import
neither Textual nor the database stack."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("textual", "sqlalchemy", "sqlmodel", "alembic")


def run_python(code: str, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env)


def test_every_service_module_and_the_cli_import_without_textual():
    code = """
import importlib, json, pkgutil, sys
import crm_tui.services as services
names = sorted(m.name for m in pkgutil.iter_modules(services.__path__, "crm_tui.services."))
for name in names:
    importlib.import_module(name)
import crm_tui.cli, crm_tui.db, crm_tui.models, crm_tui.paths, crm_tui.text
print(json.dumps({"modules": names, "textual": sorted(m for m in sys.modules if m.split(".")[0] == "textual")}))
"""
    proc = run_python(code)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    for expected in (
        "auth",
        "accounts",
        "team",
        "messages",
        "billing",
        "closing",
        "backups",
        "survey",
        "audit",
        "demo",
        "dashboard",
    ):
        assert f"crm_tui.services.{expected}" in report["modules"]
    assert report["textual"] == []


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["--version"],
        ["account", "--help"],
        ["team", "remove", "--help"],
        ["admin", "restore", "--help"],
        ["demo", "--help"],
    ],
)
def test_help_and_version_import_no_heavy_library(argv):
    code = f"""
import json, sys
from crm_tui import cli
try:
    code = cli.main({argv!r})
except SystemExit as exc:
    code = exc.code
heavy = sorted({{m.split(".")[0] for m in sys.modules}} & set({list(HEAVY)!r}))
print("\\n" + json.dumps({{"code": code, "heavy": heavy}}))
"""
    proc = run_python(code)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report == {"code": 0, "heavy": []}
    if argv == ["--version"]:
        assert proc.stdout.startswith("crm-tui ")


def test_python_dash_m_version_imports_no_heavy_library():
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "crm_tui", "--version"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0
    assert proc.stdout.startswith("crm-tui ")
    imported = {
        line.split("|")[-1].strip().split(".")[0]
        for line in proc.stderr.splitlines()
        if line.startswith("import time:")
    }
    assert "crm_tui" in imported
    assert imported.isdisjoint(HEAVY), imported & set(HEAVY)


def test_opening_a_sqlite_database_loads_no_other_dialect(tmp_path):
    """The models name the one-owner index's PostgreSQL form only when such a table is
    created: SQLAlchemy would otherwise load its PostgreSQL dialect on every start. (Creating
    the schema runs the migrations, which name both forms, so the file is made beforehand.)"""
    url = f"sqlite:///{tmp_path / 'x.sqlite3'}"
    assert run_python(f"from crm_tui import db; db.get_engine({url!r})").returncode == 0
    code = f"""
import json, sys
from crm_tui import db
from crm_tui.services import auth, dashboard, demo
engine = db.get_engine({url!r})
print(json.dumps(sorted(m for m in sys.modules if m.startswith("sqlalchemy.dialects."))))
"""
    proc = run_python(code)
    assert proc.returncode == 0, proc.stderr
    loaded = json.loads(proc.stdout.strip().splitlines()[-1])
    assert any(m.startswith("sqlalchemy.dialects.sqlite") for m in loaded)
    assert not [m for m in loaded if m.split(".")[2] not in ("sqlite", "_typing")], loaded


def test_plain_crm_tui_starts_the_app_without_the_command_line_parser():
    """No arguments: the app on the default database, without importing argparse or
    describing every subcommand first; any argument goes through the parser."""
    code = """
import sys
import crm_tui.tui.launch as launch
launch.run_app = lambda url: print("APP", url, "argparse" in sys.modules, "crm_tui.cli" in sys.modules) or 0
sys.argv = ["crm-tui", *sys.argv[1:]]
from crm_tui.start import run
raise SystemExit(run())
"""
    plain = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert plain.returncode == 0, plain.stderr
    assert plain.stdout.strip() == "APP None False False"
    with_url = subprocess.run(
        [sys.executable, "-c", code, "--database-url", "sqlite:///x.db", "--create"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert with_url.returncode == 0, with_url.stderr
    assert with_url.stdout.strip() == "APP sqlite:///x.db True True"


ORM = ("sqlmodel", "pydantic", "sqlalchemy.orm", "crm_tui.models")


def test_signing_in_and_the_dashboard_load_no_orm(fresh_demo):
    """Everything between starting the app and a signed-in dashboard runs on SQLAlchemy Core
    (crm_tui.tables): the screens, opening the database, the start-up tidy, signing in, the
    dashboard's figures and the session check. The ORM models load afterwards (warm_up)."""
    from conftest import OWNER, PASSWORDS

    url = str(fresh_demo.url)
    code = f"""
import json, sys
import crm_tui.tui.app, crm_tui.tui.screens.signin, crm_tui.tui.screens.main
from crm_tui import db, tables
from crm_tui.services import auth, backups, dashboard
engine = db.get_engine({url!r})
with db.read_connection(engine) as conn:
    empty = tables.database_is_empty(conn)
backups.sweep(engine)
db.finish_checkpoint(engine)
try:  # an email that is no member's: the closed accounts are looked at, through Core too
    auth.sign_in(engine, "nobody@example.com", "guess")
except auth.AuthenticationFailed:
    pass
who = auth.sign_in(engine, {OWNER!r}, {PASSWORDS[OWNER]!r})
figures = dashboard.dashboard(engine, who)
problem = auth.session_problem(engine, who)
loaded = sorted(m for m in sys.modules if m in {list(ORM)!r})
print(json.dumps({{"empty": empty, "who": who.email, "contacts": figures.contacts, "problem": problem,
                  "loaded": loaded}}))
"""
    proc = run_python(code)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["empty"] is False and report["who"] == OWNER and report["problem"] is None
    assert report["contacts"] > 0
    assert report["loaded"] == []
