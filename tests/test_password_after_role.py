"""Destructive steps refuse a role the table does not allow before asking for the password."""

from __future__ import annotations

import pytest
from conftest import ADMIN, OWNER, PLAYER, dump_database


def _failed(engine, email: str) -> int:
    from sqlalchemy import text

    with engine.connect() as conn:
        return conn.execute(text("SELECT failed_logins FROM member WHERE email = :e"), {"e": email}).scalar_one()


@pytest.mark.parametrize(
    ("email", "step", "needle"),
    [
        (PLAYER, "messages", "only the account owner can cancel Messages"),
        (ADMIN, "messages", "only the account owner can cancel Messages"),
        (OWNER, "leave", "transfer ownership first"),
    ],
)
def test_a_refused_role_is_refused_before_the_password_counts(fresh_demo, email, step, needle):
    from crm_tui.services import auth, messages, team
    from crm_tui.services.errors import PermissionDenied

    who = auth.as_member(fresh_demo, email)
    before = dump_database(fresh_demo)
    call = {"messages": messages.cancel, "leave": team.leave_account}[step]
    with pytest.raises(PermissionDenied, match=needle):
        call(fresh_demo, who, "a wrong password")
    assert _failed(fresh_demo, email) == 0
    assert dump_database(fresh_demo) == before


@pytest.mark.parametrize(("email", "step"), [(OWNER, "messages"), (ADMIN, "leave"), (PLAYER, "leave")])
def test_an_allowed_role_with_a_wrong_password_changes_nothing_but_the_count(fresh_demo, email, step):
    from crm_tui.services import auth, messages, team
    from crm_tui.services.errors import AuthenticationFailed

    who = auth.as_member(fresh_demo, email)
    before = dump_database(fresh_demo)
    call = {"messages": messages.cancel, "leave": team.leave_account}[step]
    with pytest.raises(AuthenticationFailed):
        call(fresh_demo, who, "a wrong password")
    assert _failed(fresh_demo, email) == 1
    after = dump_database(fresh_demo)
    before.pop("member"), after.pop("member")
    assert after == before
