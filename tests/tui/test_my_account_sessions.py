"""My Account lists the member's own command-line sessions; x ends the one selected."""

from __future__ import annotations

from datetime import timedelta

import pytest
from conftest import OWNER, PLAYER
from pilot_kit import SIZE, press, rows, run, sign_in, static_text, table_text

pytestmark = pytest.mark.sqlite_only(
    "screen behaviour; the services under it run on both backends (service tests, and the PostgreSQL Pilot "
    "runs of contacts, closing, team, import, download, lists, messages)"
)


def _sessions(url: str) -> dict[str, str]:
    """Two sessions of the owner (one expired) and one of the team player, made through the
    service as 'crm-tui login' makes them; returns label → token."""
    from crm_tui import db
    from crm_tui.services import auth, clock, sessions

    engine = db.get_engine(url)
    owner = auth.as_member(engine, OWNER)
    now = clock.now()
    made = {
        "command line, dana@laptop": sessions.create(engine, owner, "command line, dana@laptop", now=now),
        "command line, dana@old": sessions.create(
            engine, owner, "command line, dana@old", now=now - timedelta(hours=13)
        ),
        "command line, dana@server": sessions.create(
            engine, owner, "command line, dana@server", now=now - timedelta(minutes=5)
        ),
        "command line, priya@desk": sessions.create(
            engine, auth.as_member(engine, PLAYER), "command line, priya@desk", now=now
        ),
    }
    db.dispose_all()
    return made


@run
async def test_my_account_lists_and_ends_the_members_own_sessions(demo_url):
    from crm_tui.tui.app import CrmApp
    from crm_tui.tui.screens.my_account import MyAccountScreen

    tokens = _sessions(demo_url)
    app = CrmApp(database_url=demo_url)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot, OWNER)
        await press(pilot, "p", "enter")
        assert isinstance(app.screen, MyAccountScreen), app.screen
        listed = [r[0] for r in table_text(app.screen, "#sessions-table")]
        assert listed == ["command line, dana@laptop", "command line, dana@server"]  # newest use first
        app.screen.query_one("#sessions-table").focus()
        await press(pilot, "down", "x")  # the server's
        assert [r[0] for r in table_text(app.screen, "#sessions-table")] == ["command line, dana@laptop"]
        left = {r[0] for r in rows(app.engine, "SELECT token_hash FROM cli_session")}
        from crm_tui.services.sessions import token_hash

        assert token_hash(tokens["command line, dana@server"]) not in left
        assert {token_hash(tokens[k]) for k in ("command line, dana@laptop", "command line, priya@desk")} <= left
        await press(pilot, "x")
        assert table_text(app.screen, "#sessions-table") == []
        assert "crm-tui login" in static_text(app.screen, "#sessions-status")
        await press(pilot, "x")  # nothing left: nothing happens
        assert token_hash(tokens["command line, priya@desk"]) in {
            r[0] for r in rows(app.engine, "SELECT token_hash FROM cli_session")
        }
