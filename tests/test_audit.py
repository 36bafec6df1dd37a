"""Audit events verify whatever zone their time was given in, and carry no personal data."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from conftest import OWNER, PASSWORDS


def test_an_event_given_a_time_in_another_zone_still_verifies(engine):
    from sqlalchemy import text

    from crm_tui import db
    from crm_tui.services import audit

    at = datetime(2025, 1, 1, 12, 0, 30, 123456, tzinfo=timezone(timedelta(hours=2)))
    with db.write_session(engine) as s:
        audit.append(s, "x", actor="support", account_id=1, at=at)
        audit.append(s, "y", actor="support", account_id=1)
    with db.read_session(engine) as s:
        report = audit.verify(s)
        stored = s.execute(text("SELECT at FROM audit_event ORDER BY id")).scalars().first()
    assert report.ok and report.events == 2
    assert str(stored).startswith("2025-01-01 10:00:30")  # UTC: text on SQLite, a timestamp elsewhere


def test_restore_and_purge_given_a_local_time_leave_a_chain_that_verifies(fresh_demo, monkeypatch, tmp_path):
    from crm_tui import db
    from crm_tui.services import audit, auth, closing

    monkeypatch.setenv("CRM_TUI_BACKUP_DIR", str(tmp_path / "backups"))
    who = auth.as_member(fresh_demo, OWNER)
    closing.close_account(fresh_demo, who, "Acme Realty", PASSWORDS[OWNER])
    local = datetime.now(timezone(timedelta(hours=-5)))
    closing.restore(fresh_demo, OWNER, now=local)
    with db.read_session(fresh_demo) as s:
        assert audit.verify(s).ok


def test_no_audit_row_holds_an_email_or_a_name(fresh_demo, monkeypatch, tmp_path):
    from sqlalchemy import text

    from crm_tui.services import auth, closing, demo, messages, team

    monkeypatch.setenv("CRM_TUI_BACKUP_DIR", str(tmp_path / "backups"))
    owner = auth.as_member(fresh_demo, OWNER)
    new = team.add_member(fresh_demo, owner, "temp.person@acme-realty.example", "Temp Person", "administrator")
    team.transfer_ownership(fresh_demo, owner, new.id, PASSWORDS[OWNER])
    team.remove_member(fresh_demo, auth.as_member(fresh_demo, new.email), owner.member_id)
    messages.cancel(fresh_demo, auth.as_member(fresh_demo, new.email), new.temporary_password)
    closing.close_account(fresh_demo, auth.as_member(fresh_demo, new.email), "Acme Realty", new.temporary_password)
    closing.restore(fresh_demo, new.email)
    with fresh_demo.connect() as conn:
        rows = conn.execute(text("SELECT actor, action, details_json FROM audit_event")).all()
    actions = {a for _, a, _ in rows}
    assert {
        "team.add",
        "team.transfer",
        "team.remove",
        "messages.cancel",
        "account.close",
        "account.restore",
    } <= actions
    words = {"temp.person", "Temp Person", "acme-realty", "Acme Realty"}
    words |= {u.email for u in demo.DEMO_USERS} | {u.name for u in demo.DEMO_USERS}
    for actor, action, details in rows:
        blob = actor + action + details
        json.loads(details)
        assert not [w for w in words if w in blob], (action, details)


@pytest.mark.parametrize("kind", ["account", "contacts"])
def test_exports_are_audited_without_personal_data(fresh_demo, tmp_path, kind):
    from sqlalchemy import text

    from crm_tui.services import auth, export

    who = auth.as_member(fresh_demo, OWNER)
    if kind == "account":
        export.export_account(fresh_demo, who, out_dir=tmp_path)
    else:
        export.export_contacts(fresh_demo, who, None, "csv", out_dir=tmp_path)
    with fresh_demo.connect() as conn:
        actor, details = conn.execute(
            text("SELECT actor, details_json FROM audit_event ORDER BY id DESC LIMIT 1")
        ).one()
    assert actor == f"member:{who.member_id}"
    assert "@" not in details and "Acme" not in details
