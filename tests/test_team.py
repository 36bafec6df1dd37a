"""Team management: add, remove (contacts and to-dos to the owner, appointments deleted),
transfer ownership (re-authentication), leave."""

from __future__ import annotations

import pytest
from conftest import ADMIN, OWNER, PASSWORDS, PLAYER, dump_database
from sqlalchemy import text


def rows(engine, sql: str, **params) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql), params)]


def owned(engine, member_id: int) -> dict[str, int]:
    return {
        "contacts": rows(engine, "SELECT count(*) FROM contact WHERE owner_id = :m", m=member_id)[0][0],
        "todos": rows(engine, "SELECT count(*) FROM todo WHERE assignee_id = :m", m=member_id)[0][0],
        "appointments": rows(engine, "SELECT count(*) FROM appointment WHERE owner_id = :m", m=member_id)[0][0],
        "history": rows(engine, "SELECT count(*) FROM history_entry WHERE member_id = :m", m=member_id)[0][0],
    }


def test_remove_member_moves_contacts_and_todos_and_deletes_appointments(fresh_demo):
    from crm_tui.services import auth, team

    e = fresh_demo
    owner = auth.as_member(e, OWNER)
    player = auth.as_member(e, PLAYER)
    theirs = owned(e, player.member_id)
    mine = owned(e, owner.member_id)
    assert theirs["contacts"] and theirs["todos"] and theirs["appointments"]
    moved_contact_ids = rows(e, "SELECT id FROM contact WHERE owner_id = :m ORDER BY id", m=player.member_id)
    appointment_ids = rows(e, "SELECT id FROM appointment WHERE owner_id = :m", m=player.member_id)
    total_appointments = rows(e, "SELECT count(*) FROM appointment")[0][0]

    preview = team.removal_impact(e, owner, player.member_id)
    assert (preview.contacts_moved, preview.todos_moved, preview.appointments_deleted) == (
        theirs["contacts"],
        theirs["todos"],
        theirs["appointments"],
    )
    assert preview.owner_name == "Dana Whitfield"
    result = team.remove_member(e, owner, player.member_id)
    assert result == preview

    after = owned(e, owner.member_id)
    assert after["contacts"] == mine["contacts"] + theirs["contacts"]
    assert after["todos"] == mine["todos"] + theirs["todos"]
    assert after["appointments"] == mine["appointments"]
    assert after["history"] == mine["history"] + theirs["history"]
    assert set(moved_contact_ids) <= set(rows(e, "SELECT id FROM contact WHERE owner_id = :m", m=owner.member_id))
    assert rows(e, "SELECT count(*) FROM appointment")[0][0] == total_appointments - len(appointment_ids)
    assert rows(e, "SELECT count(*) FROM member WHERE id = :m", m=player.member_id)[0][0] == 0
    assert auth.session_problem(e, player) == "You are no longer a member of this account. Your access has ended."
    assert [m.email for m in team.list_members(e, owner)] == [OWNER, ADMIN]


def test_admin_removes_a_player_but_never_the_owner(fresh_demo):
    from crm_tui.services import auth, team
    from crm_tui.services.errors import PermissionDenied

    e = fresh_demo
    admin = auth.as_member(e, ADMIN)
    owner = auth.as_member(e, OWNER)
    before = dump_database(e)
    with pytest.raises(PermissionDenied, match="owner cannot be removed"):
        team.removal_impact(e, admin, owner.member_id)
    with pytest.raises(PermissionDenied, match="owner cannot be removed"):
        team.remove_member(e, admin, owner.member_id)
    assert dump_database(e) == before
    team.remove_member(e, admin, auth.as_member(e, PLAYER).member_id)
    assert [m.role for m in team.list_members(e, owner)] == ["owner", "administrator"]


def test_transfer_ownership_needs_the_password_and_swaps_roles(fresh_demo):
    from crm_tui.services import auth, closing, team
    from crm_tui.services.errors import AuthenticationFailed, InvalidInput, PermissionDenied

    e = fresh_demo
    owner = auth.as_member(e, OWNER)
    admin = auth.as_member(e, ADMIN)
    before = dump_database(e)
    with pytest.raises(AuthenticationFailed):
        team.transfer_ownership(e, owner, admin.member_id, "wrong")
    with pytest.raises(InvalidInput):
        team.transfer_ownership(e, owner, owner.member_id, PASSWORDS[OWNER])
    after = dump_database(e)
    after.pop("member"), before.pop("member")
    assert after == before
    assert rows(e, "SELECT role FROM member WHERE id = :m", m=owner.member_id) == [("owner",)]

    assert team.transfer_ownership(e, owner, admin.member_id, PASSWORDS[OWNER]) == "Marcus Lee"
    roles = dict(rows(e, "SELECT email, role FROM member WHERE account_id = :a", a=owner.account_id))
    assert roles == {OWNER: "administrator", ADMIN: "owner", PLAYER: "team player"}
    # the old session's role is re-read from the database: no more owner powers
    with pytest.raises(PermissionDenied):
        closing.close_account(e, owner, "Acme Realty", PASSWORDS[OWNER])
    new_owner = auth.as_member(e, ADMIN)
    with pytest.raises(PermissionDenied):
        team.leave_account(e, new_owner, PASSWORDS[ADMIN])
    # the former owner can now leave; their contacts go to the new owner
    theirs = owned(e, owner.member_id)["contacts"]
    before_new = owned(e, new_owner.member_id)["contacts"]
    team.leave_account(e, auth.as_member(e, OWNER), PASSWORDS[OWNER])
    assert owned(e, new_owner.member_id)["contacts"] == before_new + theirs


def test_leave_needs_the_password(fresh_demo):
    from crm_tui.services import auth, team
    from crm_tui.services.errors import AuthenticationFailed

    e = fresh_demo
    player = auth.as_member(e, PLAYER)
    with pytest.raises(AuthenticationFailed):
        team.leave_account(e, player, "wrong")
    assert rows(e, "SELECT count(*) FROM member WHERE id = :m", m=player.member_id) == [(1,)]
    result = team.leave_account(e, player, PASSWORDS[PLAYER])
    assert result.owner_name == "Dana Whitfield" and result.contacts_moved == 20
    assert rows(e, "SELECT count(*) FROM member WHERE id = :m", m=player.member_id) == [(0,)]


def test_add_member_then_sign_in_with_the_temporary_password(fresh_demo):
    from crm_tui.services import auth, team
    from crm_tui.services.errors import InvalidInput

    e = fresh_demo
    admin = auth.as_member(e, ADMIN)
    new = team.add_member(e, admin, "  Lee@Acme-Realty.example ", " Lee Park ", "team player")
    assert new.email == "lee@acme-realty.example" and len(new.temporary_password) >= 10
    who = auth.sign_in(e, "lee@acme-realty.example", new.temporary_password)
    assert (who.role, who.account_name, who.name) == ("team player", "Acme Realty", "Lee Park")
    before = dump_database(e)
    for email, name, role in (
        ("LEE@acme-realty.example", "Dup", "team player"),
        ("sam@birch-books.example", "Sam", "administrator"),
        ("no-at-sign", "X", "team player"),
        ("x@y.example", "   ", "team player"),
        ("x@y.example", "X", "owner"),
    ):
        with pytest.raises(InvalidInput):
            team.add_member(e, admin, email, name, role)
    assert dump_database(e) == before


def test_there_is_only_ever_one_owner(fresh_demo):
    from sqlalchemy.exc import IntegrityError

    e = fresh_demo
    with pytest.raises(IntegrityError):
        with e.begin() as conn:
            conn.execute(text("UPDATE member SET role = 'owner' WHERE email = :e"), {"e": ADMIN})
    assert rows(e, "SELECT count(*) FROM member WHERE role = 'owner'") == [(2,)]  # Acme and Birch


@pytest.mark.parametrize(
    ("email", "needle"),
    [
        ("d\u0430na@acme-realty.example", "before @ may hold only Latin letters"),  # Cyrillic а
        ("dana@\u0430cme-realty.example", "mixes scripts (Cyrillic and Latin)"),
        ("dana@acme-re\u0251lty.example", "looks like another"),  # Latin alpha, not a
        ("\uff44ana@acme-realty.example", "compatibility forms"),  # full-width d
        ("dan\u00e9@acme-realty.example", "before @ may hold only Latin letters"),
        ("dana@\u03b1\u03b2c.example", "mixes scripts (Greek and Latin)"),
        ("dana@x\u0661.example", "not letters, digits or hyphens"),  # Arabic-Indic digit
        ("dana\u200b@acme-realty.example", "not an email address"),  # zero-width space
        ("dana@\u0430\u0440\u0440\u04cf\u0435.example", "reads as a Latin one"),  # "apple", all Cyrillic
    ],
    ids=[
        "cyrillic-local",
        "cyrillic-domain",
        "latin-alpha",
        "fullwidth",
        "accent-local",
        "greek-latin",
        "arabic-digit",
        "zero-width",
        "whole-script",
    ],
)
def test_look_alike_addresses_are_refused_in_one_line(cli_engine_admin, email, needle):
    from crm_tui.services import team
    from crm_tui.services.errors import InvalidInput

    engine, admin = cli_engine_admin
    before = dump_database(engine)
    with pytest.raises(InvalidInput) as refused:
        team.add_member(engine, admin, email, "Dana Lookalike", "team player")
    assert needle in str(refused.value) and "\n" not in str(refused.value)
    assert dump_database(engine) == before


@pytest.mark.parametrize(
    "email",
    [
        "new.person+crm@acme-realty.example",
        "dana@\u043f\u0440\u0438\u043c\u0435\u0440.\u0440\u0444",
        "kenji@\u4f8b\u3048.\u30c6\u30b9\u30c8",
        "anna@b\u00fccher.example",
        "soren@k\u00f8benhavn.example",
        "olga@\u0440\u043e\u0441.\u0440\u0444",  # "рос.рф": under a Cyrillic TLD
        "olga@\u043c\u043e\u0441\u043a\u0432\u0430.example",
    ],
)  # "москва": м, в read as no Latin letter
def test_plain_and_single_script_international_addresses_are_accepted(cli_engine_admin, email):
    from crm_tui.services import team

    engine, admin = cli_engine_admin
    assert team.add_member(engine, admin, email, "New Person", "team player").email == email


@pytest.fixture
def cli_engine_admin(fresh_demo):
    from crm_tui.services import auth

    return fresh_demo, auth.as_member(fresh_demo, ADMIN)
