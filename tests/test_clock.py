"""The clock cannot be moved from outside: no environment variable reaches it in the
installed app or CLI, and a purge refuses a clock set back behind what the database recorded."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest
from conftest import CLOCKED, OWNER, PASSWORDS, dump_database, pin_clock

UTC = timezone.utc


@pytest.fixture
def env(fresh_demo, tmp_path) -> dict:
    return {**os.environ, "CRM_TUI_DATABASE_URL": str(fresh_demo.url), "CRM_TUI_BACKUP_DIR": str(tmp_path / "backups")}


def crm_tui(args: list[str], env: dict, stdin: str = "", now: str | None = None) -> subprocess.CompletedProcess:
    """``python -m crm_tui`` (what the installed script runs), or the test launcher that
    pins the clock when ``now`` is given."""
    launcher = [str(CLOCKED), now, "--"] if now else ["-m", "crm_tui"]
    return subprocess.run(
        [sys.executable, *launcher, *args], input=stdin, capture_output=True, text=True, env=env, timeout=120
    )


def test_no_environment_variable_moves_the_clock(monkeypatch):
    from crm_tui.services import clock

    for name in ("CRM_TUI_NOW", "CRM_TUI_CLOCK", "FAKETIME", "NOW"):
        monkeypatch.setenv(name, "2099-01-01T00:00:00+00:00")
    assert abs(clock.now() - datetime.now(UTC)) < timedelta(minutes=5)


def test_crm_tui_now_does_not_purge_an_account_closed_a_minute_ago(env, fresh_demo):
    closed = crm_tui(
        ["account", "close", "--email", OWNER, "--confirm", "Acme Realty", "--password-stdin"],
        env,
        stdin=PASSWORDS[OWNER] + "\n",
    )
    assert closed.returncode == 0, closed.stderr
    purge = crm_tui(["admin", "purge"], {**env, "CRM_TUI_NOW": "2099-01-01"})
    assert purge.returncode == 0, purge.stderr
    assert "Purged 0 closed accounts" in purge.stdout
    restored = crm_tui(["admin", "restore", "--email", OWNER], env)
    assert restored.returncode == 0, restored.stderr


def test_the_test_launcher_pins_the_clock(env):
    """What the subprocess tests use instead: it pins the clock, through code, not the environment."""
    closed = crm_tui(
        ["account", "close", "--email", OWNER, "--confirm", "Acme Realty", "--password-stdin"],
        env,
        stdin=PASSWORDS[OWNER] + "\n",
        now="2027-11-30T18:00:00+00:00",
    )
    assert closed.returncode == 0 and "29 February 2028" in closed.stdout, closed.stderr


def test_purge_refuses_a_clock_set_back(env, fresh_demo):
    closed = crm_tui(
        ["account", "close", "--email", OWNER, "--confirm", "Acme Realty", "--password-stdin"],
        env,
        stdin=PASSWORDS[OWNER] + "\n",
        now="2027-06-01T12:00:00+00:00",
    )
    assert closed.returncode == 0, closed.stderr
    before = dump_database(fresh_demo)
    purge = crm_tui(["admin", "purge"], env, now="2027-05-31T12:00:00+00:00")
    assert purge.returncode == 1 and purge.stdout == ""
    assert purge.stderr.count("\n") == 1 and "Traceback" not in purge.stderr
    assert "earlier than 2027-06-01 12:00:00 UTC recorded in the database" in purge.stderr
    assert "nothing was purged" in purge.stderr
    assert dump_database(fresh_demo) == before


def test_purge_in_process_refuses_a_clock_behind_the_newest_event(fresh_demo, monkeypatch, tmp_path):
    from crm_tui.services import auth, closing
    from crm_tui.services.errors import InvalidInput

    monkeypatch.setenv("CRM_TUI_BACKUP_DIR", str(tmp_path / "backups"))
    pin_clock(monkeypatch, "2027-01-10T12:00:00+00:00")
    closing.close_account(fresh_demo, auth.as_member(fresh_demo, OWNER), "Acme Realty", PASSWORDS[OWNER])
    pin_clock(monkeypatch, "2027-01-10T11:59:58+00:00")
    with pytest.raises(InvalidInput, match="clock reads 2027-01-10 11:59:58 UTC"):
        closing.purge(fresh_demo)
    report = closing.purge(fresh_demo, now=datetime(2027, 4, 11, tzinfo=UTC))
    assert report.purged == 1
