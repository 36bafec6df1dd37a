"""The limits of ``crm-tui serve`` as a client meets them: idle timeout (with its warning),
sessions per member and in total, new connections per address; and a clean stop."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import time

import pytest

from .kit import SSH_OPTIONS, Served, process_state, start_server, wait_until
from .seed import Team, seed_team


@pytest.fixture(scope="module")
def team(tmp_path_factory) -> Team:
    return seed_team(tmp_path_factory.mktemp("limits-db"))


def no_pty(served: Served, key) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["ssh", "-T", *SSH_OPTIONS, "-o", "IdentitiesOnly=yes", "-i", str(key), "-p", str(served.port), "127.0.0.1"],
        capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def test_an_idle_session_is_warned_then_ended(team: Team, tmp_path, terminals):
    served = start_server(tmp_path / "home", "--database-url", team.url, "--idle-timeout", "4s")
    try:
        term = terminals(served, team.keys["stranger"])
        term.wait_for("Password")
        pid = served.session_pid()
        # the app owns the screen: the warning is the window's title (and a bell)
        term.wait_for(lambda: "this session ends in 2 seconds" in term.screen.title, timeout=10)
        term.send("x")  # any key: the idle clock starts again
        typed = time.monotonic()
        term.wait_for(lambda: term.screen.title == "crm-tui", timeout=5)
        term.wait_for("crm-tui: this session ended after 4 seconds without input.", timeout=15)
        assert time.monotonic() - typed >= 3.5
        assert term.wait_closed() == 0
        wait_until(lambda: process_state(pid) is None, 5, "the app to be gone")
        assert re.search(rf"session-end .*pid={pid} .*end=idle", served.log())
    finally:
        served.stop()


def test_sessions_per_member_and_in_total_are_capped(team: Team, tmp_path, terminals):
    served = start_server(
        tmp_path / "home", "--database-url", team.url, "--max-sessions", "2", "--max-sessions-per-member", "1"
    )
    try:
        first = terminals(served, team.keys["dana"])
        first.wait_for(lambda: served.log().count("session from=") == 1)
        second = terminals(served, team.keys["dana"])
        second.wait_for("crm-tui: 1 session open already, the most allowed; close one and try again.")
        assert second.wait_closed() == 1
        terminals(served, team.keys["stranger"]).wait_for(lambda: served.log().count("session from=") == 2)
        full = terminals(served, team.keys["priya"])
        full.wait_for("crm-tui: the server is full (2 sessions); try again later.")
        assert full.wait_closed() == 1
        assert served.log().count('reason="session limit"') == 2
    finally:
        served.stop()


def test_a_slow_login_is_cut_and_new_connections_from_one_address_are_limited(team: Team, tmp_path):
    served = start_server(
        tmp_path / "home", "--database-url", team.url, "--login-timeout", "1s", "--per-ip-limit", "3",
        "--per-ip-window", "1m",
    )  # fmt: skip
    try:
        # a client that never authenticates is closed when the login timeout passes
        with socket.create_connection(("127.0.0.1", served.port), timeout=10) as raw:
            assert raw.recv(100).startswith(b"SSH-2.0-")
            opened = time.monotonic()
            raw.settimeout(10)
            while raw.recv(4096):
                pass
            assert 0.8 <= time.monotonic() - opened < 5
        served.wait_log(r"connection from=\S+ key=- member=- duration=\S+ end=.*[Ll]ogin timeout")

        for _ in range(2):  # that was one new connection; two more are let in
            assert "a terminal is required" in no_pty(served, team.keys["dana"]).stdout
        refused = no_pty(served, team.keys["dana"])
        assert refused.returncode == 255
        assert "too many new connections from your address (the most is 3 in 1 minute); try again later" in (
            refused.stderr
        )
        assert "a terminal is required" not in refused.stdout
        served.wait_log(r'connection from=\S+ key=- member=- duration=\S+ end="too many connections from this address"')
    finally:
        served.stop()


def test_stopping_the_server_ends_every_session_with_a_message(team: Team, tmp_path, terminals):
    home = tmp_path / "home"
    served = start_server(home, "--database-url", team.url)
    first_key = re.search(r"new host key: (SHA256:\S+)", served.out.read_text()).group(1)
    term = terminals(served, team.keys["stranger"])
    term.wait_for("Password")
    pid = served.session_pid()
    assert served.stop(signal.SIGINT) == 0  # ctrl+c
    term.wait_for("crm-tui: the server is shutting down; this session has ended.")
    assert term.wait_closed() == 0
    assert process_state(pid) is None
    assert "stopped (1 session ended)" in served.out.read_text()
    assert re.search(rf'session-end .*pid={pid} .*end="server stopped"', served.log())

    again = start_server(home, "--database-url", team.url)  # the same host key, not a new one
    try:
        assert re.search(r"^host key: (SHA256:\S+)", again.out.read_text(), re.M).group(1) == first_key
    finally:
        assert again.stop() == 0
