"""``crm-tui serve`` on PostgreSQL, the team's shared database: a member's key is found there
and the app of the session opens on it."""

from __future__ import annotations

from .kit import environ_of, start_server
from .seed import OWNER, seed_team


def test_a_members_key_opens_their_dashboard_on_postgresql(postgres_server, tmp_path, terminals):
    postgres_server.psql("DROP DATABASE IF EXISTS serve_keys")
    postgres_server.psql("CREATE DATABASE serve_keys")
    url = postgres_server.url("serve_keys")
    team = seed_team(tmp_path, url=url)
    served = start_server(tmp_path / "home", "--database-url", url)
    try:
        term = terminals(served, team.keys["dana"])
        term.wait_for(lambda: term.screen.display[0].rstrip().endswith("DW ▾"))
        assert term.screen.display[0].startswith(" Acme Realty")
        env = environ_of(served.session_pid())
        assert env["CRM_TUI_DATABASE_URL"] == url
        assert env["CRM_TUI_SERVE_MEMBER_ID"] == str(team.members[OWNER])
        stranger = terminals(served, team.keys["stranger"])
        stranger.wait_for("Password")
    finally:
        served.stop()
