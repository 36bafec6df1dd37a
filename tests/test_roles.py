"""The product's role table as a matrix: every action x every role x own / other account.

The allowed combination succeeds and does what it says; the refused one raises a domain
error (PermissionDenied or NotFound) and leaves every row of the database as it was.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from conftest import ADMIN, OTHER_OWNER, OWNER, PASSWORDS, PLAYER, dump_database
from sqlalchemy import text

ROLE_EMAIL = {"owner": OWNER, "administrator": ADMIN, "team player": PLAYER}
ACME = "Acme Realty"
BIRCH = "Birch & Co Bookkeeping"

# the product's role table, written out independently of the code's own table.
ALLOWED = {
    "billing summary": {"owner"},
    "change plan": {"owner"},
    "impact": {"owner"},
    "close account": {"owner"},
    "add member": {"owner", "administrator"},
    "remove member": {"owner", "administrator"},
    "remove the owner": set(),  # nobody removes the owner: transfer first
    "transfer ownership": {"owner"},
    "leave account": {"administrator", "team player"},
    "messages settings": {"owner", "administrator"},
    "messages cancel": {"owner"},
    "export": {"owner", "administrator"},
}


def scalar(engine, sql: str, **params):
    with engine.connect() as conn:
        return conn.execute(text(sql), params).scalar()


def member_id(engine, email: str) -> int:
    return scalar(engine, "SELECT id FROM member WHERE email = :e", e=email)


def account_id(engine, name: str) -> int:
    return scalar(engine, "SELECT id FROM account WHERE name = :n", n=name)


class Case:
    """One action, run as ``who``; ``other`` aims it at Birch instead of the actor's own account."""

    def __init__(self, engine, who, other: bool, tmp_path: Path) -> None:
        self.engine, self.who, self.other, self.tmp_path = engine, who, other, tmp_path
        self.birch_id = account_id(engine, BIRCH)
        if other:
            # a session that claims the other account: the service must not believe it
            self.actor = dataclasses.replace(who, account_id=self.birch_id, account_name=BIRCH)
        else:
            self.actor = who
        self.password = PASSWORDS[who.email]

    def colleague(self) -> int:
        """A team member to act on: someone else in Acme, or Birch's owner for ``other``."""
        if self.other:
            return member_id(self.engine, OTHER_OWNER)
        return member_id(self.engine, PLAYER if self.who.email != PLAYER else ADMIN)


def run(action: str, c: Case):
    """Perform ``action``; returns a check to run afterwards when it succeeded."""
    from crm_tui.services import accounts, billing, closing, messages, team

    e, who = c.engine, c.actor
    if action == "billing summary":
        summary = billing.summary(e, who)
        return lambda: summary.account_name == ACME and summary.plan_code == "professional"
    if action == "change plan":
        billing.change_plan(e, who, "enterprise")
        return lambda: (
            scalar(e, "SELECT p.code FROM account a JOIN plan p ON p.id = a.plan_id WHERE a.id = :a", a=who.account_id)
            == "enterprise"
        )
    if action == "impact":
        impact = accounts.impact(e, who)
        return lambda: (
            impact.account_name == ACME and impact.counts["contacts"] == 60 and len(impact.members_losing_access) == 2
        )
    if action == "close account":
        closing.close_account(e, who, BIRCH if c.other else ACME, c.password)
        return lambda: (
            scalar(e, "SELECT count(*) FROM account WHERE name = :n", n=ACME) == 0
            and scalar(e, "SELECT count(*) FROM contact WHERE account_id = :a", a=who.account_id) == 0
        )
    if action == "add member":
        new = team.add_member(e, who, "newcomer@acme-realty.example", "New Comer", "team player")
        return lambda: scalar(e, "SELECT account_id FROM member WHERE id = :m", m=new.id) == who.account_id
    if action == "remove member":
        target = c.colleague()
        result = team.remove_member(e, who, target)
        owner = member_id(e, OWNER)
        return lambda: (
            scalar(e, "SELECT count(*) FROM member WHERE id = :m", m=target) == 0
            and result.contacts_moved == 20
            and scalar(e, "SELECT count(*) FROM contact WHERE owner_id = :o", o=owner) == 40
        )
    if action == "remove the owner":
        team.remove_member(e, who, member_id(e, OTHER_OWNER if c.other else OWNER))
        return lambda: False  # never allowed
    if action == "transfer ownership":
        target = member_id(e, OTHER_OWNER) if c.other else member_id(e, ADMIN)
        team.transfer_ownership(e, who, target, c.password)
        return lambda: (
            scalar(e, "SELECT role FROM member WHERE id = :m", m=target) == "owner"
            and scalar(e, "SELECT role FROM member WHERE id = :m", m=who.member_id) == "administrator"
        )
    if action == "leave account":
        team.leave_account(e, who, c.password)
        return lambda: scalar(e, "SELECT count(*) FROM member WHERE id = :m", m=who.member_id) == 0
    if action == "messages settings":
        st = messages.settings(e, who)
        return lambda: st.status == "active" and st.sent + st.received == 30
    if action == "messages cancel":
        result = messages.cancel(e, who, c.password)
        return lambda: (
            result.messages_deleted == 30
            and scalar(e, "SELECT count(*) FROM text_message WHERE account_id = :a", a=who.account_id) == 0
            and scalar(e, "SELECT status FROM messages_service WHERE account_id = :a", a=who.account_id) == "cancelled"
        )
    if action == "export":
        export = pytest.importorskip("crm_tui.services.export", reason="crm_tui.services.export is not written yet")
        out = c.tmp_path / "out"
        out.mkdir(exist_ok=True)
        try:
            result = export.export_account(e, who, out_dir=out)
        except Exception:
            assert list(out.iterdir()) == [], "a refused export left a file behind"
            raise
        return lambda: Path(result.path).is_file() and Path(result.path).stat().st_size > 0
    raise AssertionError(action)


MATRIX = [
    pytest.param(action, role, scope, id=f"{action}-{role}-{scope}".replace(" ", "_"))
    for action in ALLOWED
    for role in ("owner", "administrator", "team player")
    for scope in ("own", "other")
]


@pytest.mark.parametrize(("action", "role", "scope"), MATRIX)
def test_role_table(fresh_demo, tmp_path, action, role, scope):
    from crm_tui.services import auth
    from crm_tui.services.errors import NotFound, PermissionDenied

    who = auth.as_member(fresh_demo, ROLE_EMAIL[role])
    assert who.role == role
    case = Case(fresh_demo, who, scope == "other", tmp_path)
    allowed = scope == "own" and role in ALLOWED[action]
    before = dump_database(fresh_demo)
    if allowed:
        check = run(action, case)
        assert check(), f"{action} as {role} did not do what it says"
        if action not in ("billing summary", "impact", "messages settings"):
            assert dump_database(fresh_demo) != before
    else:
        with pytest.raises((PermissionDenied, NotFound)) as refused:
            run(action, case)
        message = str(refused.value)
        assert message and "\n" not in message
        assert dump_database(fresh_demo) == before, f"refused {action} as {role} changed the database"


def test_matrix_covers_every_role_of_the_code():
    """The code's own table agrees with the product's table wherever both speak of the same action."""
    from crm_tui.services import auth

    pairs = {
        "billing.view": "billing summary",
        "billing.change_plan": "change plan",
        "account.impact": "impact",
        "account.close": "close account",
        "team.add": "add member",
        "team.remove": "remove member",
        "team.transfer": "transfer ownership",
        "team.leave": "leave account",
        "messages.view": "messages settings",
        "messages.cancel": "messages cancel",
        "data.export": "export",
    }
    for code_action, design_action in pairs.items():
        assert set(auth.PERMISSIONS[code_action]) == ALLOWED[design_action], code_action


def test_owner_cannot_remove_self_or_leave_and_nothing_changes(fresh_demo):
    from crm_tui.services import auth, team
    from crm_tui.services.errors import DomainError

    who = auth.as_member(fresh_demo, OWNER)
    before = dump_database(fresh_demo)
    with pytest.raises(DomainError):
        team.remove_member(fresh_demo, who, who.member_id)
    with pytest.raises(DomainError):
        team.leave_account(fresh_demo, who, PASSWORDS[OWNER])
    assert dump_database(fresh_demo) == before


def test_a_member_removed_meanwhile_is_refused(fresh_demo):
    """A stale session (the member was removed) can do nothing, not even read."""
    from crm_tui.services import auth, billing, team
    from crm_tui.services.errors import NotFound

    owner = auth.as_member(fresh_demo, OWNER)
    admin = auth.as_member(fresh_demo, ADMIN)
    team.remove_member(fresh_demo, owner, admin.member_id)
    before = dump_database(fresh_demo)
    with pytest.raises(NotFound):
        team.add_member(fresh_demo, admin, "x@acme-realty.example", "X", "team player")
    with pytest.raises(NotFound):
        team.list_members(fresh_demo, admin)
    with pytest.raises(NotFound):
        billing.summary(fresh_demo, owner.__class__(**{**owner.__dict__, "member_id": admin.member_id}))
    assert dump_database(fresh_demo) == before
    assert auth.session_problem(fresh_demo, admin) == (
        "You are no longer a member of this account. Your access has ended."
    )
