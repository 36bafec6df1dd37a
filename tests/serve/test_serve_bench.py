"""The server benchmark's measuring (tests/bench/serve.py) on one short session: it times the
dashboard as the member sees it, and times keys by what they change on the screen."""

from __future__ import annotations

import pytest
from bench.serve import CYCLE, DOWN, Session, contacts_painted, settle, ssh_to_dashboard, type_keys

from .kit import Served, start_server
from .seed import Team, seed_team


@pytest.fixture(scope="module")
def team(tmp_path_factory) -> Team:
    return seed_team(tmp_path_factory.mktemp("bench-db"))


@pytest.fixture(scope="module")
def served(team: Team, tmp_path_factory):
    server = start_server(tmp_path_factory.mktemp("bench-home"), "--database-url", team.url)
    yield server
    server.stop()


def test_one_session_is_timed_to_its_dashboard_and_its_keys_to_screen_updates(served: Served, team: Team):
    seconds, pid, term = ssh_to_dashboard(served, team.keys["dana"])
    try:
        assert seconds > 0 and pid > 0
        assert "Welcome, Dana" in term.text() and "Open to-dos" in term.text()
        session = Session(term)
        term.send("1")
        term.wait_for(lambda: contacts_painted(term.text()))
        settle([session])
        session.rows = [session._row(y) for y in range(len(session.rows))]
        first = highlighted(session)
        type_keys([session], 0.5)
        assert session.sent == 5 and not session.pending
        assert len(session.latencies) == 5 and all(x > 0 for x in session.latencies)
        # the cycle starts with eight keys down: the highlight is five rows lower
        assert CYCLE[:5] == [DOWN] * 5
        assert highlighted(session) == first + 5
    finally:
        term.close()


def highlighted(session: Session) -> int:
    """The list's row whose background no other row of the list has: the cursor's."""
    backgrounds = [row[10].bg for row in session.rows[4:-1]]
    (row,) = [y for y, bg in enumerate(backgrounds, start=4) if backgrounds.count(bg) == 1]
    return row
