"""``crm-tui serve --demo``: every visitor, with any key or none, gets a private demo database,
copied from a template seeded once, destroyed when the session ends or its hour is up."""

from __future__ import annotations

import sqlite3
import stat
import subprocess
from pathlib import Path

import pytest

from .kit import SSH_OPTIONS, Served, environ_of, make_key, process_state, start_server, wait_until


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    server = start_server(tmp_path_factory.mktemp("demo-home"), "--demo", "--demo-contacts", "20")
    yield server
    server.stop()


def database_of(pid: int) -> Path:
    url = environ_of(pid)["CRM_TUI_DATABASE_URL"]
    assert url.startswith("sqlite:///")
    return Path(url.removeprefix("sqlite:///"))


def sign_in_as_dana(term) -> None:
    term.wait_for("dana@acme-realty.example")  # the sign-in screen lists the demo's users
    term.send("dana@acme-realty.example\r", "demo-owner\r")
    term.wait_for(lambda: term.screen.display[0].rstrip().endswith("DW ▾"))


def test_two_visitors_never_see_each_others_data(demo: Served, terminals, tmp_path):
    key = make_key(tmp_path, "visitor")
    first = terminals(demo, key)
    first.wait_for("dana@acme-realty.example")
    first_pid = demo.session_pid()
    mark = len(demo.log())
    second = terminals(demo, None)
    second.wait_for("dana@acme-realty.example")
    second_pid = demo.session_pid(after=mark)

    first_db, second_db = database_of(first_pid), database_of(second_pid)
    assert first_db.parent != second_db.parent
    for db in (first_db, second_db):
        assert stat.S_IMODE(db.parent.stat().st_mode) == 0o700
        assert stat.S_IMODE(db.stat().st_mode) == 0o600
    env = environ_of(first_pid)
    assert env["CRM_TUI_SERVE_DEMO"] == "1"
    assert env["CRM_TUI_SERVE_MEMBER_ID"] == "" and env["CRM_TUI_SERVE_KEY"] == ""  # a key is no one's here

    # what the first visitor's demo holds, the second's does not
    with sqlite3.connect(first_db) as conn:
        conn.execute("UPDATE account SET name = 'First Visitor Realty' WHERE name = 'Acme Realty'")
    sign_in_as_dana(first)
    sign_in_as_dana(second)
    assert first.screen.display[0].startswith(" First Visitor Realty")
    assert second.screen.display[0].startswith(" Acme Realty")
    assert "First Visitor" not in second.text()

    # the first visitor leaves: their demo is destroyed; the second's goes on
    first.child.kill(9)
    wait_until(lambda: not first_db.parent.exists(), 10, "the first visitor's demo to be removed")
    wait_until(lambda: process_state(first_pid) is None, 5, "the first visitor's app to be gone")
    assert second_db.exists() and process_state(second_pid) not in (None, "Z")

    # no SFTP in the demo: nothing of a visitor's is kept to fetch
    fetched = subprocess.run(
        ["sftp", *SSH_OPTIONS, "-o", "IdentitiesOnly=yes", "-i", str(key), "-P", str(demo.port), "-b", "-",
         "127.0.0.1"],
        input="ls\n", capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert fetched.returncode != 0 and "subsystem request failed" in fetched.stderr


def test_a_demo_ends_when_its_time_is_up(tmp_path, terminals):
    served = start_server(tmp_path / "home", "--demo", "--demo-contacts", "5", "--demo-lifetime", "3s")
    try:
        term = terminals(served, None)
        term.wait_for("sign in")
        pid = served.session_pid()
        folder = database_of(pid).parent
        term.wait_for("crm-tui: this demo ended after 3 seconds; connect again for a fresh one.", timeout=15)
        assert term.wait_closed() == 0
        assert not folder.exists() and process_state(pid) is None
    finally:
        served.stop()
    assert not folder.parent.exists()  # the template and the demo root go with the server
