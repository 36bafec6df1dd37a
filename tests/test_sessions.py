"""Command-line login sessions: the service (hashed tokens, 12 hours idle, revoke, ends with
the member or the account) and the 0600 file that keeps the tokens."""

from __future__ import annotations

import stat
from datetime import datetime, timedelta, timezone

import pytest
from conftest import ADMIN, OWNER, PLAYER, sign_in
from sqlalchemy import text

T0 = datetime(2026, 12, 4, 9, 0, tzinfo=timezone.utc)


def rows(engine) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text("SELECT member_id, token_hash, label FROM cli_session"))]


def test_only_the_hash_of_the_token_is_kept(fresh_demo):
    from crm_tui.services import sessions

    who = sign_in(fresh_demo, OWNER)
    token = sessions.create(fresh_demo, who, label="cli, dana@host", now=T0)
    assert len(token) >= 40
    [(member_id, digest, label)] = rows(fresh_demo)
    assert (member_id, label) == (who.member_id, "cli, dana@host")
    assert digest == sessions.token_hash(token) and token not in digest
    assert sessions.check(fresh_demo, token, who.member_id, now=T0).session_id > 0


def test_a_session_is_its_members_only(fresh_demo):
    from crm_tui.services import sessions
    from crm_tui.services.errors import AuthenticationFailed

    player = sign_in(fresh_demo, PLAYER)
    owner = sign_in(fresh_demo, OWNER)
    token = sessions.create(fresh_demo, player, now=T0)
    with pytest.raises(AuthenticationFailed):
        sessions.check(fresh_demo, token, owner.member_id, now=T0)
    with pytest.raises(AuthenticationFailed):
        sessions.check(fresh_demo, token + "x", player.member_id, now=T0)


def test_it_expires_after_12_hours_unused_and_use_extends_it(fresh_demo):
    from crm_tui.services import sessions
    from crm_tui.services.errors import AuthenticationFailed

    who = sign_in(fresh_demo, ADMIN)
    token = sessions.create(fresh_demo, who, now=T0)
    almost = T0 + timedelta(hours=11, minutes=59)
    checked = sessions.check(fresh_demo, token, who.member_id, now=almost)
    assert checked.stale
    sessions.touch(fresh_demo, checked.session_id, now=almost)
    later = almost + timedelta(hours=11)  # 22 h after login, 11 h after its last use
    assert sessions.check(fresh_demo, token, who.member_id, now=later).session_id == checked.session_id
    with pytest.raises(AuthenticationFailed, match="expired"):
        sessions.check(fresh_demo, token, who.member_id, now=almost + timedelta(hours=12))
    # a use within TOUCH_EVERY of the last is not written again
    assert not sessions.check(fresh_demo, token, who.member_id, now=almost + timedelta(seconds=30)).stale


def test_list_and_revoke_own_sessions_only(fresh_demo):
    from crm_tui.services import sessions
    from crm_tui.services.errors import NotFound

    owner, player = sign_in(fresh_demo, OWNER), sign_in(fresh_demo, PLAYER)
    sessions.create(fresh_demo, owner, label="old", now=T0 - timedelta(hours=13))
    sessions.create(fresh_demo, owner, label="laptop", now=T0)
    mine = sessions.create(fresh_demo, owner, label="server", now=T0 + timedelta(minutes=5))
    theirs = sessions.create(fresh_demo, player, label="priya", now=T0)
    listed = sessions.list_for(fresh_demo, owner, now=T0 + timedelta(minutes=10))
    assert [r.label for r in listed] == ["server", "laptop"]  # the expired one is not shown
    assert listed[0].expires_at == T0 + timedelta(minutes=5, hours=12)
    player_row = sessions.list_for(fresh_demo, player, now=T0)[0]
    with pytest.raises(NotFound):
        sessions.revoke(fresh_demo, owner, player_row.id)
    sessions.check(fresh_demo, theirs, player.member_id, now=T0)  # still there
    sessions.revoke(fresh_demo, owner, listed[0].id)
    with pytest.raises(Exception, match="not signed in"):
        sessions.check(fresh_demo, mine, owner.member_id, now=T0 + timedelta(minutes=10))


def test_logging_in_again_deletes_the_members_expired_sessions(fresh_demo):
    from crm_tui.services import sessions

    who = sign_in(fresh_demo, OWNER)
    sessions.create(fresh_demo, who, label="expired", now=T0 - timedelta(hours=12))
    sessions.create(fresh_demo, who, label="new", now=T0)
    assert [r[2] for r in rows(fresh_demo)] == ["new"]


def test_sessions_end_when_the_member_is_removed_or_leaves(fresh_demo):
    from crm_tui.services import sessions, team

    owner, player, admin = sign_in(fresh_demo, OWNER), sign_in(fresh_demo, PLAYER), sign_in(fresh_demo, ADMIN)
    sessions.create(fresh_demo, player, label="p")
    sessions.create(fresh_demo, admin, label="a")
    sessions.create(fresh_demo, owner, label="o")
    team.remove_member(fresh_demo, owner, player.member_id)
    team.leave_account(fresh_demo, admin, "demo-admin")
    assert [r[2] for r in rows(fresh_demo)] == ["o"]


def test_closing_the_account_ends_every_members_session_and_restore_brings_none_back(fresh_demo, tmp_path, monkeypatch):
    from crm_tui.services import closing, sessions

    monkeypatch.setenv("CRM_TUI_BACKUP_DIR", str(tmp_path / "backups"))
    owner, player = sign_in(fresh_demo, OWNER), sign_in(fresh_demo, PLAYER)
    birch = sign_in(fresh_demo, "sam@birch-books.example")
    sessions.create(fresh_demo, owner)
    sessions.create(fresh_demo, player)
    kept = sessions.create(fresh_demo, birch)
    closing.close_account(fresh_demo, owner, "Acme Realty", "demo-owner")
    assert [r[1] for r in rows(fresh_demo)] == [sessions.token_hash(kept)]
    closing.restore(fresh_demo, OWNER)
    assert [r[1] for r in rows(fresh_demo)] == [sessions.token_hash(kept)]


def test_the_token_file_is_private_and_keyed_by_database_and_email(tmp_path):
    from crm_tui import session_file

    path = tmp_path / "conf" / "crm-tui" / "sessions.json"
    session_file.save("sqlite:////a.db", "Dana@Example.com ", "t1", path)
    session_file.save("sqlite:////b.db", "dana@example.com", "t2", path)
    session_file.save("sqlite:////a.db", "dana@example.com", "t3", path)  # replaces t1
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert session_file.token_for("sqlite:////a.db", "DANA@example.com", path) == "t3"
    assert session_file.token_for("sqlite:////b.db", "dana@example.com", path) == "t2"
    assert session_file.token_for("sqlite:////c.db", "dana@example.com", path) is None
    assert session_file.forget("sqlite:////a.db", None, path) == [("dana@example.com", "t3")]
    assert session_file.token_for("sqlite:////a.db", "dana@example.com", path) is None
    assert session_file.saved("sqlite:////b.db", path) == ["dana@example.com"]


def test_a_token_file_others_can_read_is_not_used(tmp_path):
    from crm_tui import session_file

    path = tmp_path / "sessions.json"
    session_file.save("sqlite:////a.db", "dana@example.com", "t1", path)
    path.chmod(0o644)
    with pytest.raises(PermissionError, match="can be read by others"):
        session_file.token_for("sqlite:////a.db", "dana@example.com", path)
